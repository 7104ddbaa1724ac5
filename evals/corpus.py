"""The index a suite runs against: built once from its corpus, reused while nothing changed.

The index lives under ``<cache>/index/<suite>-<key>``, where the key hashes what the
index is made of: the corpus files' bytes (or the generator's data and parameters),
the pinned listing year, and the chunking and embedding settings. Change any of them
and the next run builds a fresh index beside the old one (which it then removes);
change nothing and the run reuses it, so ``paperbrief eval run`` on a clean machine
costs one ingest and every later run none.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.settings import Settings
from evals.cases import CaseError, CaseFile
from store.index import Index
from store.ingest import IngestReport, ingest_papers, load_files
from store.papers import Paper, title_key

_META_KEY = "eval_corpus_key"


def resolve_paths(suite: CaseFile, shared: Path | None) -> list[Path]:
    """The corpus paths of ``suite``: ``{shared}`` expanded, others relative to the case file."""
    assert suite.corpus is not None
    base = Path(suite.path).parent
    out: list[Path] = []
    for raw in suite.corpus.paths:
        if "{shared}" in raw:
            if shared is None:
                raise CaseError(f"{suite.path}: corpus path {raw} needs the shared data dir (--shared)")
            path = Path(raw.replace("{shared}", str(shared)))
        else:
            path = Path(raw) if Path(raw).is_absolute() else base / raw
        if not path.exists():
            raise CaseError(f"{suite.path}: corpus path {path} does not exist")
        out.append(path)
    return out


def _file_digest(paths: Sequence[Path]) -> list[tuple[str, str]]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]


def corpus_key(parts: object, settings: Settings) -> str:
    """A short hash of what an index is built from (corpus + chunking + embedding model)."""
    cfg = settings.store_config()
    payload = {
        "corpus": parts,
        "chunk_size": cfg.chunk_size,
        "chunk_overlap": cfg.chunk_overlap,
        "embedding": cfg.embedding.model_id,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def eval_settings(settings: Settings, data_dir: Path) -> Settings:
    """The user's settings pointed at an eval index: same retrieval and models, embedded Chroma."""
    return settings.model_copy(
        update={"data_dir": data_dir, "chroma": settings.chroma.model_copy(update={"host": None})}
    )


def open_suite_index(
    suite: CaseFile,
    settings: Settings,
    cache_dir: Path,
    *,
    shared: Path | None,
    papers: Callable[[], list[Paper]] | None = None,
    on_status: Callable[[str], None] = lambda _: None,
) -> Index:
    """The suite's index, built if missing or stale. ``papers`` supplies a generated corpus."""
    if papers is not None:
        assert suite.generate is not None
        source: dict[str, object] = {"generate": suite.generate.model_dump(), "data": _generator_digest(suite, shared)}
        load: Callable[[], list[Paper]] = papers
    else:
        paths = resolve_paths(suite, shared)
        year = suite.corpus.year if suite.corpus else None
        source = {"files": _file_digest(paths), "year": year}

        def load() -> list[Paper]:
            report = IngestReport()
            loaded = load_files(paths, report, year=year)
            if report.skipped:
                _, reason = report.skipped[0]
                raise CaseError(f"{suite.path}: corpus file cannot be read: {reason}")
            return loaded

    key = corpus_key(source, settings)
    root = cache_dir / "index"
    data_dir = root / f"{suite.suite}-{key}"
    own = re.compile(re.escape(suite.suite) + r"-[0-9a-f]{16}")
    for stale in root.glob(f"{suite.suite}-*"):  # this suite's older indexes, not another suite's ("seeds-x")
        if stale != data_dir and stale.is_dir() and own.fullmatch(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    index = Index(eval_settings(settings, data_dir).store_config())
    if index.catalog.get_meta(_META_KEY) == key and index.catalog.count_papers() > 0:
        return index
    on_status(f"indexing the {suite.suite} corpus (once; reused while it is unchanged)")
    ingest_papers(index, load())
    index.catalog.set_meta(_META_KEY, key)
    return index


def _generator_digest(suite: CaseFile, shared: Path | None) -> list[tuple[str, str]]:
    from evals.generate import source_files

    assert suite.generate is not None
    return _file_digest(source_files(suite, shared))


def resolve_papers(index: Index, refs: Sequence[str], *, where: str) -> list[tuple[str, str]]:
    """(id, title) for each reference, which is a paper id or an exact title (case and punctuation folded).

    A reference that matches nothing in the index is a :class:`CaseError` naming ``where``.
    """
    out: list[tuple[str, str]] = []
    for ref in refs:
        paper = index.catalog.get(ref)
        if paper is None:
            key = title_key(ref)
            paper = next((p for p in index.catalog.search_titles(ref, limit=50) if title_key(p.title) == key), None)
        if paper is None:
            raise CaseError(f"{where}: expected paper {ref!r} is not in the index")
        out.append((paper.id, paper.title))
    return out
