"""Find, start and stop the model service for one data dir.

The first process that needs the model starts it (:func:`ensure`); later ones find it
through ``model.json`` after checking that its pid is alive and its port answers. Start
and stop happen under ``model.lock``, so six processes asking at once start one service.
After a crash the next start waits (1 s, then 2 s) and after :data:`MAX_CRASHES` crashes
within :data:`CRASH_WINDOW_S` seconds it refuses with the cause and the fix instead of
crash-looping; ``paperbrief serve`` clears that history.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from agent.errors import UserError
from agent.llm.base import ModelProcessError
from agent.llm.service import main as service_main
from agent.llm.service.state import (
    HOST,
    ServicePaths,
    ServiceState,
    cause_and_fix,
    clear_state,
    mark_hung,
    now_iso,
    pid_alive,
    read_exit,
    read_state,
    recent_crashes,
    write_state,
)

#: Crashes within this window count toward the backoff and the give-up limit.
CRASH_WINDOW_S = 120.0
MAX_CRASHES = 3


class ServiceRunning(UserError):
    """``paperbrief serve`` while a service already runs for this data dir."""

    title = "Model service already running"
    hint = "use it as it is, or stop it first: paperbrief serve --stop"


@dataclass(frozen=True)
class ServiceSpec:
    """What to run and where its state lives."""

    model: Path
    data_dir: Path
    n_ctx: int
    threads: int
    idle_timeout_s: float
    start_timeout_s: float = 120.0

    @property
    def paths(self) -> ServicePaths:
        return ServicePaths(self.data_dir)

    def args(self) -> list[str]:
        return [
            "--model", str(self.model), "--n-ctx", str(self.n_ctx), "--threads", str(self.threads),
            "--idle-timeout", str(self.idle_timeout_s), "--data-dir", str(self.data_dir),
            "--start-timeout", str(self.start_timeout_s),
        ]


def find(paths: ServicePaths, model: Path | None = None) -> ServiceState | None:
    """The running service (for ``model``, when given), or ``None``."""
    state = read_state(paths)
    if state is None or not pid_alive(state.pid):
        return None
    if model is not None and Path(state.model) != model:
        return None
    return state if service_main.health(state.port) else None


def ensure(spec: ServiceSpec) -> ServiceState:
    """The service for ``spec.model``, started now if nothing serves it; raises :class:`ModelProcessError`."""
    paths = spec.paths
    found = find(paths, spec.model)
    if found is not None:
        return found
    paths.ensure()
    try:
        with FileLock(str(paths.lock), timeout=spec.start_timeout_s + 10):
            found = find(paths, spec.model)
            if found is not None:
                return found
            stale = read_state(paths)
            if stale is not None:
                _stop_pid(stale.pid)  # another model, or alive but not answering
                clear_state(paths)
            _backoff(spec)
            return _start(spec)
    except Timeout:
        raise ModelProcessError(
            f"model {spec.model.stem}: another process has been starting the model service for "
            f"{spec.start_timeout_s + 10:g}s"
        ) from None


def _backoff(spec: ServiceSpec) -> None:
    record = read_exit(spec.paths)
    crashes = recent_crashes(record, CRASH_WINDOW_S)
    if record is None or not crashes:
        return
    if len(crashes) >= MAX_CRASHES:
        raise ModelProcessError(
            f"model {spec.model.stem}: {cause_and_fix(record, log=spec.paths.log)} "
            f"({len(crashes)} crashes in {CRASH_WINDOW_S:g}s; not restarted)"
        )
    wait = 2.0 ** (len(crashes) - 1)
    since = time.time() - crashes[-1].timestamp()
    if since < wait:
        time.sleep(wait - since)


def _child_env() -> dict[str, str]:
    """Our environment, with this checkout first on the path so the child runs the same code."""
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _start(spec: ServiceSpec) -> ServiceState:
    """Start the supervisor (detached), wait for its ready line, write the state file."""
    paths = spec.paths
    with paths.log.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.llm.service.main", "supervise", *spec.args()],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True, env=_child_env(),
        )
    assert proc.stdout is not None
    line = _read_line(proc.stdout.fileno(), spec.start_timeout_s + 5)
    proc.stdout.close()
    if not line:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise ModelProcessError(
                f"model {spec.model.stem}: the model service did not start within "
                f"{spec.start_timeout_s:g}s (see {paths.log})"
            )
        proc.wait()
        record = read_exit(paths)
        why = cause_and_fix(record, log=paths.log) if record else f"the model service failed to start (see {paths.log})"
        raise ModelProcessError(f"model {spec.model.stem}: {why}")
    ready = json.loads(line)
    state = ServiceState(
        pid=int(ready["pid"]), port=int(ready["port"]), host=HOST, model=str(spec.model),
        started_at=now_iso(), idle_timeout_s=spec.idle_timeout_s,
    )
    write_state(paths, state)
    return state


def _read_line(fd: int, timeout_s: float) -> str:
    """One line from a pipe, or what came before EOF or the deadline ('' if nothing)."""
    data = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode("utf-8", "replace").strip() if b"\n" in data else ""


def _stop_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still alive after ``timeout_s``."""
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        end = time.monotonic() + wait
        while pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)


def stop(paths: ServicePaths, timeout_s: float = 10.0) -> ServiceState | None:
    """Stop the running service, if any; returns what was stopped."""
    paths.ensure()
    with FileLock(str(paths.lock), timeout=timeout_s + 10):
        state = read_state(paths)
        if state is None:
            return None
        _stop_pid(state.pid, timeout_s)
        clear_state(paths, state.pid)
        return state


def kill_hung(paths: ServicePaths, state: ServiceState, deadline_s: float) -> None:
    """Stop a server that did not answer within the deadline; its exit is recorded as "hung"."""
    if not pid_alive(state.pid):
        return
    mark_hung(paths, state.pid, deadline_s)
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGKILL)


def wait_for_exit_record(paths: ServicePaths, pid: int, timeout_s: float = 2.0) -> None:
    """Give the supervisor a moment to record how ``pid`` died."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        record = read_exit(paths)
        if record is not None and record.pid == pid:
            return
        time.sleep(0.02)


def serve_foreground(spec: ServiceSpec, on_ready: Callable[[ServiceState], None]) -> int:
    """``paperbrief serve``: supervise the server in this process until it exits or Ctrl+C."""
    from agent.llm.service.state import forget_crashes

    paths = spec.paths
    paths.ensure()
    with FileLock(str(paths.lock), timeout=spec.start_timeout_s):
        running = find(paths)
        if running is not None:
            raise ServiceRunning(
                f"a model service already runs for this data dir (pid {running.pid}, "
                f"{running.base_url}, {Path(running.model).stem})"
            )
        forget_crashes(paths)
    started: list[ServiceState] = []

    def ready(pid: int, port: int) -> None:
        state = ServiceState(pid, port, HOST, str(spec.model), now_iso(), spec.idle_timeout_s)
        write_state(paths, state)
        started.append(state)
        on_ready(state)

    args = service_main.parse_args(["supervise", *spec.args()])
    rc = service_main.supervise(args, ready)
    if not started:
        record = read_exit(paths)
        why = cause_and_fix(record, log=paths.log) if record else f"it did not start (see {paths.log})"
        raise ModelProcessError(f"model {spec.model.stem}: {why}")
    return rc
