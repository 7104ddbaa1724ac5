"""Batch files: question inputs (text, JSONL, CSV), the crash-safe answers file, resuming it.

Inputs
    * text: one question a line; blank lines and lines starting with ``#`` are skipped
      (a ``#`` later in a line is part of the question: "C# compilers?").
    * JSONL: ``{"id": ..., "question": ..., "since": ..., "until": ...}`` a line; only
      ``question`` is required.
    * CSV: a header row naming the same columns; only ``question`` is required.

    The format comes from the extension (``.txt``; ``.jsonl``/``.ndjson``/``.json``;
    ``.csv``), else from the content (stdin, other names). A bad row (broken JSON, no
    question, a conflicting id) is reported with its line number and skipped; the
    other rows still run. A file that cannot be used at all (missing, binary, not
    UTF-8, a CSV without a ``question`` column, no question in it) is a
    :class:`BatchInputError`.

Ids
    Every job has a unique id. A row's own ``id`` is kept (as a string). A row
    without one gets ``q-`` + 12 hex digits of the SHA-256 of its whitespace-normalised
    question (and of its own ``since``/``until`` when it sets them), so the id does
    not move when lines are added or removed and resuming matches by question text.
    Consequently a question repeated without ids is *one* job, answered once; a row
    repeating an explicit id with the same question is a duplicate too; the same id
    on a different question is a bad row. Rows with distinct ids are answered each.

The answers file
    One JSON object per line, written by :class:`JsonlWriter` with a single
    ``os.write`` of the whole encoded line on a descriptor opened ``O_APPEND``: no
    user-space buffer, so a killed process loses nothing it wrote and never leaves
    half a line from a normal write. ``fsync`` runs at most once a second and at
    close: it only matters for an OS crash or power cut, where the last second of
    answers may be lost and ``--resume`` redoes them. A kill that lands inside a
    multi-page write, or a file from an older writer, can still end in a torn line;
    :func:`plan_resume` drops an unparseable *last* line instead of failing.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Format = Literal["txt", "jsonl", "csv"]
FORMATS: tuple[str, ...] = ("auto", "txt", "jsonl", "csv")
STDIN = "-"
_COLUMNS = ("id", "question", "since", "until")


class BatchInputError(Exception):
    """An input or answers file that cannot be used at all: one line, exit code 2."""


def normalize_question(text: str) -> str:
    return " ".join(text.split())


def derived_id(question: str, since: str | None = None, until: str | None = None) -> str:
    """The stable id of a row that has none: a hash of its question (and its own window)."""
    key = normalize_question(question)
    if since or until:
        key += f"\x1f{since or ''}\x1f{until or ''}"
    return "q-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Job:
    """One question to answer. ``since``/``until`` are the row's own raw values (checked when run)."""

    id: str
    question: str
    line: int
    since: str | None = None
    until: str | None = None
    explicit_id: bool = False


@dataclass(frozen=True)
class Duplicate:
    line: int
    first_line: int
    id: str


@dataclass
class BatchInput:
    """What an input file holds: the jobs in input order, plus the rows that were not used."""

    name: str
    format: Format
    jobs: list[Job] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    duplicates: list[Duplicate] = field(default_factory=list)
    rows: int = 0
    _by_id: dict[str, Job] = field(default_factory=dict, repr=False)

    def add(self, line: int, question: str, row_id: object = None, since: object = None, until: object = None) -> None:
        """Validate one row and add it as a job, a duplicate or an invalid line."""
        self.rows += 1
        question = normalize_question(question)
        if not question:
            self.invalid.append((line, "the question is empty"))
            return
        window: list[str | None] = []
        for name, value in (("since", since), ("until", until)):
            if value is None or (isinstance(value, str) and not value.strip()):
                window.append(None)
            elif isinstance(value, str):
                window.append(value.strip())
            else:
                self.invalid.append((line, f'"{name}" must be a YYYY-MM-DD string'))
                return
        if isinstance(row_id, bool) or not isinstance(row_id, str | int | type(None)):
            self.invalid.append((line, '"id" must be a string or an integer'))
            return
        explicit = row_id is not None and str(row_id).strip() != ""
        job_id = str(row_id).strip() if explicit else derived_id(question, *window)
        job = Job(job_id, question, line, window[0], window[1], explicit)
        first = self._by_id.get(job_id)
        if first is None:
            self._by_id[job_id] = job
            self.jobs.append(job)
        elif (first.question, first.since, first.until) == (job.question, job.since, job.until):
            self.duplicates.append(Duplicate(line, first.line, job_id))
        else:
            self.invalid.append((line, f"id {job_id!r} is already used on line {first.line} for another question"))


