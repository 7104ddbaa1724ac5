"""Extractive answers: the most relevant sentences of the top sources, quoted and cited.

When the model's output fails the quality check, quoting the sources is the honest
fallback: every word shown comes from an abstract, and every quote carries the
number of the source it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agent.checks.citations import sentences
from agent.types import Source
from store.embeddings import VectorEmbeddings

LABEL = "Extractive answer (quoted from the sources; no generated text):"
_MIN_WORDS = 5


def extractive_answer(
    question: str,
    sources: Sequence[Source],
    embedder: VectorEmbeddings,
    *,
    max_sentences: int = 3,
) -> tuple[str, list[int]]:
    """Return the quoted answer text and the source numbers it cites, best sentence first."""
    chosen = extractive_quotes(question, sources, embedder, max_sentences=max_sentences)
    return quoted_text(chosen), list(dict.fromkeys(n for n, _ in chosen))


def quoted_text(chosen: Sequence[tuple[int, str]]) -> str:
    """The extractive answer's text: the label, then one quoted, cited sentence a line."""
    return "\n".join([LABEL] + [f"- “{text.rstrip()}” [{n}]" for n, text in chosen])


def extractive_quotes(
    question: str,
    sources: Sequence[Source],
    embedder: VectorEmbeddings,
    *,
    max_sentences: int = 3,
) -> list[tuple[int, str]]:
    """The (source number, sentence) pairs an extractive answer quotes, best first."""
    candidates: list[tuple[int, str]] = []
    for src in sources:
        for sent in sentences(re.sub(r"\s+", " ", src.text)):
            if len(sent.split()) >= _MIN_WORDS:
                candidates.append((src.n, sent))
    if not candidates:
        candidates = [(src.n, src.text.strip()) for src in sources if src.text.strip()]
    if not candidates:
        return []
    vectors = embedder.embed([question] + [s for _, s in candidates])
    scores = vectors[1:] @ vectors[0]
    # a small bonus for the better-ranked source breaks near-ties in favour of it
    scores = scores - 0.01 * np.array([n for n, _ in candidates], dtype=np.float32)
    order = np.argsort(-scores)[:max_sentences]
    return [candidates[i] for i in order]
