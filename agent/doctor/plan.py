"""Which checks run, in which order, with which deadline.

The order follows what a command needs: the interpreter, the native build, the model,
then the index and the servers. Deadlines are per check; the probe's is the longest
because it loads a model and generates on a possibly busy CPU.
"""

from __future__ import annotations

from functools import partial

from agent.doctor import cpu, endpoints, index, model, system
from agent.doctor.result import fail
from agent.doctor.runner import Check
from agent.settings import Settings

PROBE_TIMEOUT_S = 120.0


def build_checks(settings: Settings | None, settings_error: str = "",
                 probe_timeout_s: float = PROBE_TIMEOUT_S) -> list[Check]:
    """Every check; with unusable settings, only those that need none, plus that failure."""
    checks = [
        Check("python", system.check_python, 5),
        Check("cpu features", partial(cpu.check_cpu, 20.0), 25),
    ]
    if settings is None:
        problem = partial(fail, "settings", settings_error, "fix the setting in .env or the environment")
        return [*checks, Check("settings", problem, 1), Check("tiktoken file", system.check_tiktoken, 15)]
    data_dir, gguf = settings.data_dir, settings.local.gguf
    remote = bool(settings.llm.base_url or settings.llm.api_key)
    config = settings.store_config()
    return [
        *checks,
        Check("model file", partial(model.check_model_files, data_dir, gguf, remote), 10),
        Check("probe generation", partial(model.check_probe, data_dir, gguf, probe_timeout_s), probe_timeout_s + 5),
        Check("model service", partial(model.check_service, data_dir, 2.0), 5),
        Check("embedder", partial(index.check_embedder, config), 60),
        Check("chroma", partial(index.check_chroma, config, 2.0), 5),
        Check("data dir", partial(system.check_data_dir, data_dir, 3.0), 10),
        Check("endpoint", partial(endpoints.check_endpoint, settings, 3.0), 5),
        Check("tiktoken file", system.check_tiktoken, 15),
    ]
