"""A scripted OpenAI-compatible server on 127.0.0.1, for tests that must not touch the network.

It speaks just enough of the API for any client of ``/v1/chat/completions``:
streaming (SSE ``data: {...}`` chunks, an optional final usage chunk, then
``data: [DONE]``, sent with chunked transfer encoding like real servers, so a
dropped connection is detectable) and non-streaming answers, plus ``GET /v1/models``.

Each request takes the next :class:`Reply` from the script (then ``default``, or
whatever ``respond(body)`` returns), so a test states the whole conversation up
front. ``models=None`` makes ``/models`` a 404, like servers without it;
``reject_stream_options=True`` answers 400 to requests asking for usage, like old servers::

    with OpenAIServer(Reply(status=503), Reply(text="hi")) as server:
        llm = OpenAICompatLLM("gpt-test", base_url=server.url, api_key="sk-test")
        ...
        assert len(server.chat_requests) == 2
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does with one chat request.

    * ``status`` other than 200 answers with an OpenAI-style error body (``error``)
      and ``headers`` (e.g. ``{"Retry-After": "2"}``);
    * ``delay_s`` waits before sending anything (longer than the client's timeout = a hang);
    * ``chunks`` are the content pieces streamed (default: ``text`` split after each space);
    * ``disconnect_after`` drops the connection after that many content chunks;
    * ``usage`` sends the final usage chunk when the client asked for it;
      ``prompt_tokens`` / ``completion_tokens`` override the counts it reports;
    """

    text: str = "Hello from the test server."
    status: int = 200
    error: str = "scripted failure"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: list[str] | None = None
    disconnect_after: int | None = None
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    model: str | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        words = self.text.split(" ")
        return [w + " " for w in words[:-1]] + [words[-1]] if self.text else []


@dataclass
class Recorded:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float


class OpenAIServer:
    """The server; use as a context manager (it binds an ephemeral port on enter)."""

    def __init__(
        self,
        *script: Reply,
        default: Reply | None = None,
        respond: Callable[[dict[str, Any]], Reply] | None = None,
        models: Iterable[str] | None = ("gpt-test",),
        reject_stream_options: bool = False,
    ) -> None:
        self.script: deque[Reply] = deque(script)
        self.default = default or Reply()
        self.respond = respond
        self.models = list(models) if models is not None else None
        self.reject_stream_options = reject_stream_options
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL a client takes, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting and inspection --------------------------------------------------

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    @property
    def chat_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if "/chat/completions" in r.path]

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        return self.respond(body) if self.respond else self.default

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logs
        pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    # --- routing -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _route(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def do_GET(self) -> None:
        self.owner._record(Recorded("GET", self.path, self._headers(), None, time.monotonic()))
        if self._route().endswith("/models") and self.owner.models is not None:
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                for m in self.owner.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        self.owner._record(Recorded("POST", self.path, self._headers(), body, time.monotonic()))
        if not self._route().endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if self.owner.reject_stream_options and "stream_options" in body:
            self._error(400, "Unrecognized request argument supplied: stream_options", {})
            return
        reply = self.owner._next_reply(body)
        if reply.delay_s and self.owner.stopping.wait(reply.delay_s):
            return
        if reply.status != 200:
            self._error(reply.status, reply.error, reply.headers, reply.code)
        elif body.get("stream"):
            self._stream(reply, body)
        else:
            self._complete(reply, body)

    # --- responses -----------------------------------------------------------------

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)

    def _error(
        self, status: int, message: str, headers: dict[str, str], code: str | None = None
    ) -> None:
        kind = (
            "rate_limit_exceeded"
            if status == 429
            else "server_error"
            if status >= 500
            else "invalid_request_error"
        )
        self._json(
            status,
            {"error": {"message": message, "type": kind, "param": None, "code": code}},
            headers,
        )

    def _usage(self, reply: Reply, body: dict[str, Any], pieces: list[str]) -> dict[str, int]:
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = sum(
                len(str(m.get("content", "")).split()) + 4 for m in body.get("messages", [])
            )
        completion = reply.completion_tokens if reply.completion_tokens is not None else len(pieces)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _complete(self, reply: Reply, body: dict[str, Any]) -> None:
        pieces = reply.pieces()
        self._json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": reply.model or body.get("model", "gpt-test"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(pieces)},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": self._usage(reply, body, pieces),
            },
        )

    def _chunk(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = f"data: {text}\n\n".encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        model = reply.model or body.get("model", "gpt-test")
        pieces = reply.pieces()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        try:
            self._chunk(event({"role": "assistant", "content": ""}))
            for i, piece in enumerate(pieces):
                if reply.disconnect_after is not None and i >= reply.disconnect_after:
                    self._drop()
                    return
                if reply.chunk_delay_s and self.owner.stopping.wait(reply.chunk_delay_s):
                    return
                self._chunk(event({"content": piece}))
            self._chunk(event({}, reply.finish_reason))
            wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if reply.usage and wants_usage:
                usage_chunk = event({})
                usage_chunk["choices"] = []
                usage_chunk["usage"] = self._usage(reply, body, pieces)
                self._chunk(usage_chunk)
            self._chunk("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        """Cut the connection mid-body, as a crashed server or a broken proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
