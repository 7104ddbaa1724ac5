"""The deterministic "how they relate" summary, built from the checked table when the model's
summary cannot be trusted: abstract similarity says which papers share a problem, the rows say
which papers state results."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from agent.compare.types import Row
from store.embeddings import VectorEmbeddings
from store.papers import Paper

_RELATED = 0.55  # abstract cosine above which two papers count as working on the same problem
_NEARBY = 0.35


def _refs(ns: Sequence[int]) -> str:
    marks = [f"[{n}]" for n in ns]
    return marks[0] if len(marks) == 1 else ", ".join(marks[:-1]) + " and " + marks[-1]


def summary_from_table(papers: Sequence[Paper], rows: Sequence[Row], embedder: VectorEmbeddings) -> str:
    """How the papers relate, from their abstracts' similarity and the filled table (no model text)."""
    vectors = embedder.embed([f"{p.title}. {p.abstract}" for p in papers])
    sims = vectors @ vectors.T
    n = len(papers)
    pairs = [(i, j, float(sims[i, j])) for i, j in combinations(range(n), 2)]
    close = [(i, j) for i, j, s in pairs if s >= _RELATED]
    mean = sum(s for _, _, s in pairs) / len(pairs)
    if n == 2:
        kind = (
            "address closely related problems, so their approaches can be compared directly"
            if close
            else "touch related topics but address different problems"
            if mean >= _NEARBY
            else "address different problems; they are not competing methods"
        )
        lines = [f"[1] and [2] {kind}."]
    elif close:
        lines = ["Closely related: " + "; ".join(_refs([i + 1, j + 1]) for i, j in close) + "."]
        alone = [k + 1 for k in range(n) if all(k not in pair for pair in close)]
        if alone:
            verb = "addresses a different problem" if len(alone) == 1 else "address other problems"
            lines.append(f"{_refs(alone)} {verb}.")
    else:
        lines = [
            "These papers touch related topics but address different problems."
            if mean >= _NEARBY
            else "These papers address different problems; they are not competing methods."
        ]
    results = next(r for r in rows if r.aspect == "results")
    stated = [i + 1 for i, c in enumerate(results.cells) if c.mode != "not_stated"]
    missing = [i + 1 for i, c in enumerate(results.cells) if c.mode == "not_stated"]
    if stated and missing:
        lines.append(f"{_refs(stated)} state results in the abstract; {_refs(missing)} state none.")
    elif not stated:
        lines.append("None of the abstracts states a result.")
    return " ".join(lines)
