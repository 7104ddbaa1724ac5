"""Per-sentence support: how well each answer sentence is backed by the sources it cites.

A reader who distrusts a generated answer wants, for every sentence, the closest thing
a cited source actually says and a verdict. The scorer is a component behind the small
:class:`SupportScorer` interface: the local MiniLM embedder today (cosine similarity to
the closest source sentence), an NLI or claim-verification model (entailment
probability, the way MiniCheck-style checkers work) where one is installed; callers only
see :class:`~agent.types.Support`.

Thresholds (cosine, MiniLM int8) were calibrated on the eval suite's seed cases (see
evals/README.md; ``eval run`` reports both calibrations): ``SUPPORTED`` is the sentence-support
threshold that best separates each answer sentence's similarity to the source it cites from
its similarity to the answer's other sources (0.6918, balanced accuracy 1.0 on 20 + 20
sentence pairs of the first 10 answerable seed cases); ``WEAK`` is the groundedness
threshold that best separates each question's similarity to its expected paper from its
similarity to the best-ranked other paper (0.4495 on those cases, 0.5046 on all 47).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from agent.checks.citations import sentences as split_sentences
from agent.types import Source, Support, Verdict
from store.embeddings import VectorEmbeddings

SUPPORTED = 0.69
WEAK = 0.45
_MIN_SOURCE_WORDS = 3
#: Source-sentence vectors kept per embedder (about 1.5 kB each): a batch or a chat asks about
#: the same abstracts again and again, and embedding their sentences was most of an answer's CPU.
_CACHE_SENTENCES = 20_000
_caches: weakref.WeakKeyDictionary[object, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def clear_sentence_cache() -> None:
    """Forget every cached source-sentence vector (benchmarks measure a first run with it)."""
    with _caches_lock:
        _caches.clear()


def verdict_for(score: float, *, cited: bool, supported: float = SUPPORTED, weak: float = WEAK) -> Verdict:
    """The verdict for a score; a sentence citing nothing is at best ``weak`` (no source vouches for it)."""
    if score >= supported and cited:
        return "supported"
    if score >= weak:
        return "weak"
    return "unsupported"


def source_sentences(source: Source) -> list[str]:
    """The sentences of a source abstract a claim can be checked against."""
    text = re.sub(r"\s+", " ", source.text).strip()
    found = [s for s in split_sentences(text) if len(s.split()) >= _MIN_SOURCE_WORDS]
    return found or ([text] if text else [])


class SupportScorer(Protocol):
    """Scores sentences against candidate sources; higher means better supported."""

    name: str

    def score(self, items: Sequence[tuple[str, Sequence[Source], bool]]) -> list[Support]:
        """For each (sentence, sources to check it against, whether it cites them): its support."""
        ...


class EmbeddingSupportScorer:
    """Cosine similarity between a sentence and the closest sentence of its sources (MiniLM)."""

    def __init__(self, embedder: VectorEmbeddings, *, supported: float = SUPPORTED, weak: float = WEAK) -> None:
        self.embedder = embedder
        self.supported = supported
        self.weak = weak
        self.name = f"embedding:{getattr(embedder, 'model_id', 'embedder')}"

    def _unit(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _vectors(self, claims: list[str], sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors of the answer's sentences and of the source sentences, in one embedding
        call for the claims and whatever source sentence this embedder has not seen lately."""
        with _caches_lock:
            cache = _caches.setdefault(self.embedder, OrderedDict())
            known = {s: cache[s] for s in sentences if s in cache}
        todo = list(dict.fromkeys(s for s in sentences if s not in known))
        vectors = self._unit(claims + todo)
        fresh = {sent: row.copy() for sent, row in zip(todo, vectors[len(claims) :], strict=True)}
        with _caches_lock:
            for sent, vector in fresh.items():
                cache[sent] = vector
            for sent in known:
                cache.move_to_end(sent)
            while len(cache) > _CACHE_SENTENCES:
                cache.popitem(last=False)
        pool = np.stack([known[s] if s in known else fresh[s] for s in sentences]) if sentences else vectors[:0]
        return vectors[: len(claims)], pool

    def score(self, items: Sequence[tuple[str, Sequence[Source], bool]]) -> list[Support]:
        if not items:
            return []
        # one embedding call for every answer sentence and every distinct source sentence
        candidates: list[tuple[int, str]] = []
        seen: dict[tuple[int, str], int] = {}
        for _, sources, _ in items:
            for src in sources:
                for sent in source_sentences(src):
                    if (src.n, sent) not in seen:
                        seen[(src.n, sent)] = len(candidates)
                        candidates.append((src.n, sent))
        claims, pool = self._vectors([text for text, _, _ in items], [sent for _, sent in candidates])
        out: list[Support] = []
        for (_text, sources, cited), vector in zip(items, claims, strict=True):
            rows = [seen[(s.n, sent)] for s in sources for sent in source_sentences(s)]
            if not rows:
                out.append(Support(0.0, "", None, "unsupported", self.name))
                continue
            sims = pool[rows] @ vector
            best = int(np.argmax(sims))
            n, sent = candidates[rows[best]]
            score = float(sims[best])
            verdict = verdict_for(score, cited=cited, supported=self.supported, weak=self.weak)
            out.append(Support(score, sent, n, verdict, self.name))
        return out


def make_support_scorer(embedder: VectorEmbeddings) -> SupportScorer:
    """The best scorer available here. Only the embedder ships; an NLI scorer plugs in by
    implementing :class:`SupportScorer` and being returned from here when its model is installed."""
    return EmbeddingSupportScorer(embedder)
