"""A timer that cuts a streaming HTTP response's socket when its deadline passes.

httpx's read timeout is fixed per response and applies to each socket read, so a server
that sends one word every few seconds never trips it. The only way to end a blocked read
at an absolute time is to shut the socket down from another thread: the read then
returns at once, and the caller, seeing :attr:`Watchdog.fired`, reports a timeout rather
than a broken connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


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
