"""The map step: a one-line TL;DR per paper, batched for capable models, checked, or quoted.

Capable models summarise several papers per call (``brief_tldr_batch``), which is
what keeps a 1,000-paper week near 0.1 calls per paper. Small local models get one
short prompt per paper (``brief_tldr``): they lose track of numbered lists.

Nothing the model writes is trusted: each TL;DR must be one plain sentence of
sensible length that does not loop, does not just repeat the title and whose
content words come from the paper's own title and abstract. A TL;DR that fails
is replaced by an *extractive* one, the abstract's first sentence stating the
contribution, and marked as such in every output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.brief.caller import BriefCaller
from agent.checks.citations import sentences
from agent.checks.links import invented_links
from agent.checks.quality import Verdict, fragment_run, repetition_ratio
from agent.llm.budget import count_messages, count_tokens, prompt_budget, trim_to_tokens
from agent.prompts import Prompt
from store.papers import Paper, title_key

#: Abstract tokens shown to the model per paper: enough for the contribution and main result.
ABSTRACT_TOKENS = 320
SMALL_ABSTRACT_TOKENS = 200
TLDR_TOKENS = 60  # completion budget per paper
MAX_TLDR_WORDS = 60
EXTRACTIVE_WORDS = 35
_NUMBERED = re.compile(
    r"^\s*(?:[-*]\s*)?(?:\[(\d{1,3})\]\s*[:.)\-–—]?|(?:paper\s*)?#?(\d{1,3})\s*[:.)\-–—])\s*(.+?)\s*$", re.I
)
_PREFIX = re.compile(r"^\s*(?:tl;?dr|summary|one[- ]sentence tl;?dr)\s*[:\-–—]\s*", re.I)
_CUES = re.compile(
    r"\b(we (propose|present|introduce|develop|design|build|show|demonstrate|study|investigate|find|describe|"
    r"release|offer|provide|construct|formulate|analy[sz]e)|(this|our) (paper|work|study|article)|here,? we|"
    r"in this (paper|work|study))\b",
    re.I,
)
#: Sentences that state what the paper contributes or found.
_CONTRIBUTION = re.compile(
    r"\b(we|this paper|this work|our (method|approach|model|framework|system))\s+(?:\w+ly\s+)?"
    r"(propose|present|introduce|develop|design|build|show|demonstrate|find|release|achieve|outperform|"
    r"establish|prove|derive|reveal|report|curate|construct)s?\b",
    re.I,
)
_RESULT = re.compile(
    r"\b((our )?(results|experiments|evaluations?|analys[ie]s) (show|demonstrate|reveal|indicate|suggest)|"
    r"outperforms?|achieves?|improves? .{0,40}\bby \d|state-of-the-art results)\b",
    re.I,
)
#: Scene-setting openers: what the field is like, not what this paper did.
_SETUP = re.compile(
    r"^(in (the )?(recent|last|past) (years|decades?)|recent(ly)?\b|over the (past|last)|"
    r"with the (rapid|recent|growing)|despite|however,|although|while)\b|\b(has|have) (attracted|gained|become)\b",
    re.I,
)
_LEAD_IN = re.compile(
    r"^(?:(?:in this (?:paper|work|study|article)|here|in response|to this end|to (?:address|fill|tackle|solve) "
    r"(?:this|these|that|the) (?:\w+ )?(?:gap|issues?|limitations?|challenges?|problems?)|therefore|thus|finally|"
    r"first|second|third|specifically|concretely|in particular),?\s+)(w(?=e\b)|t(?=his (?:paper|work|study)\b))",
    re.I,
)
_CLAUSE = re.compile(r"[,;:]\s|\s[—–]\s|\s(?:which|while|where|whereas|and thereby|thereby)\s")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]+")
_STOP_WORDS = """this that with from their there these those which while where when what into onto over under
    than then they them have has had been being were also such each more most less very much many
    paper papers study work works using used uses based show shows shown propose proposed proposes
    present presents introduce introduces novel approach method methods results result find finds
    across within without about between better best first able allows enables enable"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Tldr:
    text: str
    mode: str  # "model" | "extractive"
    reason: str = ""  # why it is extractive


def paper_text(paper: Paper, tokens: int) -> str:
    """The abstract as data for a prompt: whitespace folded, trimmed, unable to close its delimiter."""
    text = " ".join(paper.abstract.split())
    text, cut = trim_to_tokens(text, tokens)
    text = text.replace("</abstract>", "</ abstract>").replace("<abstract", "< abstract")
    return text + (" …" if cut else "")


def extractive_tldr(paper: Paper) -> str:
    """The abstract's sentence that states the contribution or result, at most ~35 words.

    Setup sentences ("In the last few decades, companies are interested…") say nothing a
    reader can act on, so each sentence is scored by what it states: a contribution or a
    finding ("we propose/introduce/show/find…", "results show", "outperforms") beats an aim
    ("we study/investigate"), which beats setup. Ties go to the earlier sentence. A lead-in
    like "In this paper, we" is dropped so the quote starts at the claim.
    """
    sents = [s for s in sentences(" ".join(paper.abstract.split())) if len(s.split()) >= 4]
    if not sents:
        return clip_clause(" ".join(paper.abstract.split()) or paper.title)
    scores = [_claim_score(s) for s in sents]
    pick = max(range(len(sents)), key=lambda i: (scores[i], -i))
    text = _LEAD_IN.sub(lambda m: m.group(1).upper(), sents[pick], count=1)
    if len(text.split()) < 10 and pick + 1 < len(sents):
        text = f"{text} {sents[pick + 1]}"
    return clip_clause(text)


