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
    One JSON object per line, written by :class:`agent.batch.output.JsonlWriter` with a single
    ``os.write`` of the whole encoded line on a descriptor opened ``O_APPEND``: no
    user-space buffer, so a killed process loses nothing it wrote and never leaves
    half a line from a normal write. ``fsync`` runs at most once a second and at
    close: it only matters for an OS crash or power cut, where the last second of
    answers may be lost and ``--resume`` redoes them. A kill that lands inside a
    multi-page write, or a file from an older writer, can still end in a torn line;
    :func:`agent.batch.output.plan_resume` drops an unparseable *last* line instead of failing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.errors import UserError

InputFormat = Literal["txt", "jsonl", "csv"]
FORMATS: tuple[str, ...] = ("auto", "txt", "jsonl", "csv")
STDIN = "-"
_COLUMNS = ("id", "question", "since", "until")


class BatchInputError(UserError):
    """An input or answers file that cannot be used at all: one line, exit code 2."""

    title = "Unusable batch file"


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
    format: InputFormat
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


def detect_format(source: str, text: str, fmt: str = "auto") -> InputFormat:
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


