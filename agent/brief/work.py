"""The brief's working records: a window paper and a theme on their way through the stages.

Kept apart from :mod:`agent.brief.types` (the finished brief every output renders)
because these hold numpy vectors and half-filled fields no output should see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from agent.brief.themes import OTHER
from agent.brief.tldr import Tldr
from agent.brief.types import PaperStatus, Synthesis
from store.affinity import Match
from store.papers import Paper

ARXIV_ABS = "https://arxiv.org/abs/"


def paper_url(paper: Paper) -> str | None:
    if paper.url:
        return paper.url
    return ARXIV_ABS + paper.arxiv_id if paper.arxiv_id else None


@dataclass(eq=False)
class WorkPaper:
    """A window paper on its way through the stages."""

    paper: Paper
    vector: np.ndarray
    label: int = OTHER
    centrality: float = 0.0
    breadth: float = 0.0
    tldr: Tldr | None = None
    cached: bool = False
    status: PaperStatus = "new"
    match: Match | None = None  # against the reader's interests and stars, when they set any
    novelty: float | None = None  # 1 - cosine to the nearest paper of earlier weeks (None: none indexed)


@dataclass(eq=False)
class WorkTheme:
    key: int
    members: list[WorkPaper]
    keywords: list[str]
    phrases: list[str] = field(default_factory=list)
    name: str = ""
    name_source: Literal["model", "keywords", "fixed"] = "keywords"
    synthesis: Synthesis = field(default_factory=lambda: Synthesis("", "none"))

    @property
    def is_other(self) -> bool:
        return self.key == OTHER


@dataclass(frozen=True)
class Pick:
    entry: WorkPaper
    theme: WorkTheme
    signal: Literal["upvotes", "centrality", "interest"]
