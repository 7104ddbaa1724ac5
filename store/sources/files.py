"""The one entry point ingest calls for a file: detect its format, parse it, all or nothing.

Formats, by extension (any of them may be ``.gz``-compressed):

=====================  ==========================================  ====================
extension              content                                     source tag
=====================  ==========================================  ====================
``.txt``               saved HF Papers listing page                ``hf-page:<file>``
``.json``              HF Daily Papers API list / item             ``hf-api``
``.json``              ``{url, status_code, body}`` arXiv record   ``arxiv-api``
``.json``              curated dict id -> paper (paperexplorer)    ``file:<file>``
``.xml``, ``.atom``    arXiv API Atom feed                         ``arxiv-api``
``.jsonl``, ``.ndjson``  one paper per line                        ``file:<file>``
``.csv``               header row + one paper per row              ``file:<file>``
=====================  ==========================================  ====================

A ``.json`` file that is really JSON Lines (the common misnaming) is read as such.

The contract is all or nothing: a file either yields every one of its papers or
raises one :class:`SourceError` whose message names the file and, when it helps,
the line or field. Ingesting half a file and reporting success is the failure
this module exists to prevent, so every problem found on the way (compression,
encoding, binary content, shape, a single bad row) aborts the whole file.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from store.errors import SourceError
from store.papers import Paper
from store.sources.arxiv_atom import parse_atom
from store.sources.hf_json import is_curated_dict, looks_like_daily, parse_hf_daily
from store.sources.hf_page import parse_hf_page
from store.sources.tabular import describe_json_error, parse_csv, parse_jsonl

TEXT_EXTENSIONS = (".txt", ".json", ".xml", ".atom", ".jsonl", ".ndjson", ".csv")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in ``.gz``."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(name, f"cannot read file: {exc.strerror or exc}") from None
    if path.suffix.lower() != ".gz":
        return data
    if not data:
        raise SourceError(name, "file is empty")
    try:
        return gzip.decompress(data)
    except EOFError:
        raise SourceError(name, "truncated gzip: the compressed stream ends early") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise SourceError(name, f"not a valid gzip file ({exc})") from None


def _decode(data: bytes, name: str) -> str:
    """Strict UTF-8 text; binary and mis-encoded files are refused with a byte offset and line."""
    if not data.strip():
        raise SourceError(name, "file is empty")
    if data.startswith(_UTF16_BOMS):
        raise SourceError(name, "file is UTF-16 encoded; save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SourceError(name, f"binary file (NUL byte at offset {nul}), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise SourceError(
            f"{name}:{line}",
            f"not UTF-8 text: invalid byte 0x{bad} at byte offset {exc.start}",
        ) from None


def _load_json_document(text: str, name: str) -> object | None:
    """Decoded JSON, or None when the text is JSON Lines (several documents, one per line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return None
        at_end = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        truncated = " (truncated?)" if at_end else ""
        raise SourceError(f"{name}:{exc.lineno}", describe_json_error(exc) + truncated) from None
    except RecursionError:
        raise SourceError(name, "invalid JSON: nested too deeply") from None


def _is_arxiv_recording(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("body"), str) and "status_code" in data


def _arxiv_recording(data: dict[str, object], name: str) -> list[Paper]:
    """A recorded HTTP exchange with the arXiv API; an error status must not pass as 'no papers'.

    arXiv's own error text (an error feed, sent with 400) is the most useful message,
    so the body is parsed first; any other failure of a non-2xx body is reported as
    the status.
    """
    status = data.get("status_code")
    success = isinstance(status, int) and 200 <= status < 300
    try:
        page = parse_atom(str(data["body"]), source="arxiv-api", origin=name)
    except SourceError as exc:
        if success or exc.message.startswith("arXiv API error"):
            raise
        page = None
    if not success or page is None:
        raise SourceError(f"{name}:status_code", f"recorded HTTP status {status!r}, not a success")
    return page.papers


def _load_json(text: str, name: str) -> list[Paper]:
    data = _load_json_document(text, name)
    if data is None:
        return parse_jsonl(text.split("\n"), source=f"file:{name}", origin=name)
    if _is_arxiv_recording(data):
        assert isinstance(data, dict)
        return _arxiv_recording(data, name)
    if looks_like_daily(data) or data == []:
        return parse_hf_daily(data, source="hf-api", origin=name)
    if is_curated_dict(data):
        return parse_hf_daily(data, source=f"file:{name}", origin=name)
    raise SourceError(
        name,
        f"JSON of an unknown shape ({type(data).__name__}): expected a Hugging Face daily-papers "
        "list or item, a dict of id -> {title, abstract, ...}, or an arXiv recording "
        "{url, status_code, body}",
    )


def _inner_suffix(path: Path) -> str:
    """The format extension, looking through ``.gz``: ``a.jsonl.gz`` -> ``.jsonl``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _parser_for(
    suffix: str, name: str, *, year: int | None, today: date | None
) -> Callable[[str], list[Paper]]:
    if suffix == ".txt":
        return lambda text: parse_hf_page(
            text, source=f"hf-page:{name}", year=year, today=today, origin=name
        )
    if suffix == ".json":
        return lambda text: _load_json(text, name)
    if suffix in (".xml", ".atom"):
        return lambda text: parse_atom(text, source="arxiv-api", origin=name).papers
    if suffix in (".jsonl", ".ndjson"):
        return lambda text: parse_jsonl(text.split("\n"), source=f"file:{name}", origin=name)
    if suffix == ".csv":
        return lambda text: parse_csv(text, source=f"file:{name}", origin=name)
    shown = suffix or "(none)"
    raise SourceError(
        name,
        f"unknown file type {shown}: expected one of {', '.join(TEXT_EXTENSIONS)}, "
        "optionally .gz-compressed",
    )


def load_file(path: Path, *, year: int | None = None, today: date | None = None) -> list[Paper]:
    """Every paper in ``path``, or a SourceError naming the file (and line or field).

    ``year`` and ``today`` only matter for HF listing pages, whose date line has
    no year. The format comes from the extension (checked before reading, so an
    unsupported file costs nothing) and, for ``.json``, from the content's shape.
    """
    path = Path(path)
    parse = _parser_for(_inner_suffix(path), path.name, year=year, today=today)
    text = _decode(_read_bytes(path), path.name)
    return parse(text)
