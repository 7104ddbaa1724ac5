"""An answer as sentences: the unit a reader checks, with its citations, mode and support.

Whatever wrote the answer (one prompt, quote-then-write, or quotes), it ends as a list
of :class:`~agent.types.AnswerSentence`; the support scorer then gives each one the
closest sentence of the sources it cites and a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.checks.citations import check_citations
from agent.checks.citations import sentences as split_sentences
from agent.checks.extractive import LABEL, quoted_text
from agent.checks.support import SupportScorer
from agent.types import AnswerSentence, Mode, Source

_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")


def _plain(sentence: str) -> str:
    body = _MARKER.sub("", sentence).strip()
    return re.sub(r"\s+([.,;:!?])", r"\1", body)


def generated_sentences(text: str, mode: Mode = "generative") -> list[AnswerSentence]:
    """The sentences of a checked model answer (citation markers moved into ``citations``)."""
    out: list[AnswerSentence] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        if not line or line == LABEL:
            continue
        for sentence in split_sentences(line):
            body = _plain(sentence)
            if body.strip("“”\"' "):
                out.append(AnswerSentence(body, check_citations(sentence, 10_000).cited, mode))
    return out


def quoted_sentences(chosen: Sequence[tuple[int, str]]) -> list[AnswerSentence]:
    """Verbatim quotes, one per sentence, each citing its source."""
    return [AnswerSentence(text.strip(), [n], "extractive", quote=text.strip()) for n, text in chosen]


def compose(sentences: Sequence[AnswerSentence]) -> str:
    """The answer text: written sentences as prose, a quote (a failed rewrite) in quote marks."""
    if sentences and all(s.mode == "extractive" for s in sentences):
        return quoted_text([(s.citations[0] if s.citations else 0, s.text) for s in sentences])
    parts = []
    for s in sentences:
        body = f"“{s.text.rstrip()}”" if s.mode == "extractive" else s.text
        parts.append(body + "".join(f" [{n}]" for n in s.citations))
    return " ".join(parts)


def answer_mode(sentences: Sequence[AnswerSentence]) -> Mode:
    """quote-then-write when any sentence is a checked rewrite, else extractive."""
    return "quote-then-write" if any(s.mode == "quote-then-write" for s in sentences) else "extractive"


def attach_support(sentences: Sequence[AnswerSentence], sources: Sequence[Source], scorer: SupportScorer) -> None:
    """Score each sentence against the sources it cites (an uncited one against all, at best weak)."""
    by_n = {s.n: s for s in sources}
    items: list[tuple[str, Sequence[Source], bool]] = []
    for sentence in sentences:
        cited = [by_n[n] for n in sentence.citations if n in by_n]
        items.append((sentence.text, cited or list(sources), bool(cited)))
    for sentence, support in zip(sentences, scorer.score(items), strict=True):
        sentence.support = support
