"""Quote-then-write: how a small local model writes an answer worth reading.

SmolLM2-135M cannot synthesise several sources in one prompt (it loops, invents links
and mis-cites), but it can do one short, single-source task acceptably. So, as Ai2
ScholarQA does at scale (quotes, then writing):

1. per top source, the sentences most relevant to the question are picked with the
   local embedder (:func:`select_quotes`);
2. the model rewrites each quote, alone, as a direct answer of at most 30 words
   (``prompts/answer_rewrite.md``); when that rewrite fails its check, it rewrites the same quote once more
   in plain words (``prompts/answer_plain.md``, which does not show the question). The two styles fail on
   different quotes: on the same 235 quotes of the 47 seed cases the first passed 29 calls and the plain one
   38, and together they write 33 of the cases where the first alone writes 19 (evals/README.md, "Rewrite
   styles", has the seven other prompts tried);
3. paperbrief, not the model, attaches the quote's citation;
4. each rewrite is checked against its quote (``agent.checks.rewrite``); one that fails
   is shown as the quote itself, so every sentence is either a checked rewrite
   (``quote-then-write``) or a verbatim quote (``extractive``);
5. when no shown quote was written, the next candidate sentences get a try, up to ``RETRIES`` more, in both
   styles, stopping at the first that passes. At most (2 + 3) x 2 short calls of about 0.5 s each: cheaper
   than the single prompt they replace (BENCHMARKS.md, "Answers from the local model").

A sentence that is a question is never a quote: rewritten "as an answer", the question a
paper asks ("But how performant are AI agents at ...?") became a claim it never makes.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.checks.citations import sentences as split_sentences
from agent.checks.rewrite import check_rewrite, clean_rewrite
from agent.llm.base import LLM, Finished, TextDelta, Usage
from agent.prompts import Prompt, load_prompt
from agent.types import AnswerSentence, Notice, RewriteAttempt, Source, Token
from store.embeddings import VectorEmbeddings

MAX_QUOTES = 2  # sentences shown
PER_SOURCE = 2
RETRIES = 3  # extra rewrite calls, with the next candidate sentences, when no shown quote's rewrite passed
REWRITE_TOKENS = 64  # 30 words is about 40 tokens; the rest is room for the model to stop
_MIN_WORDS = 5
#: The rewrite prompts, tried in this order on each quote until one's rewrite passes its check.
STYLES = ("answer_rewrite", "answer_plain")
_DUPLICATE = 0.9  # a second quote this close to a chosen one adds nothing


@dataclass(frozen=True)
class Quote:
    n: int
    title: str
    text: str
    score: float


@dataclass
class Written:
    """What quote-then-write produced: the sentences in order and the model's usage."""

    sentences: list[AnswerSentence] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    attempts: list[RewriteAttempt] = field(default_factory=list)  # every rewrite call, accepted or not

    @property
    def rejected(self) -> list[str]:
        """Why each failed rewrite was not shown."""
        return [a.reason for a in self.attempts if not a.ok]


