"""Model calls for the brief: counted, timed, priced, optionally answered from the response store.

Every call of the pipeline goes through one :class:`BriefCaller`, which is what
makes the provenance footer and the benchmark honest: calls made and calls
reused, tokens, cost, and the wall time during which at least one request was in
flight (the pipeline's own overhead is the rest). Reuse is the shared
:class:`~agent.llm.cached.CachedLLM` over the brief cache's response store; the
metering sits *under* it, so only real model calls are counted, timed and priced.
Worker threads share the caller, so the counters sit behind a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from agent.brief.cache import BriefCache
from agent.llm.base import (
    LLM,
    ChatMessage,
    Finished,
    MessageLike,
    ModelProcessError,
    StreamEvent,
    Usage,
    WrappedLLM,
)
from agent.llm.cached import CachedLLM
from agent.llm.pricing import PriceTable, cost_usd
from agent.prompts import Prompt

if TYPE_CHECKING:
    from agent.prompts import PromptRef


class BriefCaller:
    """Runs prompts on ``llm`` and keeps the run's accounting."""

    def __init__(self, llm: LLM, cache: BriefCache, *, prices: PriceTable | None = None) -> None:
        self.llm = llm
        self.cache = cache
        self.prices = prices
        self.calls = 0
        self.usage = Usage()
        self.cost = 0.0
        self.prompts: dict[str, str] = {}
        #: Calls lost to a failed local model process (their parts are quoted) and the last cause.
        self.model_failures = 0
        self.model_error: str | None = None
        self._intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._metered = _Metered(llm, self)
        self._cached = CachedLLM(self._metered, cache.responses)

    @property
    def reused(self) -> int:
        """Calls answered from the response store this run."""
        return self._cached.totals.hits

    def note_prompt(self, prompt: Prompt) -> None:
        with self._lock:
            self.prompts[prompt.name] = prompt.version

    def complete(
        self,
        prompt: Prompt,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        reuse: bool = True,
    ) -> str:
        """The model's text for ``messages`` (rendered from ``prompt``); ``reuse`` goes through the response store.

        Provider errors (after the provider's own retries) propagate: the caller decides; a
        failed local model process (:class:`ModelProcessError`) returns ``""`` and is counted.
        """
        self.note_prompt(prompt)
        llm: LLM = self._cached if reuse else self._metered
        try:
            text, _ = llm.complete(messages, max_tokens=max_tokens, temperature=temperature, prompt=prompt.ref)
        except ModelProcessError as exc:
            # the model process died or hung: an empty answer fails every check, so that
            # part of the brief is quoted (and labelled) instead of the whole brief failing
            with self._lock:
                self.model_failures += 1
                self.model_error = str(exc)
            return ""
        return text

    def _account(self, started: float, ended: float, usage: Usage | None) -> None:
        with self._lock:
            self.calls += 1
            self._intervals.append((started, ended))
            if usage is not None:
                self.usage = self.usage + usage
                self.cost += cost_usd(self.llm.name, usage, provider=self.llm.provider, prices=self.prices)

    def llm_wall_s(self) -> float:
        """Seconds during which at least one model request was in flight (union of the intervals)."""
        with self._lock:
            spans = sorted(self._intervals)
        total = 0.0
        cur_start: float | None = None
        cur_end = 0.0
        for start, end in spans:
            if cur_start is None or start > cur_end:
                if cur_start is not None:
                    total += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        if cur_start is not None:
            total += cur_end - cur_start
        return total


class _Metered(WrappedLLM):
    """``inner`` with every real call counted, timed and priced into the owning caller."""

    def __init__(self, inner: LLM, owner: BriefCaller) -> None:
        super().__init__(inner)
        self.owner = owner

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        usage: Usage | None = None
        try:
            for event in self.inner.stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt
            ):
                if isinstance(event, Finished):
                    usage = event.usage
                yield event
        finally:
            self.owner._account(started, time.perf_counter(), usage)
