"""The LLM judge for groundedness, used when ``--judge-model`` names a model.

The judge's instructions are a versioned prompt file (``prompts/judge_groundedness.md``),
so a change to the judge shows up in the results' prompt list like any other prompt
change, and its calls go through the same response cache. It sees the answer's claim
sentences (as ``evals.metrics.claims`` finds them) and the sources the answer was
given, and labels each sentence SUPPORTED or UNSUPPORTED; the case's score is the
share supported. A reply that labels none of the sentences scores ``None`` (reported,
never counted as zero: a broken judge must not look like a broken answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.llm.base import LLM
from agent.prompts import PromptRef, load_prompt
from agent.types import Source
from evals.metrics import Claim

PROMPT = "judge_groundedness"
_LINE = re.compile(r"^\s*(\d+)\s*[:.)\-]\s*\**\s*(NOT SUPPORTED|UNSUPPORTED|SUPPORTED)\b", re.I | re.M)


@dataclass(frozen=True)
class Verdicts:
    value: float | None
    unsupported: list[str]
    prompt: PromptRef
    prompt_tokens: int = 0
    completion_tokens: int = 0


def parse_verdicts(text: str, n_claims: int) -> dict[int, bool]:
    """Claim number -> supported, for every well-formed line about a claim 1..n_claims (first one wins)."""
    out: dict[int, bool] = {}
    for match in _LINE.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= n_claims and n not in out:
            out[n] = match.group(2).upper() == "SUPPORTED"
    return out


def judge(llm: LLM, claims: Sequence[Claim], sources: Sequence[Source]) -> Verdicts:
    """Ask the judge model about ``claims``; see the module docstring."""
    prompt = load_prompt(PROMPT)
    if not claims:
        return Verdicts(None, [], prompt.ref)
    messages = prompt.render(
        claims=[
            {"n": i, "text": c.text, "cites": "".join(f"[{n}]" for n in c.cites) or "none"}
            for i, c in enumerate(claims, 1)
        ],
        sources=[{"n": s.n, "title": s.title, "text": s.text} for s in sources],
    )
    text, usage = llm.complete(messages, max_tokens=16 + 8 * len(claims), temperature=0.0, prompt=prompt.ref)
    verdicts = parse_verdicts(text, len(claims))
    if not verdicts:
        return Verdicts(None, [], prompt.ref, usage.prompt_tokens, usage.completion_tokens)
    unsupported = [claims[n - 1].text for n, ok in sorted(verdicts.items()) if not ok]
    supported = sum(verdicts.values())
    return Verdicts(supported / len(verdicts), unsupported, prompt.ref, usage.prompt_tokens, usage.completion_tokens)