def _unit(embedder: VectorEmbeddings, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def select_quotes(
    question: str,
    sources: Sequence[Source],
    embedder: VectorEmbeddings,
    *,
    per_source: int = PER_SOURCE,
    max_quotes: int = MAX_QUOTES,
) -> list[Quote]:
    """The sentences of the top sources closest to the question, best first, the top source always included."""
    candidates: list[tuple[Source, str]] = []
    for src in sources:
        for sent in split_sentences(re.sub(r"\s+", " ", src.text)):
            if len(sent.split()) >= _MIN_WORDS and not sent.rstrip().endswith("?"):
                candidates.append((src, sent.strip()))
    if not candidates:
        return []
    vectors = _unit(embedder, [question] + [s for _, s in candidates])
    scores = vectors[1:] @ vectors[0]
    per: dict[int, list[int]] = {}
    for i in np.argsort(-scores):
        src = candidates[int(i)][0]
        if len(per.setdefault(src.n, [])) < per_source:
            per[src.n].append(int(i))
    pool = sorted((i for ids in per.values() for i in ids), key=lambda i: -float(scores[i]))
    top_n = min(s.n for s in sources)
    first = next((i for i in pool if candidates[i][0].n == top_n), None)
    order = ([first] if first is not None else []) + [i for i in pool if i != first]
    chosen: list[int] = []
    for i in order:
        if all(float(vectors[1 + i] @ vectors[1 + j]) < _DUPLICATE for j in chosen):
            chosen.append(i)
        if len(chosen) == max_quotes:
            break
    return [Quote(candidates[i][0].n, candidates[i][0].title, candidates[i][1], float(scores[i])) for i in chosen]


def rewrite_styles(directory: Path | None = None) -> list[Prompt]:
    """The rewrite prompts tried on each quote, in order (see the module docstring for why these two)."""
    return [load_prompt(name, directory) for name in STYLES]


def quote_then_write(
    question: str,
    quotes: Sequence[Quote],
    *,
    llm: LLM,
    embedder: VectorEmbeddings,
    styles: Sequence[Prompt],
    temperature: float = 0.0,
    shown: int = MAX_QUOTES,
    retries: int = RETRIES,
) -> Generator[Token | Notice, None, Written]:
    """Rewrite each of the first ``shown`` quotes, check it, and return the sentences (streaming the rewrites).

    Each quote is tried in each style in turn until one rewrite passes its check. The quotes after the first
    ``shown`` are spares: when no shown rewrite passed, up to ``retries`` of them are tried too, and the first
    that passes replaces the failed quote of its own source (else the last one), so the answer keeps ``shown``
    sentences, the top source's first."""
    out = Written()
    for k, quote in enumerate(quotes[:shown]):
        sentence = yield from _rewrite_styles(question, quote, out, llm, embedder, styles, temperature, first=k == 0)
        out.sentences.append(sentence)
    if any(s.mode == "quote-then-write" for s in out.sentences):
        return out
    for quote in quotes[shown : shown + retries]:
        sentence = yield from _rewrite_styles(question, quote, out, llm, embedder, styles, temperature, first=False)
        if sentence.mode == "quote-then-write":
            same = [i for i, s in enumerate(out.sentences) if s.citations == [quote.n]]
            out.sentences[same[0] if same else len(out.sentences) - 1] = sentence
            break
    return out


def _rewrite_styles(
    question: str,
    quote: Quote,
    out: Written,
    llm: LLM,
    embedder: VectorEmbeddings,
    styles: Sequence[Prompt],
    temperature: float,
    *,
    first: bool,
) -> Generator[Token | Notice, None, AnswerSentence]:
    """The quote tried in each style until a rewrite passes: that rewrite, or the quote when none does."""
    for k, style in enumerate(styles):
        sentence = yield from _rewrite_one(
            question, quote, out, llm, embedder, style, temperature, first=first and k == 0
        )
        if sentence.mode == "quote-then-write":
            break
    return sentence


def _rewrite_one(
    question: str,
    quote: Quote,
    out: Written,
    llm: LLM,
    embedder: VectorEmbeddings,
    prompt: Prompt,
    temperature: float,
    *,
    first: bool,
) -> Generator[Token | Notice, None, AnswerSentence]:
    """One rewrite call and its check: the checked rewrite, or the quote when the check fails."""
    values = {"quote": quote.text}
    if "question" in prompt.variables:  # the plain-words style is not shown the question (see its prompt)
        values["question"] = question
    messages = prompt.render(**values)
    parts: list[str] = []
    finish: str | None = None
    if not first:
        yield Token("\n")
    stream = llm.stream(
        messages, max_tokens=REWRITE_TOKENS, temperature=temperature, stop=["\n\n"], prompt=prompt.ref
    )
    try:
        for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield Token(event.text)
            elif isinstance(event, Finished):
                out.usage = out.usage + event.usage
                finish = event.finish_reason
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    raw = "".join(parts)
    rewrite = clean_rewrite(raw)
    # only the first line is kept: it is cut off only when the token limit fell inside it (a model that ended
    # its line and rambled on in the next ones was rejected as "cut off" for text nobody would see)
    cut_off = finish == "length" and "\n" not in raw.strip()
    similarity = float(np.prod(_unit(embedder, [rewrite or ".", quote.text]), axis=0).sum())
    verdict = check_rewrite(rewrite, quote.text, question, similarity, cut_off=cut_off)
    out.attempts.append(RewriteAttempt(quote.n, quote.text, rewrite, verdict.ok, verdict.reason, prompt.name))
    if verdict.ok:
        text = rewrite if rewrite.endswith((".", "!", "?")) else rewrite + "."
        return AnswerSentence(text, [quote.n], "quote-then-write", quote=quote.text)
    return AnswerSentence(quote.text, [quote.n], "extractive", quote=quote.text)
