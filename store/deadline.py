"""An overall time budget for one operation, shared by its retries and its streaming reads.

Per-read timeouts alone let a server that trickles one byte just inside the limit keep a
caller waiting for ever, and retries multiply them (4 tries x 60 s). A :class:`Deadline`
is started once per operation; every attempt, every read and every backoff sleep asks it
how much time is left, so the whole operation ends within the configured budget.

A per-read timeout cannot end a read at an absolute time, so a :class:`Watchdog` cuts a
streaming response's socket when the deadline passes: the blocked read returns at once,
and the caller, seeing :attr:`Watchdog.fired`, reports a timeout, not a broken connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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



def _socket_of(stream: Any) -> socket.socket | None:
    """The socket under an ``openai`` stream (or an ``httpx.Response``), when httpcore exposes it."""
    response = getattr(stream, "response", stream)
    extensions = getattr(response, "extensions", None) or {}
    network = extensions.get("network_stream")
    if network is None:
        return None
    try:
        sock = network.get_extra_info("socket")
    except Exception:  # an exotic transport: no watchdog, per-read timeouts still apply
        return None
    return sock if isinstance(sock, socket.socket) else None


class Watchdog:
    """Shuts ``stream``'s socket down ``seconds`` after :meth:`arm`, unless re-armed or cancelled."""

    def __init__(self, stream: Any) -> None:
        self._sock = _socket_of(stream)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.fired = False

    def arm(self, seconds: float) -> None:
        """(Re)start the countdown; the previous one, if any, is cancelled."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self._sock is None:
                return
            self._timer = threading.Timer(max(0.0, seconds), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
