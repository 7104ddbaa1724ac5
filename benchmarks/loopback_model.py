"""A slow OpenAI-compatible chat endpoint on 127.0.0.1, the benchmarks' own stand-in for a hosted model.

Benchmarks never import ``tests`` (an import-linter contract says so): the test
suite's scripted server serves assertions about retries, drops and errors, while a
benchmark only needs a model that answers every request after a fixed delay, like
a hosted API under load, so throughput and concurrency can be measured without a
network. It speaks ``GET /v1/models`` and ``POST /v1/chat/completions``, streamed
(SSE with a final usage chunk, then ``[DONE]``) or not. ``respond(body)`` picks the
answer text; the delay is ``delay_s`` plus ``ms_per_token`` per word of it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


class LoopbackModel:
    """The server; a context manager that binds an ephemeral port on enter."""

    def __init__(
        self,
        respond: Responder | str,
        *,
        delay_s: float = 0.0,
        ms_per_token: float = 0.0,
        models: Iterable[str] = ("gpt-bench",),
    ) -> None:
        self.respond: Responder = (lambda _body: respond) if isinstance(respond, str) else respond
        self.delay_s = delay_s
        self.ms_per_token = ms_per_token
        self.models = list(models)
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LoopbackModel:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The base URL a client takes, ending in ``/v1``."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def answer(self, body: dict[str, Any]) -> str | None:
        """The reply text after the simulated latency (None when the server is stopping)."""
        text = self.respond(body)
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delay_s + self.ms_per_token * len(text.split()) / 1000
            if delay and self._stopping.wait(delay):
                return None
        finally:
            with self._lock:
                self.in_flight -= 1
        return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: LoopbackModel

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "bench"} for m in self.owner.models]
            self._json({"object": "list", "data": data})
        else:
            self._json({"error": {"message": f"no route {self.path}", "type": "not_found"}}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        text = self.owner.answer(body)
        if text is None:
            return
        prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in body.get("messages", []))
        usage = {"prompt_tokens": prompt, "completion_tokens": len(text.split()),
                 "total_tokens": prompt + len(text.split())}
        model = body.get("model", "gpt-bench")
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            self._json({"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                        "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
            return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": model, "choices": choices, **extra}

        events: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _pieces(text)]
        events.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(chunk(None, usage=usage))
        events.append("[DONE]")
        with contextlib.suppress(OSError):
            for event in events:
                data = f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n".encode()
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)


def _pieces(text: str) -> list[str]:
    """The text in word-sized stream chunks (each keeps its trailing space)."""
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]] if words else []
