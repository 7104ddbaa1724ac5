"""The model service's own processes: ``python -m agent.llm.service.main supervise|serve ...``.

``supervise`` is a small process that starts the real server, waits until it answers,
reports the port, then waits on it: when the server dies it records how (signal or exit
code, in ``last_exit.json``) and removes the state file, so a later paperbrief process can
say "the model process crashed with SIGILL" instead of "connection refused".

``serve`` is the server: llama-cpp-python's OpenAI-compatible app, built in-process so we
can add a ``/health`` route that never waits for the model lock and an idle watchdog that
stops the server once no request has been in flight for ``--idle-timeout`` seconds. It
runs llama.cpp with ``OMP_WAIT_POLICY=passive`` (set by the supervisor) so idle OpenMP
threads sleep instead of spinning, and with ``interrupt_requests`` off so requests from
many processes queue instead of cancelling each other.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.llm.service.state import HOST, ServicePaths, clear_state, record_exit

#: Test-only: a script started in place of the real server (``SCRIPT --port P --model M``).
TEST_SERVER_ENV = "PAPERBRIEF_SERVICE_TEST_SERVER"
_POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def health(port: int, timeout_s: float = 1.0) -> bool:
    """True when the server on ``port`` answers ``GET /health`` with 200."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=timeout_s) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    override = os.environ.get(TEST_SERVER_ENV)
    if override:
        return [sys.executable, override, "--port", str(port), "--model", str(args.model)]
    return [
        sys.executable, "-m", "agent.llm.service.main", "serve",
        "--model", str(args.model), "--port", str(port), "--n-ctx", str(args.n_ctx),
        "--threads", str(args.threads), "--idle-timeout", str(args.idle_timeout),
    ]


def supervise(args: argparse.Namespace, on_ready: Callable[[int, int], None]) -> int:
    """Run the server until it exits; ``on_ready(pid, port)`` once it answers. Returns its exit status."""
    paths = ServicePaths(Path(args.data_dir))
    paths.ensure()
    # no core dumps: a crashed model process would spend seconds writing gigabytes, while
    # its callers wait to learn that it died (the exit record says how)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    port = free_port()
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    with paths.log.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {args.model} on port {port}\n".encode())
        log.flush()
        child = subprocess.Popen(
            server_command(args, port), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
        )
    stopping = False

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    deadline = time.monotonic() + args.start_timeout
    ready = False
    while child.poll() is None and time.monotonic() < deadline and not stopping:
        if health(port, timeout_s=0.5):
            ready = True
            break
        time.sleep(_POLL_S)
    if not ready and child.poll() is None:
        child.kill()
    if ready:
        on_ready(child.pid, port)
    rc = child.wait()
    # SIGTERM/SIGINT come from `stop`, Ctrl+C or us (uvicorn re-raises them after a clean shutdown)
    if rc not in (0, -signal.SIGTERM, -signal.SIGINT):
        record_exit(paths, pid=child.pid, model=str(args.model), returncode=rc)
    _clear(paths, child.pid)
    return rc


def _clear(paths: ServicePaths, pid: int) -> None:
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(paths.lock), timeout=5):
            clear_state(paths, pid)
    except Timeout:  # a starter holds the lock for long; the file is stale either way
        clear_state(paths, pid)


def _report_ready(pid: int, port: int) -> None:
    """Daemon mode: tell the starting process the pid and port, then detach stdout."""
    sys.stdout.write(json.dumps({"pid": pid, "port": port}) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


class Activity:
    """Counts requests in flight and remembers the last one, for the idle watchdog (pure ASGI)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight = 0
        self.last = time.monotonic()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") == "/health":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.last = time.monotonic()

    def idle_for(self) -> float:
        with self._lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last


def serve(args: argparse.Namespace) -> int:
    """The server itself (the supervisor's child): load the model, serve until idle or told to stop."""
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = Path(args.model)
    app = create_app(
        server_settings=ServerSettings(host=HOST, port=args.port, interrupt_requests=False),
        model_settings=[
            ModelSettings(
                model=str(model), model_alias=model.stem, n_ctx=args.n_ctx,
                n_threads=args.threads, n_threads_batch=args.threads, verbose=False,
            )
        ],
    )

    @app.get("/health", include_in_schema=False)
    def _health() -> dict[str, str]:
        return {"status": "ok", "model": model.stem}

    activity = Activity(app)
    server = uvicorn.Server(
        uvicorn.Config(activity, host=HOST, port=args.port, log_level="warning", access_log=False)
    )
    if args.idle_timeout > 0:

        def watchdog() -> None:
            while not server.should_exit:
                if activity.idle_for() >= args.idle_timeout:
                    print(f"idle for {args.idle_timeout:g}s: stopping", file=sys.stderr, flush=True)
                    server.should_exit = True
                    return
                time.sleep(min(1.0, max(0.05, args.idle_timeout / 10)))

        threading.Thread(target=watchdog, daemon=True, name="idle-watchdog").start()
    server.run()
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agent.llm.service.main")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("supervise", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True)
        p.add_argument("--n-ctx", type=int, default=4096)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--idle-timeout", type=float, default=600.0)
        if name == "supervise":
            p.add_argument("--data-dir", required=True)
            p.add_argument("--start-timeout", type=float, default=120.0)
        else:
            p.add_argument("--port", type=int, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "serve":
        return serve(args)
    rc = supervise(args, _report_ready)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
