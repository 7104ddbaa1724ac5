"""Citation checks after generation: parse ``[n]`` markers, drop invalid ones, spot uncited claims.

The model is told to cite, but nothing it writes is trusted: a number that points to
no source is removed from the text and reported, and the sources list is always
built by us from the numbers that survived, never copied from the model's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# [1] or [1, 2] or [1][2] or [1-3]; not [a] or markdown links [text](url)
_GROUP = re.compile(r"\[(\s*\d+\s*(?:(?:,|;|-|–)\s*\d+\s*)*)\](?!\()")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(\[])")
_MIN_CLAIM_WORDS = 8


@dataclass(frozen=True)
class CitationCheck:
    text: str
    cited: list[int]  # valid numbers, in order of first use
    removed: list[int]  # numbers that pointed to no source
    uncited_sentences: list[str]


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"[,;]", group):
        part = part.strip()
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            lo, hi = (int(x) for x in re.split(r"[-–]", part))
            if 0 < hi - lo < 20:
                out.extend(range(lo, hi + 1))
                continue
        if part.isdigit():
            out.append(int(part))
        else:
            out.extend(int(x) for x in re.findall(r"\d+", part))
    return out


def check_citations(text: str, n_sources: int) -> CitationCheck:
    """Keep citations to sources ``1..n_sources``; remove the others from the text."""
    cited: list[int] = []
    removed: list[int] = []

    def replace(match: re.Match[str]) -> str:
        nums = _numbers(match.group(1))
        good = [n for n in nums if 1 <= n <= n_sources]
        removed.extend(n for n in nums if not 1 <= n <= n_sources and n not in removed)
        for n in good:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    cleaned = _GROUP.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return CitationCheck(cleaned, cited, removed, uncited_claims(cleaned))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def has_citation(sentence: str) -> bool:
    return bool(_GROUP.search(sentence))


def uncited_claims(text: str) -> list[str]:
    """Sentences long enough to state a finding but carrying no citation.

    Short connecting prose ("In short:", "Both papers differ.") is allowed uncited.
    """
    out = []
    for line in text.splitlines():
        for sentence in sentences(line.lstrip("-*• ")):
            if not _GROUP.search(sentence) and len(sentence.split()) >= _MIN_CLAIM_WORDS:
                out.append(sentence)
    return out
