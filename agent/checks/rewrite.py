"""Checks a quote-then-write sentence must pass before it replaces its quote.

The small model rewrites one quoted source sentence at a time. A rewrite is shown only
when it adds nothing the quote does not say: every number it contains is in the quote,
it names no entity (capitalised term, acronym, mixed-case name) absent from the quote and
the question, it carries no link the quote lacks, at most a quarter of its content words are
new (a 135M model "answering" from its own knowledge shows up as new words long before it
shows up as low similarity), and it stays close in meaning (embedding similarity to the quote
at or above a threshold calibrated on the eval cases). A rewrite that only copies the quote
(or a cut-off part of it) is not a rewrite: the quote is shown, marked extractive.
Otherwise the quote itself is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.checks.links import invented_links
from agent.checks.quality import repetition_ratio

#: Cosine (MiniLM) between a rewrite and its quote below which the rewrite is rejected. Calibrated on
#: the seed cases (a rewrite vs its own quote, 20 pairs, against vs the answer's other quote): 0.67 at
#: balanced accuracy 0.925; the two rewrites between 0.67 and 0.70 were both garbled, so 0.70 stays.
REWRITE_SIMILARITY = 0.70
MAX_WORDS = 40
#: Share of a rewrite's content words that may be absent from the quote and the question.
MAX_NEW_WORDS = 0.25
_STOP = frozenset(
    {"that", "this", "these", "those", "with", "from", "into", "than", "then", "they", "their", "there", "which",
     "while", "where", "when", "what", "about", "also", "have", "been", "being", "were", "does", "such", "more",
     "most", "some", "only", "over", "under", "between", "both", "each", "other", "using", "used", "uses"}
)
_MIN_WORDS = 4
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][\w\-]*")
_COMMON_CAPS = frozenset(
    {"the", "a", "an", "this", "these", "it", "its", "we", "our", "they", "their", "in", "on", "for", "to",
     "by", "with", "of", "and", "or", "but", "however", "moreover", "paper", "papers", "study", "authors",
     "results", "method", "approach", "model", "models", "yes", "no"}
)


@dataclass(frozen=True)
class RewriteVerdict:
    ok: bool
    reason: str = ""


def numbers(text: str) -> set[str]:
    """Numbers as written, thousands separators dropped (``1,000`` and ``1000`` match)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def named_entities(text: str) -> set[str]:
    """Capitalised terms not at a sentence start, acronyms and mixed-case names (``SmolLM2``, ``vLLM``)."""
    out: set[str] = set()
    for i, match in enumerate(_WORD.finditer(text)):
        word = match.group(0)
        before = text[: match.start()].rstrip()
        starts_sentence = i == 0 or before.endswith((".", "!", "?", ":", "\n"))
        inner_caps = any(c.isupper() for c in word[1:])
        odd = inner_caps or any(c.isdigit() for c in word)
        if odd or (word[0].isupper() and not starts_sentence and word.lower() not in _COMMON_CAPS):
            out.add(word)
    return out


def clean_rewrite(raw: str) -> str:
    """The first line of the model's output, without labels, quote marks or citation markers."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:one-sentence answer|answer|rewrite)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = re.sub(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]", "", line)
    line = line.strip().strip("\"“”'").strip()
    return re.sub(r"\s{2,}", " ", re.sub(r"\s+([.,;:])", r"\1", line))


def _stem(word: str) -> str:
    return word.lower()[:5]


def new_word_share(rewrite: str, known: str) -> float:
    """Share of the rewrite's content words (4+ letters, not function words) whose stem ``known`` lacks."""
    content = [w for w in _WORD.findall(rewrite) if len(w) >= 4 and w.lower() not in _STOP]
    if not content:
        return 0.0
    seen = {_stem(w) for w in _WORD.findall(known)}
    return sum(_stem(w) not in seen for w in content) / len(content)


def is_copy(rewrite: str, quote: str) -> bool:
    """The rewrite is the quote, or a stretch of it, word for word (case and punctuation aside)."""
    norm = " ".join(w.lower() for w in _WORD.findall(rewrite))
    return bool(norm) and norm in " ".join(w.lower() for w in _WORD.findall(quote))


def check_rewrite(
    rewrite: str, quote: str, question: str, similarity: float, *, cut_off: bool = False
) -> RewriteVerdict:
    """Is ``rewrite`` a faithful short restatement of ``quote``? ``similarity`` is their cosine;
    ``cut_off`` means generation stopped at its token limit (the sentence is unfinished)."""
    if cut_off:
        return RewriteVerdict(False, "cut off at the token limit")
    if is_copy(rewrite, quote):
        return RewriteVerdict(False, "copied the quote")
    words = rewrite.split()
    if len(words) < _MIN_WORDS:
        return RewriteVerdict(False, "empty or too short")
    if len(words) > MAX_WORDS:
        return RewriteVerdict(False, "too long")
    if repetition_ratio(rewrite) > 0.25:
        return RewriteVerdict(False, "repetitive")
    new_numbers = numbers(rewrite) - numbers(quote)
    if new_numbers:
        return RewriteVerdict(False, "number not in the quote: " + ", ".join(sorted(new_numbers)))
    if invented_links(rewrite, [quote]):
        return RewriteVerdict(False, "link not in the quote")
    known = {w.lower() for w in _WORD.findall(quote + " " + question)}
    new_names = sorted(e for e in named_entities(rewrite) if e.lower() not in known)
    if new_names:
        return RewriteVerdict(False, "name not in the quote: " + ", ".join(new_names))
    if new_word_share(rewrite, quote + " " + question) > MAX_NEW_WORDS:
        return RewriteVerdict(False, "words not in the quote")
    if similarity < REWRITE_SIMILARITY:
        return RewriteVerdict(False, f"drifted from the quote (similarity {similarity:.2f})")
    return RewriteVerdict(True)
