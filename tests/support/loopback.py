"""A scripted HTTP server on 127.0.0.1 for tests that need a real socket.

Mock transports cannot show what really breaks a client: a connection dropped
halfway through a body, a server that never answers, a keep-alive connection
the peer closed. This server speaks real HTTP/1.1 from a thread, serves replies
scripted per route (path, optional method and query parameters), can be told to
fail first (``[429 with Retry-After, 503, then 200]``), and logs every request so
tests can assert on count, order, query and headers. It knows nothing about any
one API, so the same server can stand in for Hugging Face, arXiv or an
OpenAI-compatible endpoint (JSON bodies, POST, server-sent events).

    with LoopbackServer() as server:
        server.route("/api/x", Reply.json([]), query={"date": "2024-10-26"},
                     failures=[Reply.error(429, retry_after=1), Reply.error(503)])
        ... call server.url + "/api/x?date=2024-10-26" ...
        assert [r.params["date"] for r in server.requests] == [...]
"""

from __future__ import annotations

import json as jsonlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    ``delay_s`` waits before answering (longer than the client's timeout = a hang);
    ``truncate_to`` announces the full Content-Length, sends only that many body
    bytes and drops the connection (a transfer broken mid-body); ``chunks`` sends
    the body with chunked transfer encoding, ``chunk_delay_s`` apart (streaming).
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate_to: int | None = None
    chunks: tuple[bytes, ...] | None = None
    chunk_delay_s: float = 0.0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        """A JSON body with its content type."""
        body = jsonlib.dumps(data).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, text: str | bytes, status: int = 200, content_type: str = "text/plain",
             headers: Mapping[str, str] | None = None) -> Reply:
        """A text body (Atom XML, HTML, plain) with the given content type."""
        body = text.encode("utf-8") if isinstance(text, str) else text
        return cls(status, body, {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def error(cls, status: int, *, retry_after: str | float | None = None,
              body: str = "") -> Reply:
        """An error status, optionally with ``Retry-After`` (seconds or an HTTP-date string)."""
        headers = {"Content-Type": "text/plain"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return cls(status, (body or f"scripted {status}").encode("utf-8"), headers)

    @classmethod
    def hang(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Say nothing for ``seconds`` (cut short when the server closes), then answer ``then``."""
        base = then or cls.text("late")
        return cls(base.status, base.body, base.headers, delay_s=seconds,
                   truncate_to=base.truncate_to, chunks=base.chunks,
                   chunk_delay_s=base.chunk_delay_s)

    @classmethod
    def disconnect(cls, body: bytes = b"x" * 4096, sent: int = 16, status: int = 200) -> Reply:
        """Headers with Content-Length ``len(body)``, only ``sent`` bytes of it, then close."""
        return cls(status, body, {"Content-Type": "application/octet-stream"}, truncate_to=sent)

    @classmethod
    def sse(cls, events: Iterable[str | Mapping[str, Any]], delay_s: float = 0.0,
            done: bool = True) -> Reply:
        """Server-sent events (``data: ...``), as OpenAI-compatible streaming endpoints send."""
        chunks = [
            f"data: {e if isinstance(e, str) else jsonlib.dumps(e)}\n\n".encode() for e in events
        ]
        if done:
            chunks.append(b"data: [DONE]\n\n")
        return cls(200, b"", {"Content-Type": "text/event-stream"}, chunks=tuple(chunks),
                   chunk_delay_s=delay_s)


@dataclass(frozen=True)
class RecordedRequest:
    """What the server saw: enough to assert on order, parameters, headers and timing."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, first value of each (blank values kept: ``search_query=``)."""
        return {name: values[0] for name, values in self.query.items()}

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


Responder = Callable[[RecordedRequest], Reply]


@dataclass
class Route:
    """A path (and optional method and query subset) with its reply and its failure queue.

    Queued replies are served first, one per request; after that ``reply`` is served
    every time (a ``Reply``, or a function of the request for dynamic answers).
    """

    method: str
    path: str
    query: dict[str, str]
    reply: Reply | Responder
    queue: deque[Reply] = field(default_factory=deque)
    hits: int = 0

    def enqueue(self, *replies: Reply) -> Route:
        """Serve these replies, in order, before the route's normal reply."""
        self.queue.extend(replies)
        return self

    def matches(self, request: RecordedRequest) -> bool:
        if self.method not in ("*", request.method) or self.path != request.path:
            return False
        return all(request.query.get(name) == [value] for name, value in self.query.items())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    loopback: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up is what these tests provoke; keep anything else for the test."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            self.loopback.errors.append(f"handler failed: {exc!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers, so pooled connections are tested
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, stderr noise would only hide test output."""

    def _handle(self) -> None:
        loopback = self.server.loopback
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            received_at=time.monotonic(),
        )
        reply = loopback._dispatch(request)
        try:
            self._send(reply, loopback._closing)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (a timeout): nothing to answer

    def _send(self, reply: Reply, closing: threading.Event) -> None:
        if reply.delay_s and closing.wait(reply.delay_s):
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks is not None:
            self._send_chunked(reply)
            return
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.truncate_to is None:
            self.wfile.write(reply.body)
            return
        self.wfile.write(reply.body[: reply.truncate_to])
        self.wfile.flush()
        self.close_connection = True  # the socket closes with the body still owed

    def _send_chunked(self, reply: Reply) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in reply.chunks or ():
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
            if reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
        self.wfile.write(b"0\r\n\r\n")


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with an ephemeral port; a context manager.

    Unmatched requests get a 404 JSON body naming the request, so a test that
    forgot a route fails with a readable message instead of hanging.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.loopback = self
        self._routes: list[Route] = []
        self._log: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; hanging replies are cut short so closing never waits on them."""
        self._closing.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # addresses -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, no trailing slash: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    # scripting -------------------------------------------------------------------------
    def route(self, path: str, reply: Reply | Responder | None = None, *, method: str = "GET",
              query: Mapping[str, str] | None = None, failures: Iterable[Reply] = ()) -> Route:
        """Answer ``method path`` (when the query holds every ``query`` pair) with ``reply``.

        The most specific route wins (most query pairs); among equals, the latest added,
        so a test can override a default. ``method="*"`` matches any method.
        """
        new = Route(method.upper() if method != "*" else "*", path, dict(query or {}),
                    reply if reply is not None else Reply(), deque(failures))
        with self._lock:
            self._routes.append(new)
        return new

    # the log ---------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _dispatch(self, request: RecordedRequest) -> Reply:
        """Log the request and pick its reply; responders run outside the lock."""
        with self._lock:
            self._log.append(request)
            candidates = [r for r in self._routes if r.matches(request)]
            if not candidates:
                return Reply.json({"error": f"no route for {request.method} {request.path}",
                                   "query": request.query}, status=404)
            best = max(enumerate(candidates), key=lambda pair: (len(pair[1].query), pair[0]))[1]
            best.hits += 1
            if best.queue:
                return best.queue.popleft()
        if isinstance(best.reply, Reply):
            return best.reply
        try:
            return best.reply(request)
        except Exception as exc:  # a responder bug should fail the test, not hang it
            self.errors.append(f"{request.method} {request.path}: {exc!r}")
            return Reply.text(f"responder failed: {exc!r}", status=500)
