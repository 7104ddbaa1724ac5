"""The answers file: one JSON line per answer, appended atomically so a kill never leaves a
broken line, and the resume plan read back from it."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.batch.io import BatchInputError, Job, normalize_question


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSONL line. ``json.dumps`` escapes control characters, so it never contains a newline."""
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class JsonlWriter:
    """Appends whole lines to a JSONL file (or stdout); safe to call from several threads.

    Each line goes out in one ``os.write`` on an ``O_APPEND`` descriptor. Should the
    kernel take only part of it (a full disk), the rest is written in a loop; if that
    fails the file is cut back to where the line began and the error is raised, so the
    file never holds a partial line in its middle.
    """

    def __init__(self, path: Path | None, *, fsync_every_s: float = 1.0) -> None:
        self.path = path
        self.fsync_every_s = fsync_every_s
        self._lock = threading.Lock()
        self._last_sync = time.monotonic()
        self.lines = 0
        if path is None:
            self._fd = 1  # stdout
            self._owned = False
        else:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(path, flags, 0o644)
            self._owned = True

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: dict[str, Any]) -> None:
        data = encode_line(record)
        with self._lock:
            if self._fd < 0:
                raise ValueError("write to a closed JsonlWriter")
            start = os.lseek(self._fd, 0, os.SEEK_END) if self._owned else None
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except BaseException:  # a full disk, or Ctrl-C between the pieces of a short write
                if start is not None and len(view) < len(data):
                    with contextlib.suppress(OSError):
                        os.ftruncate(self._fd, start)
                raise
            self.lines += 1
            if self._owned and time.monotonic() - self._last_sync >= self.fsync_every_s:
                os.fsync(self._fd)
                self._last_sync = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            if self._owned:
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
                os.close(self._fd)
            self._fd = -1


@dataclass
class OutputLine:
    raw: bytes  # the line as it was on disk, without its newline
    record: dict[str, Any]
    line: int


def read_output(path: Path) -> tuple[list[OutputLine], bool, bool]:
    """The records of an answers file; also whether a torn last line was dropped and whether
    the file needs rewriting to end in a newline. A bad line before the last is an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], False, False
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    pieces = data.split(b"\n")
    unterminated = pieces[-1] != b""
    if not unterminated:
        pieces.pop()
    numbered = [(n, p) for n, p in enumerate(pieces, 1) if p.strip()]
    out: list[OutputLine] = []
    torn = False
    for i, (number, piece) in enumerate(numbered):
        record = _as_record(piece)
        if record is None:
            if i == len(numbered) - 1:
                torn = True  # the tail of an interrupted write: its question is simply redone
                break
            raise BatchInputError(
                f"{path} line {number}: not a batch answer line; fix or remove it, or write to another --out"
            )
        out.append(OutputLine(piece.rstrip(b"\r"), record, number))
    return out, torn, unterminated and not torn


def _as_record(piece: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(piece)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    if record.get("status") not in ("ok", "error"):
        return None
    return record


@dataclass
class ResumePlan:
    """What ``--resume`` found in the answers file and what it will keep."""

    done: set[str] = field(default_factory=set)  # job ids answered ok already
    keep: list[bytes] = field(default_factory=list)  # lines of the rewritten file
    retried: int = 0  # error lines dropped because their question runs again
    by_text: int = 0  # ok answers matched by question text and given the input's id
    dropped_duplicates: int = 0
    torn: bool = False
    other_ids: int = 0  # answers for ids not in this input (kept)
    rewrite: bool = False

    def pending(self, jobs: Iterable[Job]) -> list[Job]:
        return [j for j in jobs if j.id not in self.done]


def plan_resume(path: Path, jobs: list[Job]) -> ResumePlan:
    """Decide which jobs are answered: by id, else (for an answer whose id is not in the
    input) by question text. Failed lines of jobs in the input are dropped (they run
    again) and repeated ids keep their first ok line, so the file ends with one line per id."""
    lines, torn, unterminated = read_output(path)
    plan = ResumePlan(torn=torn, rewrite=torn or unterminated)
    job_ids = {j.id for j in jobs}
    best: dict[str, OutputLine] = {}
    for ln in lines:
        rid = ln.record["id"]
        prev = best.get(rid)
        if prev is None or (prev.record["status"] == "error" and ln.record["status"] == "ok"):
            best[rid] = ln
    # answers whose id is not in this input may still answer one of its questions
    orphans: dict[str, list[OutputLine]] = {}
    for rid, ln in best.items():
        if rid not in job_ids and ln.record["status"] == "ok":
            orphans.setdefault(normalize_question(str(ln.record.get("question", ""))), []).append(ln)
    renamed: dict[int, str] = {}  # output line number -> the input id it answers
    for job in jobs:
        hit = best.get(job.id)
        if hit is not None and hit.record["status"] == "ok":
            plan.done.add(job.id)
            continue
        candidates = orphans.get(job.question)
        if candidates:
            ln = candidates.pop(0)
            renamed[ln.line] = job.id
            plan.done.add(job.id)
            plan.by_text += 1
    for ln in lines:
        rid = ln.record["id"]
        if best[rid] is not ln:
            if ln.record["status"] == "error" and rid in job_ids:
                plan.retried += 1
            else:
                plan.dropped_duplicates += 1
            plan.rewrite = True
            continue
        if ln.record["status"] == "error" and rid in job_ids:
            plan.retried += 1
            plan.rewrite = True
            continue
        new_id = renamed.get(ln.line)
        if new_id is not None:
            plan.keep.append(encode_line({**ln.record, "id": new_id}).rstrip(b"\n"))
            plan.rewrite = True
            continue
        plan.keep.append(ln.raw)
        if rid not in job_ids:
            plan.other_ids += 1
    return plan


def apply_resume(path: Path, plan: ResumePlan) -> None:
    """Rewrite the answers file to ``plan.keep``, atomically (temp file, fsync, rename)."""
    if not plan.rewrite:
        return
    tmp = path.with_name(f".{path.name}.resume-tmp")
    with open(tmp, "wb") as fh:
        for line in plan.keep:
            fh.write(line + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
