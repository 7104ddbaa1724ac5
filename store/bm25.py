"""Lexical search over the same chunks as the dense index, with bm25s.

bm25s has no incremental updates, so the index is rebuilt from the catalog's chunk
table whenever the catalog's ``generation`` moved (a rebuild of 10k chunks takes well
under a second). The saved index records the generation it was built from; a stale
or half-written one is simply rebuilt, which is what keeps BM25 in step with Chroma
even after a crash. Saves go to a fresh folder that is renamed into place.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from store.catalog import Catalog

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
_STATE = "state.json"


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """English stop words removed, Snowball-stemmed: the same for corpus and queries."""
    return bm25s.tokenize(  # type: ignore[no-any-return]
        texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


@dataclass
class Bm25Index:
    """A bm25s retriever plus the chunk and paper id of each row."""

    retriever: bm25s.BM25 | None
    chunk_ids: list[str]
    paper_ids: list[str]
    generation: int

    @classmethod
    def build(cls, chunk_ids: list[str], paper_ids: list[str], texts: list[str], generation: int) -> Bm25Index:
        if not texts:
            return cls(None, [], [], generation)
        retriever = bm25s.BM25()
        retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever, chunk_ids, paper_ids, generation)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no query term is known)."""
        if self.retriever is None:
            return np.zeros(0, dtype=np.float32)
        vocab = self.retriever.vocab_dict
        terms = [t for t in tokenize([query])[0] if t in vocab]
        if not terms:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

    # --- persistence ---------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=directory.parent))
        try:
            if self.retriever is not None:
                self.retriever.save(str(tmp), show_progress=False)
            state = {"generation": self.generation, "chunk_ids": self.chunk_ids, "paper_ids": self.paper_ids}
            (tmp / _STATE).write_text(json.dumps(state), encoding="utf-8")
            old = directory.with_name(directory.name + ".old")
            if directory.exists():
                shutil.rmtree(old, ignore_errors=True)
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> Bm25Index | None:
        """The saved index, or None when absent or unreadable (it is then rebuilt)."""
        try:
            state = json.loads((directory / _STATE).read_text(encoding="utf-8"))
            retriever = None
            if state["chunk_ids"]:
                retriever = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
            return cls(retriever, state["chunk_ids"], state["paper_ids"], int(state["generation"]))
        except (OSError, ValueError, KeyError) as exc:
            log.info("BM25 index at %s unusable (%s); rebuilding", directory, exc)
            return None


def load_or_build(catalog: Catalog, directory: Path) -> Bm25Index:
    """The BM25 index matching the catalog's current generation, rebuilding if needed."""
    generation = catalog.generation
    index = Bm25Index.load(directory)
    if index is not None and index.generation == generation:
        return index
    ids, pids, texts = catalog.all_chunks()
    index = Bm25Index.build(ids, pids, texts, generation)
    index.save(directory)
    return index
