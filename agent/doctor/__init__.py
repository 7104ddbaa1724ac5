"""``paperbrief doctor``: is this install able to run, and if not, what is the one fix?

Each module holds one group of checks, each a function of the settings that returns a
:class:`~agent.doctor.result.Result` (ok, warn or fail, a detail and a one-line fix):

* ``system.py``    Python, the tiktoken file, the data dir;
* ``cpu.py``       the CPU's features against what llama.cpp was compiled for;
* ``model.py``     the GGUF file(s), a probe generation in a child process, the model service;
* ``index.py``     the embedder and Chroma (embedded dir or server heartbeat);
* ``endpoints.py`` the configured OpenAI-compatible server and its model list;
* ``runner.py``    runs them in order, each under its own deadline, so one hung check
  can never hang doctor and one crashing check can never crash it.
"""
