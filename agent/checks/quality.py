"""Degeneration checks: never show a small model's garbage as an answer.

SmolLM2-135M and friends often loop, echo the prompt, stop after two words or
forget to cite. These cheap checks catch that; the caller then falls back to an
extractive answer quoted from the sources.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from agent.checks.citations import CitationCheck, sentences

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


def repetition_ratio(text: str, n: int = 4) -> float:
    """Share of word n-grams that are repeats of an earlier n-gram (0 = none, →1 = a loop)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < n + 1:
        return 0.0
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    repeats = sum(c - 1 for c in counts.values())
    return repeats / len(grams)


def check_output(text: str, citations: CitationCheck, *, abstained: bool) -> Verdict:
    """Is this generated answer fit to show? ``citations`` is the result of the citation check."""
    stripped = text.strip()
    if abstained:
        return Verdict(True)
    words = _WORD.findall(stripped)
    if len(words) < 4:
        return Verdict(False, "empty or too short")
    if repetition_ratio(stripped) > 0.25:
        return Verdict(False, "repetitive")
    lines = [ln.strip() for ln in stripped.splitlines() if ln.strip()]
    if lines and Counter(lines).most_common(1)[0][1] >= 3:
        return Verdict(False, "repeated lines")
    if not citations.cited:
        return Verdict(False, "no valid citation")
    claims = sentences(stripped)
    if claims and len(citations.uncited_sentences) > max(1, len(claims) // 2):
        return Verdict(False, "most sentences uncited")
    return Verdict(True)
