"""The ``paperbrief`` command: ``app`` (root options, error mapping), ``context`` (per-run
state), ``console`` (rich output helpers) and one module per command group in ``commands/``."""
