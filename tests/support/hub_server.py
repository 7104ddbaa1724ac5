"""A loopback server speaking the Hugging Face Hub's file protocol, for `models pull` tests.

What the real Hub does, and so what this server does:

* ``HEAD /{repo}/resolve/{revision}/{file}`` for an LFS file answers ``302`` to the CDN with
  ``X-Linked-Etag: "<sha256>"`` and ``X-Linked-Size``; a missing file answers ``404`` with
  ``X-Error-Code: EntryNotFound``;
* ``GET`` on the same path redirects (302) to ``/cdn/{sha256}``, which serves the bytes and
  honours ``Range: bytes=N-`` with ``206 Partial Content``.

Tests can make the CDN break a transfer (send ``cut_after`` bytes then drop the connection,
for the first ``cuts`` GETs), advertise a wrong sha256, or fail every GET. Every request is
logged (method, path, Range header) so tests can assert that a resume asked for the rest.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HubFile:
    """One file in one repo, with the ways the test wants its download to go wrong."""

    content: bytes
    advertised_sha256: str | None = None  # None: the true sha256
    cut_after: int | None = None  # bytes the CDN sends before dropping the connection
    cuts: int = 0  # how many GETs are cut that way
    gets: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class HubLog:
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HubHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet; the request log is the record."""

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        hub = self.server.hub
        hub.log.requests.append((self.command, self.path, self.headers.get("Range")))
        if self.path.startswith("/cdn/"):
            self._cdn(self.path.removeprefix("/cdn/"), head)
            return
        found = hub.lookup(self.path)
        if found is None:
            self._reply(404, b"Entry not found", {"X-Error-Code": "EntryNotFound"}, head)
            return
        sha = found.advertised_sha256 or found.sha256
        self._reply(302, b"", {
            "Location": f"{hub.url}/cdn/{found.sha256}",
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(found.content)),
            "ETag": '"not-the-sha"',
        }, head)

    def _cdn(self, sha: str, head: bool) -> None:
        found = self.server.hub.by_sha(sha)
        if found is None:
            self._reply(404, b"no such blob", {}, head)
            return
        if head:
            self._reply(200, b"", {"Content-Length": str(len(found.content))}, True)
            return
        found.gets += 1
        start = 0
        status = 200
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[len("bytes="):-1])
            if start >= len(found.content):
                self._reply(416, b"", {"Content-Range": f"bytes */{len(found.content)}"}, False)
                return
            status = 206
        body = found.content[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(found.content) - 1}/{len(found.content)}")
        self.end_headers()
        if found.cuts > 0 and found.cut_after is not None:
            found.cuts -= 1
            self.wfile.write(body[: found.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _reply(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)


class _HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    hub: FakeHub


class FakeHub:
    """``with FakeHub() as hub: hub.add("org/repo", "m.gguf", data); ... HF_ENDPOINT=hub.url``."""

    def __init__(self) -> None:
        self._httpd = _HubHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.hub = self
        self.files: dict[str, HubFile] = {}
        self.log = HubLog()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, repo: str, file: str, content: bytes, revision: str = "main", **how: Any) -> HubFile:
        entry = HubFile(content, **how)
        self.files[f"/{repo}/resolve/{revision}/{file}"] = entry
        return entry

    def lookup(self, path: str) -> HubFile | None:
        return self.files.get(path)

    def by_sha(self, sha: str) -> HubFile | None:
        return next((f for f in self.files.values() if f.sha256 == sha), None)

    def gets_to_cdn(self) -> list[str | None]:
        """The Range header of every CDN GET, in order (None: the whole file)."""
        return [rng for method, path, rng in self.log.requests if method == "GET" and path.startswith("/cdn/")]

    def __enter__(self) -> FakeHub:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
