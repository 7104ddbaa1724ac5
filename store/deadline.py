"""An overall time budget for one operation, shared by its retries and its streaming reads.

Per-read timeouts alone let a server that trickles one byte just inside the limit keep a
caller waiting for ever, and retries multiply them (4 tries x 60 s). A :class:`Deadline`
is started once per operation; every attempt, every read and every backoff sleep asks it
how much time is left, so the whole operation ends within the configured budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """``total_s`` seconds from creation, measured on a monotonic clock."""

    total_s: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.total_s - self.elapsed())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def cap(self, seconds: float, floor: float = 0.001) -> float:
        """``seconds`` cut to what is left (at least ``floor``, so a timeout is never zero)."""
        return max(floor, min(seconds, self.remaining()))
