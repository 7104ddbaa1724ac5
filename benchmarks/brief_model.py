"""Answers for the brief benchmark's loopback model: each brief prompt in the format it asks for.

The replies are built from the request's own data (first words of each abstract,
theme keywords, the numbered items it was given), so the pipeline's parsing, checks
and citations run for real while the model's only cost is the simulated latency of
:class:`benchmarks.loopback_model.LoopbackModel`.
"""

from __future__ import annotations

import re
from typing import Any

_ABSTRACT = re.compile(r'<abstract n="(\d+)">\s*Title: ([^\n]*)\n(.*?)</abstract>', re.S)
_SINGLE = re.compile(r"<abstract>\s*Title: ([^\n]*)\n(.*?)</abstract>", re.S)
_THEME = re.compile(r'<theme n="(\d+)">\s*Keywords: ([^\n]*)', re.S)
_PAPER = re.compile(r'<paper n="(\d+)">', re.S)
_PART = re.compile(r"<part>(.*?)</part>", re.S)


def _first_words(text: str, n: int = 18) -> str:
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return " ".join(sentence.split()[:n]).rstrip(".,;:")


def brief_reply(body: dict[str, Any]) -> str:
    """The reply text for one chat request of the brief pipeline."""
    user = str(body["messages"][-1]["content"])
    if '<abstract n="' in user:
        return "\n".join(f"{n}: {_first_words(text)}." for n, _title, text in _ABSTRACT.findall(user))
    if "<abstract>" in user:
        match = _SINGLE.search(user)
        return (_first_words(match.group(2)) + ".") if match else "No abstract."
    if '<theme n="' in user:
        lines = []
        for n, keywords in _THEME.findall(user):
            words = [w.strip() for w in keywords.split(",") if w.strip()][:2]
            lines.append(f"{n}: {' and '.join(words).capitalize() or 'Unnamed'} research")
        return "\n".join(lines)
    if user.startswith("Keywords:"):
        words = [w.strip() for w in user.splitlines()[0].removeprefix("Keywords:").split(",") if w.strip()]
        return f"{' and '.join(words[:2]).capitalize() or 'Unnamed'} studies"
    if "<part>" in user:
        cited = [re.findall(r"\[\d+\]", p) for p in _PART.findall(user)]
        first = "".join(c[0] for c in cited if c)
        second = "".join(c[-1] for c in cited if c)
        return (f"Across {len(cited)} groups of papers the work converges on shared methods {first}. "
                f"Their evaluations compare approaches on common tasks {second}.")
    numbers = [int(n) for n in _PAPER.findall(user)]
    if "Signal:" in user:
        why = "It sets out the clearest result of its theme this week and is easy to follow."
        return "\n".join(f"{n}: {why}" for n in numbers)
    if numbers:
        head = "".join(f"[{n}]" for n in numbers[:2])
        tail = "".join(f"[{n}]" for n in numbers[2:4]) or head
        return (f"Several papers this week push this direction forward with new methods {head}. "
                f"Others report evaluations that compare approaches on shared tasks {tail}.")
    return "I do not know."
