"""The reduce steps: theme names, per-theme syntheses and the "why read it first" lines.

A synthesis is written from the theme's TL;DRs, never its abstracts, which is
what lets a 150-paper theme fit a small window. When even the TL;DRs do not fit,
they are synthesised in parts and the parts combined (a second reduce level);
citation numbers are the theme's own paper numbers throughout, so every kept
citation points to a paper of that theme and anything else is removed.

Every model output is checked; what fails falls back to something built from the
data (keyword names, quoted TL;DRs, the ranking signal), labelled as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.brief.caller import BriefCaller
from agent.brief.tldr import parse_numbered
from agent.brief.types import Synthesis
from agent.checks.citations import check_citations
from agent.checks.quality import Verdict, check_output, repetition_ratio
from agent.llm.budget import count_messages, count_tokens, prompt_budget, trim_to_tokens
from agent.prompts import Prompt, load_prompt

SYNTH_TOKENS = 320
SMALL_SYNTH_TOKENS = 120
#: A small model sees only this many of a theme's most central papers: it cannot juggle more.
SMALL_SYNTH_ITEMS = 6
NAME_GROUP = 15
_GENERIC = frozenset({"other", "others", "misc", "miscellaneous", "various", "various topics", "general", "theme"})
_NAME_WORDS = (1, 8)
_PREAMBLE = re.compile(r"^(this|these|the (research|topic|theme|name|papers?))\b", re.I)
_REFUSAL = re.compile(r"^(i|as an|sorry)\b|\b(sorry|cannot|can't|don't know|do not know|unable)\b", re.I)


@dataclass(frozen=True)
class ThemeInput:
    """What naming sees of a theme: its distinctive keywords and its most central titles."""

    n: int
    keywords: list[str]
    titles: list[str]


@dataclass(frozen=True)
class SynthItem:
    n: int
    title: str
    tldr: str


# --- names ------------------------------------------------------------------------------


def clean_name(text: str) -> str | None:
    """A usable theme name from a model's answer, or None (too long, generic, markup, a sentence).

    Small models often open with a preamble ("The research topic is:") and put the
    name after the colon or on the next line; the first line that yields a valid
    name wins.
    """
    for raw in text.strip().splitlines()[:3]:
        line = re.sub(r"^\s*(?:theme\s*)?(?:name\s*)?\d*\s*[:.)\-–]\s*", "", raw, flags=re.I)
        if ":" in line:
            line = line.rsplit(":", 1)[1]
        name = _valid_name(line.strip().rstrip(".").strip("*_#\"“”'`").strip().rstrip("."))
        if name:
            return name
    return None


def _valid_name(line: str) -> str | None:
    words = line.split()
    if not _NAME_WORDS[0] <= len(words) <= _NAME_WORDS[1] or len(line) > 70:
        return None
    if line.lower() in _GENERIC or "<" in line or not re.search(r"[A-Za-z]{3}", line) or _REFUSAL.search(line):
        return None
    if _PREAMBLE.match(line) or repetition_ratio(line, n=2) > 0.3:
        return None
    return line[:1].upper() + line[1:]


def name_themes(
    caller: BriefCaller,
    themes: Sequence[ThemeInput],
    *,
    small: bool,
    context_window: int = 8192,
    temperature: float = 0.0,
) -> dict[int, str]:
    """Model names by theme number; themes missing from the result fall back to keywords."""
    names: dict[int, str] = {}
    if small:
        prompt = load_prompt("brief_theme_name")
        for theme in themes:
            messages = prompt.render(keywords=", ".join(theme.keywords), titles=theme.titles[:4])
            name = clean_name(caller.complete(prompt, messages, max_tokens=16, temperature=temperature))
            if name:
                names[theme.n] = name
        return _unique(names)
    prompt = load_prompt("brief_theme_names")
    shown = [{"n": 0, "keywords": ", ".join(t.keywords), "titles": t.titles[:6]} for t in themes]
    for group in _name_groups(prompt, shown, context_window):
        numbered = [{**shown[i], "n": k} for k, i in enumerate(group, 1)]
        text = caller.complete(
            prompt, prompt.render(themes=numbered), max_tokens=24 * len(group) + 16, temperature=temperature
        )
        for k, line in parse_numbered(text, len(group)).items():
            name = clean_name(line)
            if name:
                names[themes[group[k - 1]].n] = name
    return _unique(names)


def _name_groups(prompt: Prompt, shown: list[dict[str, object]], context_window: int) -> list[list[int]]:
    """Indices of themes named together: at most ``NAME_GROUP``, and the prompt fits the window."""
    groups: list[list[int]] = [[]]
    for i in range(len(shown)):
        trial = groups[-1] + [i]
        tokens = count_messages(prompt.render(themes=[shown[j] for j in trial])) + 24 * len(trial) + 16
        if groups[-1] and (len(trial) > NAME_GROUP or tokens > prompt_budget(context_window, 0)):
            groups.append([i])
        else:
            groups[-1] = trial
    return [g for g in groups if g]


def _unique(names: dict[int, str]) -> dict[int, str]:
    """Two themes with one name are not two themes to a reader: keep the first, drop the rest."""
    seen: set[str] = set()
    out: dict[int, str] = {}
    for n in sorted(names):
        key = names[n].casefold()
        if key not in seen:
            seen.add(key)
            out[n] = names[n]
    return out


# --- syntheses ------------------------------------------------------------------------


def synthesize(
    caller: BriefCaller,
    theme: str,
    items: Sequence[SynthItem],
    *,
    small: bool,
    context_window: int,
    temperature: float = 0.0,
) -> Synthesis:
    """What is new in one theme, cited by the theme's paper numbers; extractive when the output fails checks.

    ``items`` are in the theme's order (most central first), numbered ``1..len``.
    """
    if not items:
        return Synthesis("", "none")
    total = len(items)
    if small:
        prompt = load_prompt("brief_synthesis_compact")
        shown = list(items[:SMALL_SYNTH_ITEMS])
        messages = prompt.render(theme=theme, items=[_item(i) for i in shown])
        raw = caller.complete(prompt, messages, max_tokens=SMALL_SYNTH_TOKENS, temperature=temperature)
        return _finish(raw, items, len(shown))  # it saw only these: citing others would be invented
    prompt = load_prompt("brief_synthesis")
    out_tokens = _answer_tokens(context_window)
    budget = prompt_budget(context_window, out_tokens) - count_messages(prompt.render(theme=theme, items=[]))
    parts = []
    for group in _split(items, budget):
        messages = prompt.render(theme=theme, items=[_item(i) for i in group])
        parts.append(caller.complete(prompt, messages, max_tokens=out_tokens, temperature=temperature))
    while len(parts) > 1:  # a theme too big for one call: combine the parts, as many rounds as it takes
        parts = _combine_round(caller, theme, parts, total, context_window, temperature)
    return _finish(parts[0], items, total)


def _answer_tokens(context_window: int) -> int:
    """A synthesis's answer budget: the usual 320 tokens, less in a tiny window so the prompt keeps room."""
    return min(SYNTH_TOKENS, max(64, context_window // 4))


def _combine_round(
    caller: BriefCaller, theme: str, parts: list[str], total: int, context_window: int, temperature: float
) -> list[str]:
    """Merge neighbouring parts that fit one prompt; each part is cut to half the room, so two always fit."""
    combine = load_prompt("brief_combine")
    out_tokens = _answer_tokens(context_window)
    budget = prompt_budget(context_window, out_tokens) - count_messages(combine.render(theme=theme, parts=[]))
    room = max(16, budget // 2 - 8)
    cleaned = [trim_to_tokens(check_citations(p, total).text, room)[0] for p in parts]
    groups: list[list[str]] = [[]]
    used = 0
    for part in cleaned:
        cost = count_tokens(part) + 8
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(part)
        used += cost
    merged = []
    for group in groups:
        if len(group) == 1:
            merged.append(group[0])
            continue
        messages = combine.render(theme=theme, parts=group)
        merged.append(caller.complete(combine, messages, max_tokens=out_tokens, temperature=temperature))
    return merged


def _item(item: SynthItem) -> dict[str, object]:
    tldr = item.tldr.replace("</paper>", "</ paper>")
    return {"n": item.n, "title": item.title.replace("</paper>", "</ paper>"), "tldr": tldr}


def _split(items: Sequence[SynthItem], budget: int) -> list[list[SynthItem]]:
    """Groups of consecutive items whose prompt lines fit ``budget`` tokens (at least one item each)."""
    groups: list[list[SynthItem]] = [[]]
    used = 0
    for item in items:
        cost = count_tokens(item.title) + count_tokens(item.tldr) + 12
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += cost
    return groups


def _finish(raw: str, items: Sequence[SynthItem], citable: int) -> Synthesis:
    """Checked synthesis: citations to ``1..citable`` kept, the rest removed; prose that fails falls back."""
    text = " ".join(raw.split())
    check = check_citations(text, citable)
    own_texts = [f"{item.title} {item.tldr}" for item in items]
    verdict = check_output(check.text, check, abstained=False, sources=own_texts)
    if verdict.ok:
        verdict = _prose(check.text, len(check.cited))
    if verdict.ok:
        return Synthesis(check.text, "generative", check.cited, check.removed)
    return extractive_synthesis(items, note=f"the model's synthesis failed the quality check ({verdict.reason})")


def _prose(text: str, citations: int) -> Verdict:
    """Sentences, not a list of markers: enough words, and not more citations than a reader can follow."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z\-']+", text) if len(w) > 1]
    if len(words) < 10:
        return Verdict(False, "too few words")
    if citations > len(words):
        return Verdict(False, "a list of citations, not a synthesis")
    if text.count("?") > 2 or re.search(r"\[\d+\]\s*:", text):
        return Verdict(False, "not prose")
    return Verdict(True)


def extractive_synthesis(items: Sequence[SynthItem], *, note: str, quote: int = 3) -> Synthesis:
    """No generated synthesis: the TL;DRs of the theme's most central papers, cited."""
    shown = list(items[:quote])
    text = " ".join(f"{_sentence(i.tldr)} [{i.n}]" for i in shown)
    return Synthesis(text, "extractive", [i.n for i in shown], [], note)


def _sentence(text: str) -> str:
    """A quoted TL;DR keeps its closing punctuation, so ``… agents. [1] We …`` still reads as sentences."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


# --- highlights ---------------------------------------------------------------------


def explain_highlights(
    caller: BriefCaller, items: Sequence[dict[str, object]], *, temperature: float = 0.0
) -> dict[int, str]:
    """One checked sentence per highlight (``items`` carry ``n, title, tldr, theme, signal``)."""
    if not items:
        return {}
    prompt = load_prompt("brief_highlights")
    messages = prompt.render(items=list(items))
    text = caller.complete(prompt, messages, max_tokens=48 * len(items) + 16, temperature=temperature)
    out: dict[int, str] = {}
    for n, line in parse_numbered(text, len(items)).items():
        why = " ".join(line.split()).strip("*_ ")
        words = len(why.split())
        if 5 <= words <= 45 and repetition_ratio(why) <= 0.2 and "<" not in why:
            out[n] = why if why.endswith((".", "!", "?")) else why + "."
    return out
