"""Model calls for the brief: counted, timed, priced, optionally answered from the cache.

Every call of the pipeline goes through one :class:`BriefCaller`, which is what
makes the provenance footer and the benchmark honest: calls made and calls
reused, tokens, cost, and the wall time during which at least one request was in
flight (the pipeline's own overhead is the rest). Worker threads share it, so
the counters sit behind a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from agent.brief.cache import BriefCache
from agent.llm.base import LLM, ChatMessage, ModelProcessError, Usage
from agent.llm.pricing import PriceTable, cost_usd
from agent.prompts import Prompt


class BriefCaller:
    """Runs prompts on ``llm`` and keeps the run's accounting."""

    def __init__(self, llm: LLM, cache: BriefCache, *, prices: PriceTable | None = None) -> None:
        self.llm = llm
        self.cache = cache
        self.prices = prices
        self.calls = 0
        self.reused = 0
        self.usage = Usage()
        self.cost = 0.0
        self.prompts: dict[str, str] = {}
        #: Calls lost to a failed local model process (their parts are quoted) and the last cause.
        self.model_failures = 0
        self.model_error: str | None = None
        self._intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()

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
        """The model's text for ``messages`` (rendered from ``prompt``); ``reuse`` consults the response cache.

        Provider errors (after the provider's own retries) propagate: the caller decides; a
        failed local model process (:class:`ModelProcessError`) returns ``""`` and is counted.
        """
        self.note_prompt(prompt)
        key = None
        if reuse:
            key = BriefCache.response_key(self.llm.name, prompt.name, prompt.version, messages)
            hit = self.cache.get_response(key)
            if hit is not None:
                with self._lock:
                    self.reused += 1
                return hit
        started = time.perf_counter()
        try:
            text, usage = self.llm.complete(
                messages, max_tokens=max_tokens, temperature=temperature, prompt=prompt.ref
            )
        except ModelProcessError as exc:
            # the model process died or hung: an empty answer fails every check, so that
            # part of the brief is quoted (and labelled) instead of the whole brief failing
            with self._lock:
                self.model_failures += 1
                self.model_error = str(exc)
            return ""
        finally:
            ended = time.perf_counter()
            with self._lock:
                self.calls += 1
                self._intervals.append((started, ended))
        with self._lock:
            self.usage = self.usage + usage
            self.cost += cost_usd(self.llm.name, usage, provider=self.llm.provider, prices=self.prices)
        if key is not None:
            self.cache.put_response(key, model=self.llm.name, prompt=prompt.name, version=prompt.version, output=text)
        return text

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