# --- reading inputs -------------------------------------------------------------------


def read_input(source: str, *, fmt: str = "auto", stdin: io.BufferedIOBase | None = None) -> BatchInput:
    """Parse ``source`` (a path, or ``-`` for stdin) into jobs; see the module docstring."""
    name = "<stdin>" if source == STDIN else source
    if source == STDIN:
        import sys

        raw = (stdin or sys.stdin.buffer).read()
    else:
        path = Path(source)
        if path.is_dir():
            raise BatchInputError(f"{name}: is a directory, not a question file")
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise BatchInputError(f"{name}: no such file") from None
        except OSError as exc:
            raise BatchInputError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if b"\x00" in raw:
        raise BatchInputError(f"{name}: binary file, not questions")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BatchInputError(f"{name} line {line}: not UTF-8 text") from None
    chosen = detect_format(source, text, fmt)
    batch = BatchInput(name, chosen)
    {"txt": _parse_text, "jsonl": _parse_jsonl, "csv": _parse_csv}[chosen](text, batch)
    if not batch.jobs and not batch.invalid:
        raise BatchInputError(f"{name}: no questions in it")
    return batch


def detect_format(source: str, text: str, fmt: str = "auto") -> Format:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise BatchInputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return fmt  # type: ignore[return-value]
    suffix = "" if source == STDIN else Path(source).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "txt"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if first.startswith("{"):
        return "jsonl"
    header = {h.strip().lower() for h in next(csv.reader([first]), [])}
    if len(header) > 1 and "question" in header:
        return "csv"
    return "txt"


def _lines(text: str) -> Iterable[tuple[int, str]]:
    # split on "\n" only: str.splitlines() would also break lines at U+2028 and friends
    for number, line in enumerate(text.split("\n"), 1):
        yield number, line.rstrip("\r")


def _parse_text(text: str, batch: BatchInput) -> None:
    for number, line in _lines(text):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            batch.add(number, stripped)


def _parse_jsonl(text: str, batch: BatchInput) -> None:
    for number, line in _lines(text):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            batch.rows += 1
            batch.invalid.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if isinstance(row, str):  # a bare JSON string is a question
            row = {"question": row}
        if not isinstance(row, dict):
            batch.rows += 1
            batch.invalid.append((number, 'expected an object like {"id": ..., "question": ...}'))
            continue
        question = row.get("question")
        if not isinstance(question, str):
            batch.rows += 1
            batch.invalid.append((number, '"question" is missing or not a string'))
            continue
        batch.add(number, question, row.get("id"), row.get("since"), row.get("until"))


def _parse_csv(text: str, batch: BatchInput) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                if "question" not in header:
                    shown = ", ".join(cell.strip() for cell in record)
                    raise BatchInputError(f"{batch.name} line {line}: CSV has no 'question' column (columns: {shown})")
                continue
            row = dict(zip(header, record, strict=False))
            if len(record) < len(header) and header.index("question") >= len(record):
                batch.rows += 1
                batch.invalid.append((line, f"{len(record)} fields, the header has {len(header)}"))
                continue
            batch.add(line, row.get("question", ""), row.get("id") or None, row.get("since"), row.get("until"))
    except csv.Error as exc:
        raise BatchInputError(f"{batch.name} line {reader.line_num}: bad CSV ({exc})") from None


# --- the answers file -----------------------------------------------------------------


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
