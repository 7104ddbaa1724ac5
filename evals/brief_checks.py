"""What a weekly brief must get right beyond listing the papers (issue 11's "Checks").

Each check is a metric in ``[0, 1]`` so the gate can compare runs: theme labels are
whole headings, no theme swallows the week, every "Read first" reason names
something checkable, the run-health line is there, and, with the reader's
interests set to one topic, the "For you" picks come from that topic.
"""

from __future__ import annotations

import re
from typing import Any

from agent.brief.labels import valid_label
from agent.brief.themes import BALANCE_MIN_PAPERS, MAX_SHARE
from agent.brief.types import Brief
from evals.cases import Phrase
from evals.metrics import phrase_found, show_phrase

#: A reason is specific when it names a number, an interest or star, a bridge or a novelty.
_SPECIFIC = re.compile(r"\d|your interest|your starred|bridges “|new ground|revised version", re.I)


def brief_checks(brief: Brief, for_you: list[Phrase]) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Metrics and what failed them, for one brief (``for_you``: phrases each pick must match one of)."""
    named = [t for t in brief.themes if not t.is_other]
    bad_labels = [t.name for t in named if not valid_label(t.name)]
    total = len(brief.papers)
    largest = max((len(t.papers) for t in named), default=0)
    share = largest / total if total else 0.0
    # a theme over the share is "justified" only when the clustering kept it whole as one topic
    justified = bool(brief.provenance.clustering.get("justified"))
    balanced = total < BALANCE_MIN_PAPERS or share <= MAX_SHARE + 1e-9 or justified
    vague = [h.why for h in brief.highlights if not _SPECIFIC.search(h.why)]
    health = brief.health is not None and "listed" in brief.health.line()
    metrics: dict[str, float | None] = {
        "brief.labels_whole": 1 - len(bad_labels) / len(named) if named else None,
        "brief.balanced": float(balanced),
        "brief.specific_reasons": 1 - len(vague) / len(brief.highlights) if brief.highlights else None,
        "brief.health_line": float(health),
    }
    missing: dict[str, Any] = {"cut_labels": bad_labels, "vague_reasons": vague}
    if not balanced:
        missing["largest_theme_share"] = round(share, 3)
    if for_you:
        picks = brief.for_you[:5]
        off = [p.title for p in picks if not any(phrase_found(p.title, phrase) for phrase in for_you)]
        metrics["brief.for_you_on_topic"] = (1 - len(off) / len(picks)) if len(picks) == 5 else 0.0
        missing["for_you_off_topic"] = off + ([] if len(picks) == 5 else [f"only {len(picks)} picks"])
        missing["for_you_expected"] = [show_phrase(p) for p in for_you]
    return metrics, missing
