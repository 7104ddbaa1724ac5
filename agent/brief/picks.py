"""What to read first, what is "for you", and a concrete reason for every pick.

A reason a reader can act on names something checkable: the upvotes (and the rank
they give), what the paper adds that nothing in earlier weeks had (its distance
to the nearest earlier paper), which interest or starred paper it matches, or
which themes it bridges. "The most representative paper of X" names none of
these; it is only the last resort, and even then it gives the theme's size and
the paper's closeness to the theme's centre.
"""

from __future__ import annotations

import numpy as np

from agent.brief.types import ForYou, Highlight
from agent.brief.work import Pick, WorkPaper, WorkTheme, paper_url

#: A paper whose nearest earlier-weeks paper is less similar than this is "new ground".
NOVEL_SIM = 0.6
FOR_YOU = 5


def pick_highlights(themes: list[WorkTheme], count: int) -> list[Pick]:
    """The papers to read first: most upvoted when HF upvotes are known, else central and broad.

    At most two per theme, so one busy theme cannot fill the list; without upvotes,
    the best paper of each of the largest themes, scored by centrality plus half its breadth.
    """
    if count <= 0:
        return []
    named = [t for t in themes if not t.is_other] or themes
    picks: list[Pick] = []
    per_theme: dict[int, int] = {}
    voted = sorted(
        ((e, t) for t in themes for e in t.members if e.paper.upvotes is not None),
        key=lambda pair: (-(pair[0].paper.upvotes or 0), -pair[0].centrality, pair[0].paper.id),
    )
    for e, t in voted:
        if len(picks) >= count:
            break
        if per_theme.get(t.key, 0) < 2:
            picks.append(Pick(e, t, "upvotes"))
            per_theme[t.key] = per_theme.get(t.key, 0) + 1
    chosen = {id(p.entry) for p in picks}
    rounds = 0
    while len(picks) < count and rounds < 3:
        for t in named:
            if len(picks) >= count:
                break
            best = max(
                (e for e in t.members if id(e) not in chosen),
                key=lambda e: (e.centrality + 0.5 * e.breadth, e.paper.id),
                default=None,
            )
            if best is not None and per_theme.get(t.key, 0) <= rounds:
                picks.append(Pick(best, t, "centrality"))
                chosen.add(id(best))
                per_theme[t.key] = per_theme.get(t.key, 0) + 1
        rounds += 1
    return picks


def pick_for_you(themes: list[WorkTheme], count: int = FOR_YOU) -> list[Pick]:
    """The papers closest to the reader's interests and stars (only those that match one)."""
    pairs = [(e, t) for t in themes for e in t.members if e.match is not None and e.match.matched]
    pairs.sort(key=lambda pair: (-(pair[0].match.score if pair[0].match else 0.0), pair[0].paper.id))
    return [Pick(e, t, "interest") for e, t in pairs[:count]]


def rank_themes(themes: list[WorkTheme]) -> list[WorkTheme]:
    """Themes the reader cares about first (by their best match), Other always last."""
    def best(t: WorkTheme) -> float:
        return max((e.match.score for e in t.members if e.match is not None and e.match.matched), default=0.0)

    named = sorted((t for t in themes if not t.is_other), key=lambda t: (-best(t), t.key))
    return named + [t for t in themes if t.is_other]


def priority(themes: list[WorkTheme], picks: list[Pick]) -> list[WorkPaper]:
    """Who gets a model TL;DR first when they are capped: highlights, then round-robin by centrality."""
    order = [p.entry for p in picks]
    seen = {id(e) for e in order}
    depth = max((len(t.members) for t in themes), default=0)
    for rank in range(depth):
        for t in themes:
            if rank < len(t.members) and id(t.members[rank]) not in seen:
                order.append(t.members[rank])
                seen.add(id(t.members[rank]))
    return order


def signal_text(pick: Pick) -> str:
    """The ranking signal in words, for the model that may phrase the reason."""
    if pick.signal == "upvotes":
        return f"{pick.entry.paper.upvotes} upvotes on Hugging Face"
    return f"most representative paper of a theme of {len(pick.theme.members)} papers"


def reasons(
    pick: Pick, *, rank: int, themes: list[WorkTheme], bridge: float, earlier: int
) -> list[str]:
    """Every concrete reason this paper was picked (``earlier``: papers of earlier weeks compared with)."""
    e = pick.entry
    out: list[str] = []
    if e.paper.upvotes is not None:
        out.append(f"{e.paper.upvotes} upvotes on Hugging Face (#{rank} this window)")
    if e.novelty is not None and earlier and 1.0 - e.novelty < NOVEL_SIM:
        out.append(
            f"new ground: its nearest paper in the {earlier} of earlier weeks is only "
            f"{1.0 - e.novelty:.2f} similar"
        )
    if e.match is not None and e.match.matched:
        out.append(e.match.why)
    bridged = bridges(e, themes) if e.breadth >= bridge else []
    if bridged:
        out.append("bridges " + " and ".join(f"“{name}”" for name in bridged))
    if e.status == "revised":
        out.append("a revised version of a paper listed before")
    if not out:
        out.append(
            f"the paper closest to the centre of “{pick.theme.name}” ({len(pick.theme.members)} papers, "
            f"similarity {e.centrality:.2f})"
        )
    return out


def bridges(entry: WorkPaper, themes: list[WorkTheme]) -> list[str]:
    """The two other themes whose centres this paper is closest to."""
    others = [t for t in themes if not t.is_other and t.key != entry.label and t.members]
    if not others:
        return []
    x = entry.vector / max(float(np.linalg.norm(entry.vector)), 1e-12)
    scored = []
    for t in others:
        centre = np.mean([m.vector / max(float(np.linalg.norm(m.vector)), 1e-12) for m in t.members], axis=0)
        scored.append((float(x @ centre) / max(float(np.linalg.norm(centre)), 1e-12), t.name))
    scored.sort(reverse=True)
    return [name for _, name in scored[:2]]


def highlight(pick: Pick, why: str | None, parts: list[str]) -> Highlight:
    p = pick.entry.paper
    data_why = "; ".join(parts)
    data_why = data_why[:1].upper() + data_why[1:] + "."
    return Highlight(
        p.id, p.title, paper_url(p), pick.theme.name,
        why or data_why, "model" if why else "data", pick.signal, p.upvotes, parts,
    )


def for_you_entry(pick: Pick) -> ForYou:
    e = pick.entry
    match = e.match
    return ForYou(
        e.paper.id, e.paper.title, paper_url(e.paper), pick.theme.name,
        match.why if match else "", match.score if match else 0.0,
    )
