"""``python -m agent`` runs the ``paperbrief`` command."""

from agent.cli import main

main()