def _claim_score(sentence: str) -> int:
    if _CONTRIBUTION.search(sentence) or _RESULT.search(sentence):
        return 3
    if _SETUP.search(sentence):
        return 0
    if _CUES.search(sentence):
        return 2
    return 1 if re.search(r"\d", sentence) else 0


def clip_clause(text: str, limit: int = EXTRACTIVE_WORDS) -> str:
    """``text`` cut to at most ``limit`` words, at the last clause boundary when there is one."""
    words = text.split()
    if len(words) <= limit:
        return text
    head = " ".join(words[:limit])
    floor = len(" ".join(words[: max(8, limit // 3)]))
    cut = max((m.start() for m in _CLAUSE.finditer(head) if m.start() >= floor), default=-1)
    if cut > 0:
        head = head[:cut]
    return head.rstrip(",;:—– ") + " …"


def clean_tldr(text: str) -> str:
    """First non-empty line, without a ``TL;DR:`` prefix, quotes or markdown emphasis."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip("*_").strip()
    if len(line) > 1 and line[0] in "\"“'" and line[-1] in "\"”'":
        line = line[1:-1].strip()
    return " ".join(line.split())


def _stems(text: str) -> set[str]:
    return {w.lower()[:5] for w in _WORD.findall(text)}


def check_tldr(text: str, paper: Paper) -> Verdict:
    """Is this TL;DR fit to show as the model's summary of ``paper``?"""
    words = text.split()
    if len(words) < 5:
        return Verdict(False, "empty or too short")
    if len(words) > MAX_TLDR_WORDS:
        return Verdict(False, "too long")
    if repetition_ratio(text) > 0.2 or fragment_run(text, 8):
        return Verdict(False, "repetitive")
    if "<" in text and ">" in text:
        return Verdict(False, "contains markup")
    invented = invented_links(text, [f"{paper.id} {paper.url or ''} {paper.title} {paper.abstract}"])
    if invented:
        return Verdict(False, f"link {invented[0]!r} is not in the abstract")
    tk, pk = title_key(text), title_key(paper.title)
    if tk == pk or (pk and tk.startswith(pk) and len(tk) < len(pk) + 15):
        return Verdict(False, "repeats the title")
    content = [w.lower() for w in _WORD.findall(text) if len(w) >= 4 and w.lower() not in _STOP]
    if content:
        source = _stems(f"{paper.title} {paper.abstract}")
        grounded = sum(1 for w in content if w[:5] in source) / len(content)
        if grounded < 0.6:
            return Verdict(False, "not grounded in the abstract")
    return Verdict(True)


def parse_numbered(text: str, n: int) -> dict[int, str]:
    """``{i: line}`` for lines ``i: ...`` with ``1 <= i <= n`` (first occurrence wins)."""
    out: dict[int, str] = {}
    for line in text.splitlines():
        match = _NUMBERED.match(line)
        if match:
            i = int(match.group(1) or match.group(2))
            if 1 <= i <= n and i not in out:
                out[i] = match.group(3).strip()
    return out


def accept(raw: str | None, paper: Paper) -> Tldr:
    """The model's TL;DR when it passes :func:`check_tldr`, else the extractive one with the reason."""
    if raw is None:
        return Tldr(extractive_tldr(paper), "extractive", "missing from the model's answer")
    text = clean_tldr(raw)
    verdict = check_tldr(text, paper)
    if verdict.ok:
        return Tldr(text if text.endswith((".", "!", "?", "…")) else text + ".", "model")
    return Tldr(extractive_tldr(paper), "extractive", verdict.reason)


# --- batching -------------------------------------------------------------------------


def batch_items(papers: Sequence[Paper]) -> list[dict[str, object]]:
    return [{"n": i, "title": p.title, "text": paper_text(p, ABSTRACT_TOKENS)} for i, p in enumerate(papers, 1)]


def plan_batches(
    papers: Sequence[Paper], prompt: Prompt, *, context_window: int, batch_size: int
) -> list[list[Paper]]:
    """Consecutive batches of at most ``batch_size`` papers whose prompt and answers fit the window."""
    base = count_messages(prompt.render(papers=[]))
    batches: list[list[Paper]] = []
    current: list[Paper] = []
    used = base
    for paper in papers:
        cost = count_tokens(paper.title) + min(count_tokens(paper.abstract), ABSTRACT_TOKENS) + 16
        budget = prompt_budget(context_window, TLDR_TOKENS * (len(current) + 1) + 16)
        if current and (len(current) >= batch_size or used + cost > budget):
            batches.append(current)
            current, used = [], base
        current.append(paper)
        used += cost
    if current:
        batches.append(current)
    return batches


def summarise_batch(caller: BriefCaller, prompt: Prompt, papers: Sequence[Paper], temperature: float) -> list[Tldr]:
    """One call for ``papers``; each answer line checked, failures quoted from the abstract."""
    messages = prompt.render(papers=batch_items(papers))
    text = caller.complete(
        prompt, messages, max_tokens=TLDR_TOKENS * len(papers) + 16, temperature=temperature, reuse=False
    )
    lines = parse_numbered(text, len(papers))
    if len(papers) == 1 and not lines:
        lines = {1: text}
    return [accept(lines.get(i), p) for i, p in enumerate(papers, 1)]


def summarise_one(caller: BriefCaller, prompt: Prompt, paper: Paper, temperature: float) -> Tldr:
    """One short call for one paper (small models)."""
    messages = prompt.render(title=paper.title, text=paper_text(paper, SMALL_ABSTRACT_TOKENS))
    text = caller.complete(prompt, messages, max_tokens=TLDR_TOKENS, temperature=temperature, reuse=False)
    return accept(text, paper)
