"""Grounded question answering: retrieve, pack, prompt, stream, check, fall back or abstain.

``ask_events`` is the core every front end shares. It yields ``Retrieved`` once,
``Token`` for each piece of streamed model output, ``Notice`` for anything worth
telling the user, and ends with ``Done`` carrying the checked ``Answer``. Errors
from the provider (after its retries) propagate as ``LLMError``.

What the user finally sees is never the raw model output:

* citations are validated against the numbered sources, invalid ones removed;
* the output is checked for degeneration (empty, looping, uncited); a failure
  falls back to an extractive answer quoted from the top sources;
* when retrieval finds nothing relevant, or the model says the sources do not
  answer, the answer is the fixed ``SENTINEL`` plus the closest papers found;
* a link that no source contains fails the answer (small models invent them).

Small models do not get the single multi-source prompt: they answer by quote-then-write
(``agent.ask.quote_write``). Every answer ends as sentences, each with its citations,
the mode that wrote it and its support against the sources it cites
(``agent.ask.sentences``, ``agent.checks.support``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from agent.ask.quote_write import MAX_QUOTES, RETRIES, quote_then_write, rewrite_styles, select_quotes
from agent.ask.sentences import answer_mode, attach_support, compose, generated_sentences, quoted_sentences
from agent.checks.citations import check_citations
from agent.checks.extractive import extractive_quotes, quoted_text
from agent.checks.quality import check_output
from agent.checks.streaming import LOOP_WARNING, stream_checked
from agent.checks.support import make_support_scorer
from agent.errors import UserError
from agent.llm.base import LLM, ChatMessage, ModelProcessError, Usage
from agent.llm.budget import count_messages, count_tokens, trim_to_tokens
from agent.llm.pricing import PriceTable, cost_usd
from agent.prompts import PromptRef, load_prompt
from agent.types import AgentEvent, Answer, Citation, Done, Notice, Retrieved, Source, run_to_end
from store.index import Index
from store.retrieve import Hit, search

SENTINEL = "The indexed papers do not answer this question."
MAX_QUESTION_TOKENS = 512
_SMALL_SOURCES = 3
_SMALL_ANSWER_TOKENS = 192  # small models degrade with length; a short answer or a quote is better
_MIN_SOURCE_TOKENS = 48


#: auto = quote-then-write for small models, one prompt for capable ones; the others force one.
Strategy = Literal["auto", "single-prompt", "quote-then-write"]


class AskError(UserError):
    """A question that cannot be asked (empty, no index): one line, exit code 2."""

    title = "Cannot ask"
    hint = "rephrase the question, or ingest papers first (paperbrief ingest PATH)"


@dataclass(frozen=True)
class AskOptions:
    k: int = 6
    since: date | None = None
    until: date | None = None
    max_answer_tokens: int = 512
    abstain_threshold: float = 0.25
    temperature: float = 0.0
    prompt_dir: Path | None = None  # a prompt set under test (evals); None = the shipped prompts
    paper_ids: frozenset[str] | None = None  # ask about these papers only (a selection in the TUI)
    #: auto = quote-then-write for small models, one prompt for capable ones; the others force one
    #: (benchmarks run today's single prompt beside quote-then-write on the same questions)
    strategy: Strategy = "auto"


def is_sentinel(text: str) -> bool:
    """The model abstained: it wrote the sentinel (possibly with small variations)."""
    folded = " ".join(text.lower().split()).strip(" .\"'")
    return SENTINEL.lower().rstrip(".") in folded and len(folded) < len(SENTINEL) + 40


def relevant(hits: Sequence[Hit], threshold: float) -> bool:
    """Is the best hit close enough to the question to be worth answering from?

    Fused scores are relative (the best is always near 1), so the absolute signal is
    the best dense cosine similarity; a strong exact-term BM25 match also counts.
    """
    if not hits:
        return False
    best_dense = max((h.dense for h in hits if h.dense is not None), default=None)
    if best_dense is None:  # dense disabled: trust any lexical match
        return any((h.bm25 or 0) > 0 for h in hits)
    return best_dense >= threshold


def build_sources(index: Index, hits: Sequence[Hit], limit: int) -> list[Source]:
    papers = index.catalog.get_many(h.paper_id for h in hits[:limit])
    out: list[Source] = []
    for hit in hits[:limit]:
        paper = papers.get(hit.paper_id)
        if paper is None:
            continue
        out.append(
            Source(
                n=len(out) + 1,
                paper_id=paper.id,
                title=paper.title,
                date=hit.date,
                text=paper.abstract.replace("</source>", "</ source>"),
                url=paper.url,
                score=hit.score,
            )
        )
    return out


def pack_sources(sources: list[Source], budget_tokens: int) -> tuple[list[Source], bool]:
    """Fit sources into ``budget_tokens``: lowest-ranked dropped first, the last kept one trimmed.

    Returns the kept sources (renumbered 1..n in rank order) and whether anything was cut.
    """
    kept: list[Source] = []
    used = 0
    cut = False
    for src in sources:
        cost = count_tokens(src.title) + count_tokens(src.text) + 24
        if used + cost <= budget_tokens:
            kept.append(src)
            used += cost
            continue
        room = budget_tokens - used - count_tokens(src.title) - 24
        cut = True
        if room >= _MIN_SOURCE_TOKENS:
            text, _ = trim_to_tokens(src.text, room)
            kept.append(Source(src.n, src.paper_id, src.title, src.date, text + " …", src.url, src.score))
        break
    renumbered = [
        Source(i, s.paper_id, s.title, s.date, s.text, s.url, s.score) for i, s in enumerate(kept, 1)
    ]
    return renumbered, cut or len(kept) < len(sources)


def condense_question(
    llm: LLM, history: Sequence[ChatMessage], question: str, prompt_dir: Path | None = None
) -> tuple[str, Usage]:
    """A follow-up rewritten as a standalone query, using the conversation so far."""
    if not history:
        return question, Usage()
    prompt = load_prompt("condense", prompt_dir)
    turns = [{"role": m.role, "content": m.content[:1500]} for m in history[-6:]]
    messages = prompt.render(history=turns, question=question)
    try:
        text, usage = llm.complete(messages, max_tokens=96, prompt=prompt.ref)
    except ModelProcessError:
        text, usage = "", Usage()  # the answer call reports it; the plain follow-up still searches
    text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
    if len(text.split()) < 3 or len(text) > 600:
        # a small model's rewrite is unusable: fall back to the last question + the follow-up
        last_user = next((m.content for m in reversed(history) if m.role == "user"), "")
        text = f"{last_user} {question}".strip()
    return text, usage


def ask_events(
    question: str,
    *,
    index: Index,
    llm: LLM,
    options: AskOptions | None = None,
    history: Sequence[ChatMessage] = (),
    prices: PriceTable | None = None,
) -> Iterator[AgentEvent]:
    """Answer ``question`` from the index, yielding events (see module docstring)."""
    opts = options or AskOptions()
    started = time.perf_counter()
    question = " ".join(question.split())
    if not question:
        raise AskError("the question is empty")
    if opts.since and opts.until and opts.since > opts.until:
        raise AskError(f"--since {opts.since} is after --until {opts.until}")
    if index.catalog.count_papers() == 0:
        raise AskError("the index is empty: run `paperbrief ingest PATH...` first")
    warnings: list[str] = []
    question_tokens = count_tokens(question)
    if question_tokens > MAX_QUESTION_TOKENS:
        question, _ = trim_to_tokens(question, MAX_QUESTION_TOKENS)
        warnings.append(f"question trimmed from {question_tokens} to {MAX_QUESTION_TOKENS} tokens")
        yield Notice(warnings[-1])

    usage = Usage()
    query, condense_usage = condense_question(llm, history, question, opts.prompt_dir)
    usage = usage + condense_usage
    hits = search(
        index, query, k=max(opts.k, _SMALL_SOURCES), since=opts.since, until=opts.until, paper_ids=opts.paper_ids
    )
    small = llm.is_small
    quote_write = opts.strategy == "quote-then-write" or (opts.strategy == "auto" and small)
    name = "answer_rewrite" if quote_write else "answer_compact" if small else "answer"
    prompt = load_prompt(name, opts.prompt_dir)
    limit = _SMALL_SOURCES if small else opts.k
    sources = build_sources(index, hits, limit)

    def finish(answer: Answer) -> Done:
        answer.cost_usd = cost_usd(llm.name, answer.usage, provider=llm.provider, prices=prices)
        answer.latency_ms = int((time.perf_counter() - started) * 1000)
        answer.warnings = warnings + answer.warnings
        answer.query = query if query != question else None
        answer.since, answer.until = opts.since, opts.until
        return Done(answer)

    if not relevant(hits, opts.abstain_threshold):
        yield Retrieved(query, hits, [])
        yield finish(
            Answer(question, SENTINEL, [], [], hits, True, "generative", llm.name, prompt.ref, usage)
        )
        return

    if quote_write:
        yield Retrieved(query, hits, sources)
        quotes = select_quotes(question, sources, index.embedder, max_quotes=MAX_QUOTES + RETRIES)
        if not quotes:  # no sentence long enough to rewrite: quote what there is
            chosen = extractive_quotes(question, sources, index.embedder)
            answer = Answer(
                question, quoted_text(chosen), _citations(sources, [n for n, _ in chosen]), sources, hits, False,
                "extractive", llm.name, prompt.ref, usage, sentences=quoted_sentences(chosen),
            )
            yield finish(_with_support(answer, index))
            return
        try:
            written = yield from quote_then_write(
                question, quotes, llm=llm, embedder=index.embedder, styles=rewrite_styles(opts.prompt_dir),
                temperature=opts.temperature,
            )
        except ModelProcessError as exc:
            # the local model's process died or hung: answer from the sources, and say why
            yield finish(_model_failed(question, exc, sources, hits, index, llm.name, prompt.ref, usage))
            return
        answer = Answer(
            question, compose(written.sentences), [], sources, hits, False, answer_mode(written.sentences),
            llm.name, prompt.ref, usage + written.usage, sentences=written.sentences,
        )
        answer.citations = _citations(sources, [n for w in written.sentences for n in w.citations])
        answer.rewrites = written.attempts
        if written.rejected:
            answer.warnings.append(
                f"{len(written.rejected)} of {len(written.attempts)} rewrites failed their check "
                f"({'; '.join(dict.fromkeys(written.rejected))}); a failed sentence is shown as its quote"
            )
        yield finish(_with_support(answer, index))
        return

    budget = _prompt_budget(llm, opts.max_answer_tokens) - count_messages(
        prompt.render(question=question, sources=[], sentinel=SENTINEL)
    )
    sources, cut = pack_sources(sources, budget)
    if cut:
        warnings.append(f"context packed to {len(sources)} sources to fit {llm.name}'s window")
    yield Retrieved(query, hits, sources)
    messages = prompt.render(question=question, sources=[s.for_prompt() for s in sources], sentinel=SENTINEL)

    max_tokens = min(opts.max_answer_tokens, _SMALL_ANSWER_TOKENS) if small else opts.max_answer_tokens
    try:
        streamed = yield from stream_checked(
            llm, messages, max_tokens=max_tokens, temperature=opts.temperature, prompt=prompt.ref
        )
    except ModelProcessError as exc:
        # the local model's process died or hung: answer from the sources, and say why
        yield finish(_model_failed(question, exc, sources, hits, index, llm.name, prompt.ref, usage))
        return
    if streamed.looped:
        warnings.append(LOOP_WARNING)
    usage = usage + streamed.usage
    raw = streamed.text.strip()
    truncated = streamed.looped or streamed.finish_reason == "length"
    answer = _finalize(question, raw, sources, hits, index, llm.name, prompt.ref, usage, truncated)
    yield finish(_with_support(answer, index))


def _with_support(answer: Answer, index: Index) -> Answer:
    """Every sentence scored against the sources it cites (see ``agent.checks.support``)."""
    if not answer.abstained and answer.sentences:
        attach_support(answer.sentences, answer.sources, make_support_scorer(index.embedder))
    return answer


def _model_failed(
    question: str,
    exc: ModelProcessError,
    sources: list[Source],
    hits: list[Hit],
    index: Index,
    model: str,
    ref: PromptRef,
    usage: Usage,
) -> Answer:
    """The extractive answer when the model process failed, with the failure as a warning."""
    chosen = extractive_quotes(question, sources, index.embedder)
    answer = Answer(
        question, quoted_text(chosen), _citations(sources, [n for n, _ in chosen]), sources, hits, False,
        "extractive", model, ref, usage, sentences=quoted_sentences(chosen),
    )
    answer.model_error = str(exc)
    answer.warnings.append(f"the model failed, showing quotes: {exc}")
    _with_support(answer, index)
    return answer


def _prompt_budget(llm: LLM, max_answer_tokens: int) -> int:
    return max(256, int(llm.context_window * 0.9) - max_answer_tokens)


def _finalize(
    question: str,
    raw: str,
    sources: list[Source],
    hits: list[Hit],
    index: Index,
    model: str,
    ref: PromptRef,
    usage: Usage,
    truncated: bool = False,
) -> Answer:
    if is_sentinel(raw):
        return Answer(question, SENTINEL, [], sources, hits, True, "generative", model, ref, usage)
    check = check_citations(raw, len(sources))
    own_texts = [f"{s.paper_id} {s.url or ''} {s.title} {s.text}" for s in sources]
    verdict = check_output(check.text, check, abstained=False, sources=own_texts, truncated=truncated)
    answer = Answer(
        question, check.text, [], sources, hits, False, "generative", model, ref, usage,
        removed_citations=check.removed,
    )
    if check.removed:
        answer.warnings.append(
            "removed citations to non-existent sources: " + ", ".join(f"[{n}]" for n in check.removed)
        )
    if not verdict.ok:
        chosen = extractive_quotes(question, sources, index.embedder)
        answer.text, answer.mode = quoted_text(chosen), "extractive"
        answer.sentences = quoted_sentences(chosen)
        answer.warnings.append(f"model output failed the quality check ({verdict.reason}); showing quotes")
        numbers = [n for n, _ in chosen]
    else:
        answer.sentences = generated_sentences(check.text)
        numbers = check.cited
        if check.uncited_sentences:
            answer.warnings.append(f"{len(check.uncited_sentences)} sentence(s) without a citation")
    answer.citations = _citations(sources, numbers)
    return answer


def _citations(sources: Sequence[Source], numbers: Sequence[int]) -> list[Citation]:
    """The sources list, in source order whatever order the text cites them in."""
    by_n = {s.n: s for s in sources}
    return [Citation(n, by_n[n].paper_id, by_n[n].title, by_n[n].date) for n in sorted(set(numbers)) if n in by_n]


def ask(question: str, **kwargs: Any) -> Answer:
    """Run ``ask_events`` to the end and return the answer (for batch, evals, tests)."""
    return run_to_end(ask_events(question, **kwargs), Done).answer
