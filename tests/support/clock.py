"""A fake monotonic clock for rate-limit and backoff tests: time passes only when code sleeps on it."""

from __future__ import annotations


class FakeClock:
    """Call it for the time; pass ``sleep`` as the sleeper. ``sleeps`` records every wait asked for."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
