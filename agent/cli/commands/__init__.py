"""One module per group of ``paperbrief`` sub-commands; each exposes ``register(app)``.

The start-up rule (checked by ``tests/test_cold_start.py``): ``paperbrief --help`` imports
every module here, so at module level a command module imports only ``typer``, ``rich``
(not ``rich.markdown``/``rich.live``), ``agent.cli.console``/``context`` and other command
modules. Everything heavy (``agent.runtime``, the pipelines, ``store.ingest``/``retrieve``,
``openai``, ``chromadb``, ``onnxruntime``, ``sklearn``, ``textual``) is imported inside the
command function that needs it, and names used only in annotations come in under
``if TYPE_CHECKING:``. Option types in a command's signature must stay importable at
module level (typer reads them to build ``--help``).
"""
