"""The local GGUF model as one shared service process, as Ollama runs it.

Every paperbrief process on a machine (CLI, TUI, cron brief, batch, evals) talks to the
local model through the same OpenAI-compatible provider as to OpenAI or Ollama; the model
itself runs once, in a ``llama_cpp.server`` child that owns the CPU threads, so requests
from many processes queue in one place instead of fighting over two cores, and a native
crash takes down that child, never the caller.

* :mod:`.state` – the state file, lock and exit record under ``<data_dir>/service/``;
* :mod:`.process` – find, start (on demand, with backoff after crashes) and stop the service;
* :mod:`.main` – the child's entry points: the supervisor and the server with its idle watchdog;
* :mod:`.provider` – :class:`ServiceLLM`, the provider that talks to it and names crashes.
"""
