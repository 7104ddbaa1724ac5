"""Degeneration checks: never show a small model's garbage as an answer.

SmolLM2-135M and friends often loop, echo the prompt, stop after two words or
forget to cite; a compromised endpoint (or an abstract's injected instructions) adds
text and links of its own. These cheap checks catch that; the caller then falls back
to an extractive answer quoted from the sources, never labelled "generated".

- output cut off at the length limit is held to a stricter repetition bar, and a run
  of one repeated fragment (``_2_2_2_2``, which word n-grams do not see) fails it;
- a URL, DOI or arXiv id found in no source's own text fails (:mod:`agent.checks.links`);
- once citations to non-existent sources were removed, every sentence left without a
  citation counts against the answer, however short ("PWNED." is a claim too).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agent.checks.citations import CitationCheck, has_citation, sentences
from agent.checks.links import invented_links

_WORD = re.compile(r"\w+", re.UNICODE)
_RUN_LIMIT = 8  # repeats that are degenerate in any text
_RUN_LIMIT_TRUNCATED = 4  # ... and in text the length limit cut off
_REPETITION_LIMIT = 0.25
_REPETITION_LIMIT_TRUNCATED = 0.1


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


def fragment_run(text: str, min_repeats: int) -> str | None:
    """The first fragment repeated ``min_repeats`` times in a row (at least 8 characters in all), or None."""
    pattern = re.compile(rf"(.{{1,24}}?)\1{{{min_repeats - 1},}}", re.DOTALL)
    for match in pattern.finditer(text):
        fragment = match.group(1)
        # a letter or digit in it, and not a plain number (100000000 is not a loop)
        if any(c.isalnum() for c in fragment) and not fragment.isdigit() and len(match.group(0)) >= 8:
            return fragment
    return None


def check_output(
    text: str,
    citations: CitationCheck,
    *,
    abstained: bool,
    sources: Sequence[str] | None = None,
    truncated: bool = False,
) -> Verdict:
    """Is this generated answer fit to show? ``citations`` is the result of the citation check.

    ``sources`` are the texts the model was given (None skips the link check);
    ``truncated`` says the model stopped at the length limit rather than by itself.
    """
    stripped = text.strip()
    if abstained:
        return Verdict(True)
    words = _WORD.findall(stripped)
    if len(words) < 4:
        return Verdict(False, "empty or too short")
    limit = _REPETITION_LIMIT_TRUNCATED if truncated else _REPETITION_LIMIT
    if repetition_ratio(stripped) > limit:
        return Verdict(False, "repetitive" + (" and cut off at the length limit" if truncated else ""))
    run = fragment_run(stripped, _RUN_LIMIT_TRUNCATED if truncated else _RUN_LIMIT)
    if run is not None:
        return Verdict(False, f"a run of the repeated fragment {run!r}")
    if sources is not None:
        invented = invented_links(stripped, sources)
        if invented:
            return Verdict(False, f"link {invented[0]!r} is in no source")
    lines = [ln.strip() for ln in stripped.splitlines() if ln.strip()]
    if lines and Counter(lines).most_common(1)[0][1] >= 3:
        return Verdict(False, "repeated lines")
    if not citations.cited:
        return Verdict(False, "no valid citation")
    claims = sentences(stripped)
    if citations.removed:
        bare = [s for line in stripped.splitlines() for s in sentences(line) if not has_citation(s)]
        if bare:
            return Verdict(False, f"cited non-existent sources and left {len(bare)} sentence(s) uncited")
    if claims and len(citations.uncited_sentences) > max(1, len(claims) // 2):
        return Verdict(False, "most sentences uncited")
    return Verdict(True)
