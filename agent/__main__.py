"""``python -m agent`` runs the ``paperbrief`` command."""

from agent.cli.app import main

main()
