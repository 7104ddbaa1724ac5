"""What any process can learn about the model service from the data dir, without asking it.

``<data_dir>/service/model.json`` says where the running service listens (the ``doctor``
command reads it too, so its keys are a contract: pid, port, host, model, started_at,
idle_timeout_s); ``model.lock`` serialises starting and stopping; ``last_exit.json`` keeps
the last death of a model process (signal or exit code, when, and the recent crash times)
so that a later process, or a person, can name the cause and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store.paths import Paths

HOST = "127.0.0.1"
#: Crashes remembered for the backoff; older ones no longer count.
CRASH_HISTORY = 10


@dataclass(frozen=True)
class ServicePaths:
    """Where the service's state lives for one data dir."""

    data_dir: Path

    @property
    def root(self) -> Path:
        return Paths(self.data_dir).service_dir

    @property
    def state(self) -> Path:
        return self.root / "model.json"

    @property
    def lock(self) -> Path:
        return self.root / "model.lock"

    @property
    def last_exit(self) -> Path:
        return self.root / "last_exit.json"

    @property
    def hung(self) -> Path:
        """Written by a client just before it kills a hung process, so the exit record says "hung"."""
        return self.root / "hung.json"

    @property
    def log(self) -> Path:
        return Paths(self.data_dir).logs_dir / "model-service.log"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class ServiceState:
    """One running service, exactly as ``model.json`` holds it."""

    pid: int
    port: int
    host: str
    model: str
    started_at: str
    idle_timeout_s: float

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


@dataclass(frozen=True)
class ExitRecord:
    """A model process that died: ``signal`` (a name such as ``SIGILL``) or ``code``, and when."""

    pid: int
    model: str
    at: str
    signal: str | None = None
    code: int | None = None
    reason: str = "crashed"  # or "hung": a client killed it after the deadline
    recent: list[str] = field(default_factory=list)  # ISO times of recent deaths, newest last

    @property
    def how(self) -> str:
        if self.reason == "hung":
            return "hung and was stopped"
        if self.signal:
            return f"crashed with {self.signal}"
        return f"exited with code {self.code}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic and private: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_state(paths: ServicePaths) -> ServiceState | None:
    """The state file's contents, or ``None`` when absent or unreadable (a stale file is still returned)."""
    data = _read_json(paths.state)
    if data is None:
        return None
    try:
        return ServiceState(
            pid=int(data["pid"]),
            port=int(data["port"]),
            host=str(data.get("host", HOST)),
            model=str(data["model"]),
            started_at=str(data.get("started_at", "")),
            idle_timeout_s=float(data.get("idle_timeout_s", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def write_state(paths: ServicePaths, state: ServiceState) -> None:
    _write_json(paths.state, asdict(state))


def clear_state(paths: ServicePaths, pid: int | None = None) -> None:
    """Remove the state file; with ``pid``, only if it still describes that process."""
    if pid is not None:
        current = read_state(paths)
        if current is not None and current.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        paths.state.unlink()


def read_exit(paths: ServicePaths) -> ExitRecord | None:
    data = _read_json(paths.last_exit)
    if data is None:
        return None
    try:
        return ExitRecord(
            pid=int(data["pid"]),
            model=str(data.get("model", "")),
            at=str(data["at"]),
            signal=data.get("signal"),
            code=data.get("code"),
            reason=str(data.get("reason", "crashed")),
            recent=[str(t) for t in data.get("recent", [])],
        )
    except (KeyError, TypeError, ValueError):
        return None


def record_exit(paths: ServicePaths, *, pid: int, model: str, returncode: int) -> ExitRecord:
    """Remember that ``pid`` died with ``returncode`` (negative: killed by that signal)."""
    hung = _read_json(paths.hung)
    reason = "hung" if hung is not None and hung.get("pid") == pid else "crashed"
    with contextlib.suppress(FileNotFoundError):
        paths.hung.unlink()
    sig = None
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode).name
        except ValueError:
            sig = f"signal {-returncode}"
    at = now_iso()
    previous = read_exit(paths)
    recent = [*(previous.recent if previous else [])[-(CRASH_HISTORY - 1):], at]
    record = ExitRecord(
        pid=pid, model=model, at=at, signal=sig, code=None if returncode < 0 else returncode,
        reason=reason, recent=recent,
    )
    _write_json(paths.last_exit, asdict(record))
    return record


def mark_hung(paths: ServicePaths, pid: int, deadline_s: float) -> None:
    _write_json(paths.hung, {"pid": pid, "deadline_s": deadline_s, "at": now_iso()})


def forget_crashes(paths: ServicePaths) -> None:
    """Start the backoff afresh (``paperbrief serve`` is an explicit request to try again)."""
    with contextlib.suppress(FileNotFoundError):
        paths.last_exit.unlink()


def recent_crashes(record: ExitRecord | None, window_s: float, now: datetime | None = None) -> list[datetime]:
    """Deaths within the last ``window_s`` seconds, oldest first."""
    if record is None:
        return []
    now = now or datetime.now(UTC)
    times = [t for t in (parse_iso(s) for s in record.recent) if t is not None]
    return [t for t in times if (now - t).total_seconds() <= window_s]


def pid_alive(pid: int) -> bool:
    """True for a running process (a zombie, dead but not yet reaped, counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def cause_and_fix(record: ExitRecord, *, deadline_s: float | None = None, log: Path | None = None) -> str:
    """One line: what happened to the model process and what to do about it."""
    what = f"the model process {record.how}"
    if record.reason == "hung":
        limit = f" within {deadline_s:g}s" if deadline_s else ""
        return f"{what} (no answer{limit}): raise PAPERBRIEF_LOCAL_TIMEOUT, or run `paperbrief doctor`"
    if record.signal == "SIGILL":
        return f"{what}: rebuild llama-cpp-python without native CPU flags: make rebuild-llm"
    if record.signal == "SIGKILL":
        return (
            f"{what} (out of memory, or killed by someone): use a smaller model or "
            "PAPERBRIEF_CONTEXT_WINDOW, or check `dmesg`"
        )
    if record.signal in ("SIGSEGV", "SIGBUS", "SIGABRT"):
        return f"{what}: check the GGUF file and the llama-cpp-python build with `paperbrief doctor`"
    return f"{what}: see {log or 'the model service log'}"
