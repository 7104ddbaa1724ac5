"""One writer at a time per data dir, across processes; readers never take this lock.

Ingest, fetch, the TUI's background ingest and the brief's fetch-if-empty all write the
catalog, the embedded Chroma store and BM25. Two of them at once raced (an orphan second
collection, a chunk that dense search could no longer find), so writers take an
inter-process :class:`filelock.FileLock` on ``<data dir>/index/.writer.lock``. The holder
records who it is (pid and what it is doing) next to the lock, so a second writer can say
what it waits for, or fail at once with ``--no-wait``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from store.errors import ServiceError
from store.paths import Paths

#: How often a waiting writer re-checks the lock (and who holds it).
_POLL_S = 0.2


class WriterBusy(ServiceError):
    """Another process is writing this data dir and the caller chose not to wait."""

    title = "Index busy"
    hint = "wait for the other writer to finish, or run again without --no-wait"


def _paths(index_dir: Path) -> tuple[Path, Path]:
    paths = Paths(index_dir.parent)
    return paths.writer_lock, paths.writer_info


def holder(index_dir: Path) -> dict[str, object] | None:
    """Who holds the writer lock, as it recorded itself (``pid``, ``what``, ``since``), if known."""
    try:
        data = json.loads(_paths(index_dir)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(index_dir: Path) -> str:
    """``another ingest (pid 123)``: the holder in words, for waiting and busy messages."""
    info = holder(index_dir) or {}
    what = str(info.get("what") or "writer")
    pid = info.get("pid")
    return f"another {what} (pid {pid})" if pid else f"another {what}"


@contextmanager
def writer_lock(
    index_dir: Path,
    what: str,
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    timeout_s: float | None = None,
) -> Iterator[None]:
    """Hold the data dir's writer lock for the ``with`` body.

    ``what`` names this writer (``ingest``, ``fetch``, ``tui ingest``) for others' messages.
    When the lock is taken: with ``wait=False`` raise :class:`WriterBusy` at once; else call
    ``on_wait`` once with ``waiting for another ingest (pid N) to finish…`` and wait (for
    ever, or ``timeout_s``). The lock is released even if the body raises, and by the OS if
    the process dies, so a killed writer never blocks the next one.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path, info_path = _paths(index_dir)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = describe_holder(index_dir)
        if not wait:
            raise WriterBusy(f"{who} is writing to {index_dir.parent}; not waiting (--no-wait)") from None
        if on_wait is not None:
            on_wait(f"waiting for {who} to finish…")
        started = time.monotonic()
        while True:
            try:
                lock.acquire(timeout=_POLL_S)
                break
            except Timeout:
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    raise WriterBusy(
                        f"{describe_holder(index_dir)} still holds {index_dir.parent} after "
                        f"{timeout_s:g} s"
                    ) from None
    try:
        record = {"pid": os.getpid(), "what": what, "since": time.time()}
        tmp = info_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, info_path)
        yield
    finally:
        with suppress(OSError):
            info_path.unlink()
        lock.release()
