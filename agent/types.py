"""The agent's domain types: sources, citations, answers, and the events front ends render.

The core yields events (``Retrieved``, ``Token``, ``Notice``, ``Done``); the CLI
prints them, the TUI renders them, the eval runner and batch collect them. None of
these types knows about a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, TypeVar

from agent.llm.base import Usage
from agent.prompts import PromptRef
from store.retrieve import Hit

#: How an answer (and each of its sentences) was written: by the model from all sources in one
#: prompt, by the model rewriting one quoted sentence of one source, or quoted verbatim.
Mode = Literal["generative", "quote-then-write", "extractive"]
Verdict = Literal["supported", "weak", "unsupported"]


@dataclass(frozen=True)
class Source:
    """A numbered piece of evidence shown to the model: ``[n]`` in the answer points here."""

    n: int
    paper_id: str
    title: str
    date: date | None
    text: str
    url: str | None = None
    score: float = 0.0

    def for_prompt(self) -> dict[str, object]:
        return {
            "n": self.n,
            "paper_id": self.paper_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else "unknown",
            "text": self.text,
        }


@dataclass(frozen=True)
class Citation:
    n: int
    paper_id: str
    title: str
    date: date | None

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "paper_id": self.paper_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass(frozen=True)
class Support:
    """How well one answer sentence is backed by the sources it cites.

    ``score`` is the scorer's number (cosine similarity for the embedder, entailment
    probability for an NLI model); ``source_sentence`` is the closest sentence of a cited
    source (from source ``source_n``), the quote a reader checks the sentence against.
    """

    score: float
    source_sentence: str
    source_n: int | None
    verdict: Verdict
    scorer: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "score": round(self.score, 4),
            "source_sentence": self.source_sentence,
            "source": self.source_n,
            "verdict": self.verdict,
            "scorer": self.scorer,
        }


@dataclass
class AnswerSentence:
    """One sentence as shown, the sources it cites, how it was written and how well it is supported."""

    text: str
    citations: list[int]
    mode: Mode
    support: Support | None = None
    quote: str | None = None  # the source sentence a quote-then-write sentence was rewritten from

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "citations": self.citations,
            "mode": self.mode,
            "support": self.support.to_json() if self.support else None,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class RewriteAttempt:
    """One quote-then-write call: the quote, what the model wrote, and whether the check let it through.

    Kept on the answer (``ask --json`` ``rewrites``, eval records) so a reader can see every
    rejected rewrite and why, not only the sentences that were shown."""

    source: int
    quote: str
    rewrite: str
    ok: bool
    reason: str = ""  # the check's reason for a rejection ("copied the quote", ...); "" when ok
    prompt: str = ""  # the rewrite style (prompt name) this call used

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source, "quote": self.quote, "rewrite": self.rewrite, "ok": self.ok, "reason": self.reason,
            "prompt": self.prompt,
        }


@dataclass
class Answer:
    """A finished answer with everything needed to show, log, batch or evaluate it."""

    question: str
    text: str
    citations: list[Citation]
    sources: list[Source]
    retrieved: list[Hit]
    abstained: bool
    mode: Mode
    model: str
    prompt: PromptRef
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: int = 0
    removed_citations: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    query: str | None = None  # the standalone query, when a follow-up was condensed
    model_error: str | None = None  # the local model process failed; the text is quoted instead
    sentences: list[AnswerSentence] = field(default_factory=list)
    since: date | None = None  # the listing window the question was asked over
    until: date | None = None
    rewrites: list[RewriteAttempt] = field(default_factory=list)  # quote-then-write calls, accepted or not

    def to_json(self) -> dict[str, object]:
        extra: dict[str, object] = {"model_error": self.model_error} if self.model_error else {}
        if self.rewrites:
            extra["rewrites"] = [r.to_json() for r in self.rewrites]
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {"paper_id": h.paper_id, "title": h.title, "score": round(h.score, 6)}
                for h in self.retrieved
            ],
            "abstained": self.abstained,
            "mode": self.mode,
            "model": self.model,
            "prompt": {"name": self.prompt.name, "version": self.prompt.version, "hash": self.prompt.hash},
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
            },
            "cost_usd": round(self.cost_usd, 8),
            "latency_ms": self.latency_ms,
            "removed_citations": self.removed_citations,
            "warnings": self.warnings,
            "query": self.query,
            **extra,
            "sentences": [s.to_json() for s in self.sentences],
            "support": support_summary(self.sentences),
            "window": {
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
            },
        }


def support_summary(sentences: list[AnswerSentence]) -> dict[str, int]:
    """How many sentences of an answer are supported, weak or unsupported."""
    out = {"supported": 0, "weak": 0, "unsupported": 0}
    for sentence in sentences:
        if sentence.support is not None:
            out[sentence.support.verdict] += 1
    return out


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True)
class Retrieved:
    """Retrieval finished: what was found and which sources the model will see."""

    query: str
    hits: list[Hit]
    sources: list[Source]


@dataclass(frozen=True)
class Token:
    """A piece of the model's raw output, as it streams."""

    text: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (a trimmed question, a fallback)."""

    message: str


@dataclass(frozen=True)
class Done:
    answer: Answer


AgentEvent = Retrieved | Token | Notice | Done


D = TypeVar("D")


def run_to_end(events: Iterable[object], done: type[D]) -> D:
    """Drain a feature's event stream and return its final event (``Done``, ``BriefDone``,
    ``Compared``); scripts, batch, evals and tests use this instead of a streaming front end."""
    for event in events:
        if isinstance(event, done):
            return event
    raise RuntimeError(f"the event stream ended without {done.__name__}")


def run_footer(
    model: str, mode: str, usage: Usage | None = None, cost_usd: float = 0.0, latency_ms: int | None = None
) -> str:
    """The line under every answer, comparison and brief: ``model · mode · tokens · $ · s``.

    An empty ``mode`` is left out; tokens and cost appear only when known; ``latency_ms=None``
    leaves the time out (snapshot tests, which must not show timings).
    """
    parts = [part for part in (model, mode) if part]
    if usage is not None and usage.total_tokens:
        parts.append(f"{usage.prompt_tokens}+{usage.completion_tokens} tokens")
    if cost_usd:
        parts.append(f"${cost_usd:.4f}")
    if latency_ms is not None:
        parts.append(f"{latency_ms / 1000:.1f} s")
    return " · ".join(parts)
