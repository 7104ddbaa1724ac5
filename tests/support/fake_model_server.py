"""A stand-in for the local model server, started by the model service in place of the real one.

The service runs ``python THIS --port P --model M`` when ``PAPERBRIEF_SERVICE_TEST_SERVER``
names this file: it is a real process on a real port, so the service's supervisor,
state file and crash handling are exercised exactly as with llama.cpp; only the model is
fake. ``FAKE_MODEL_MODE`` picks what a chat request does:

* ``ok`` – streams ``FAKE_MODEL_TEXT`` as OpenAI-style server-sent events;
* ``sigill`` / ``sigsegv`` / ``sigkill`` – the process kills itself with that signal, like
  llama.cpp hitting an illegal instruction, a segfault or the OOM killer;
* ``hang`` – never answers (the request's thread sleeps; ``/health`` still answers).

With ``FAKE_MODEL_ONCE=FILE`` it misbehaves only while FILE does not exist (creating it
first), so the restarted process behaves. ``FAKE_MODEL_LOG=FILE`` gets one line per chat
request, ``<pid>`` then the last user message, so tests can see which process answered.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODE = os.environ.get("FAKE_MODEL_MODE", "ok")
TEXT = os.environ.get("FAKE_MODEL_TEXT", "The sources answer this [1].")
ONCE = os.environ.get("FAKE_MODEL_ONCE")
LOG = os.environ.get("FAKE_MODEL_LOG")
_SIGNALS = {"sigill": signal.SIGILL, "sigsegv": signal.SIGSEGV, "sigkill": signal.SIGKILL}


def _mode() -> str:
    if MODE == "ok" or not ONCE:
        return MODE
    marker = Path(ONCE)
    if marker.exists():
        return "ok"
    marker.write_text(str(os.getpid()))
    return MODE


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model = "fake"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, data: object, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json({"status": "ok"})
        elif self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": self.model, "object": "model"}]})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if LOG:
            last = (body.get("messages") or [{}])[-1].get("content", "")
            with open(LOG, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()} {' '.join(str(last).split())[:80]}\n")
        mode = _mode()
        if mode in _SIGNALS:
            os.kill(os.getpid(), _SIGNALS[mode])
            time.sleep(5)
        if mode == "hang":
            time.sleep(3600)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = TEXT.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            self._event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._send(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _event(self, payload: dict[str, Any]) -> None:
        payload = {"id": "fake", "object": "chat.completion.chunk", "model": self.model, **payload}
        self._send(f"data: {json.dumps(payload)}\n\n".encode())

    def _send(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    Handler.model = Path(args.model).stem
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
