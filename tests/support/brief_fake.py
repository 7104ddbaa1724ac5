"""A stand-in for a capable chat model behind an OpenAI-compatible server, for brief tests and benchmarks.

It answers each brief prompt in the format the prompt asks for, built from the
request's own data (first words of each abstract, theme keywords, the numbered
items it was given), so the pipeline's parsing, checks and citations run for
real. It recognises a prompt by the delimiters its data sits in, counts requests
by kind, and can fail every ``fail_every``-th request with a 429 to exercise
retries under concurrency. ``delay_s`` and ``ms_per_token`` make it as slow as a
hosted model (``ms_per_token=10`` is about 100 tokens a second per request).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from typing import Any

from agent.llm.base import ChatMessage
from agent.llm.budget import count_messages, count_tokens
from tests.support.openai_server import Reply

_ABSTRACT = re.compile(r'<abstract n="(\d+)">\s*Title: ([^\n]*)\n(.*?)</abstract>', re.S)
_SINGLE = re.compile(r"<abstract>\s*Title: ([^\n]*)\n(.*?)</abstract>", re.S)
_THEME = re.compile(r'<theme n="(\d+)">\s*Keywords: ([^\n]*)', re.S)
_PAPER = re.compile(r'<paper n="(\d+)">', re.S)
_PART = re.compile(r"<part>(.*?)</part>", re.S)


def first_words(text: str, n: int = 18) -> str:
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return " ".join(sentence.split()[:n]).rstrip(".,;:")


class FakeBriefModel:
    """``respond(body) -> Reply`` for :class:`tests.support.openai_server.OpenAIServer`."""

    def __init__(self, *, fail_every: int = 0, delay_s: float = 0.0, ms_per_token: float = 0.0) -> None:
        self.kinds: Counter[str] = Counter()
        self.fail_every = fail_every
        self.delay_s = delay_s
        self.ms_per_token = ms_per_token
        self.failures = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self._seen += 1
            fail = bool(self.fail_every) and self._seen % self.fail_every == 0
            if fail:
                self.failures += 1
        if fail:
            return Reply(status=429, error="rate limited (scripted)", headers={"Retry-After": "0"})
        user = body["messages"][-1]["content"]
        kind, text = self.answer(user)
        delay = self.delay_s + self.ms_per_token * count_tokens(text) / 1000
        with self._lock:
            self.kinds[kind] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if delay:
                time.sleep(delay)  # here, not in Reply.delay_s, so overlapping requests are visible
        finally:
            with self._lock:
                self.in_flight -= 1
        prompt_tokens = count_messages([ChatMessage(m["role"], m["content"]) for m in body["messages"]])
        return Reply(text=text, prompt_tokens=prompt_tokens, completion_tokens=count_tokens(text))

    def answer(self, user: str) -> tuple[str, str]:
        if '<abstract n="' in user:
            lines = [f"{n}: {first_words(body)}." for n, _title, body in _ABSTRACT.findall(user)]
            return "tldr_batch", "\n".join(lines)
        if "<abstract>" in user:
            match = _SINGLE.search(user)
            return "tldr", (first_words(match.group(2)) + ".") if match else "No abstract."
        if '<theme n="' in user:
            lines = []
            for n, keywords in _THEME.findall(user):
                words = [w.strip() for w in keywords.split(",") if w.strip()][:2]
                lines.append(f"{n}: {' and '.join(words).capitalize() or 'Unnamed'} research")
            return "names", "\n".join(lines)
        if user.startswith("Keywords:"):  # one theme at a time (the small-model prompt)
            words = [w.strip() for w in user.splitlines()[0].removeprefix("Keywords:").split(",") if w.strip()]
            return "name", f"{' and '.join(words[:2]).capitalize() or 'Unnamed'} studies"
        if "<part>" in user:  # merge: keep some of the parts' citations, as a model would
            parts = _PART.findall(user)
            cited = [re.findall(r"\[\d+\]", p) for p in parts]
            first = "".join(c[0] for c in cited if c)
            second = "".join(c[-1] for c in cited if c)
            text = (
                f"Across {len(parts)} groups of papers the work converges on shared methods {first}. "
                f"Their evaluations compare approaches on common tasks {second}."
            )
            return "combine", text
        numbers = [int(n) for n in _PAPER.findall(user)]
        if "Signal:" in user:
            why = "It sets out the clearest result of its theme this week and is easy to follow."
            lines = [f"{n}: {why}" for n in numbers]
            return "highlights", "\n".join(lines)
        if numbers:
            head = "".join(f"[{n}]" for n in numbers[:2])
            tail = "".join(f"[{n}]" for n in numbers[2:4]) or head
            text = (
                f"Several papers this week push this direction forward with new methods {head}. "
                f"Others report evaluations that compare approaches on shared tasks {tail}."
            )
            return "synthesis", text
        return "other", "I do not know."
