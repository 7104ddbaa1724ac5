"""Download one GGUF file from the Hugging Face Hub: resumable, verified, atomic.

The Hub's file protocol, as ``huggingface_hub`` speaks it:

* ``HEAD {endpoint}/{repo}/resolve/{revision}/{file}`` (redirects not followed) answers an LFS
  file with a redirect to its CDN plus ``X-Linked-Etag`` (the file's sha256, quoted) and
  ``X-Linked-Size``; a small non-LFS file answers 200 with ``ETag`` and ``Content-Length``;
  a missing repo or file answers 404 (``X-Error-Code``), a gated one 401/403.
* ``GET`` the same URL follows the redirect to the CDN, which honours ``Range: bytes=N-``.

The bytes go to ``<target>.part`` and are hashed as they arrive (a resumed download first
hashes what is already on disk); only a file whose size and sha256 match what the Hub
published is renamed to its final name, atomically. A broken transfer keeps the ``.part`` so
the same command resumes it; a checksum mismatch or a full disk removes it. Nothing here
downloads unless called, and ``huggingface_hub`` itself is not used because its downloader
writes into its own cache layout and reports through tqdm, not to a caller's progress bar.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from filelock import FileLock, Timeout

from agent.errors import ServiceError, UserError

DEFAULT_ENDPOINT = "https://huggingface.co"
#: Seconds without a byte before a transfer counts as stalled (then retried from where it was).
STALL_TIMEOUT_S = 30.0
#: Attempts per pull; each later one resumes from the bytes already on disk.
ATTEMPTS = 3
_CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}

Progress = Callable[[int, int], None]
Notice = Callable[[str], None]


class HubError(ServiceError):
    """The Hub or the disk failed a pull; exit 1."""

    title = "Download failed"
    hint = "run the same `paperbrief models pull` again: it resumes where it stopped"


class HubNotFound(UserError):
    """The repo, revision or file does not exist (or is gated); exit 2."""

    title = "Not on the Hub"
    hint = "check the repo and file names on huggingface.co, or pick one from `paperbrief models pull --help`"


@dataclass(frozen=True)
class RemoteFile:
    """What the Hub publishes about one file before a byte of it is fetched."""

    url: str
    size: int
    sha256: str | None
    etag: str


def file_url(endpoint: str, repo: str, file: str, revision: str = "main") -> str:
    return f"{endpoint.rstrip('/')}/{repo}/resolve/{quote(revision, safe='')}/{quote(file)}"


def _headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": "paperbrief"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def head(client: httpx.Client, url: str, token: str | None, label: str) -> RemoteFile:
    """The file's size and sha256 from a HEAD; relative redirects (renamed repos) are followed."""
    try:
        resp = client.head(url, headers=_headers(token), follow_redirects=False)
        for _ in range(5):
            location = resp.headers.get("location", "")
            if not (resp.is_redirect and location.startswith("/")):
                break
            resp = client.head(resp.url.join(location), headers=_headers(token), follow_redirects=False)
    except httpx.HTTPError as exc:
        raise HubError(f"{label}: the Hub did not answer ({type(exc).__name__}: {exc})") from None
    if resp.status_code in (401, 403, 404):
        code = resp.headers.get("x-error-code") or f"HTTP {resp.status_code}"
        gated = " (gated or private: accept its licence on huggingface.co and set HF_TOKEN)" if (
            resp.status_code in (401, 403) or code == "GatedRepo") else ""
        raise HubNotFound(f"{label}: not found on the Hub ({code}){gated}")
    if resp.status_code >= 400:
        raise HubError(f"{label}: the Hub answered HTTP {resp.status_code}")
    etag = (resp.headers.get("x-linked-etag") or resp.headers.get("etag") or "").strip()
    etag = etag.removeprefix("W/").strip('"')
    size_text = resp.headers.get("x-linked-size") or resp.headers.get("content-length") or ""
    if not size_text.isdigit():
        raise HubError(f"{label}: the Hub did not say how large the file is (no X-Linked-Size)")
    sha = etag.lower() if _SHA256.match(etag.lower()) else None
    return RemoteFile(url=url, size=int(size_text), sha256=sha, etag=etag)


def _hash_existing(part: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    done = 0
    with part.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            done += len(block)
    return digest, done


def _disk_full(exc: OSError, part: Path, label: str) -> HubError:
    part.unlink(missing_ok=True)
    return HubError(
        f"{label}: disk full while writing {part.parent} ({exc.strerror or exc}); "
        "the partial file was removed",
        hint="free some space (or point PAPERBRIEF_DATA_DIR elsewhere), then pull again",
    )


def _transfer(client: httpx.Client, remote: RemoteFile, part: Path, token: str | None,
              label: str, progress: Progress | None, deadline: float) -> hashlib._Hash:
    """Append the missing bytes to ``part``; returns the hash of the whole file so far."""
    digest, done = _hash_existing(part) if part.exists() else (hashlib.sha256(), 0)
    if done > remote.size:
        part.unlink()
        digest, done = hashlib.sha256(), 0
    if done == remote.size:
        return digest
    headers = _headers(token)
    if done:
        headers["Range"] = f"bytes={done}-"
    with client.stream("GET", remote.url, headers=headers, follow_redirects=True) as resp:
        if resp.status_code == 416:  # the Range is past the end: what we have is all there is
            return digest
        if resp.status_code == 404:
            raise HubNotFound(f"{label}: not found on the Hub (HTTP 404 on download)")
        if resp.status_code >= 400:
            raise HubError(f"{label}: the download answered HTTP {resp.status_code}")
        mode = "ab"
        if done and resp.status_code != 206:  # the server ignored the Range: start over
            digest, done, mode = hashlib.sha256(), 0, "wb"
        if progress:
            progress(done, remote.size)
        try:
            with part.open(mode) as fh:
                for block in resp.iter_bytes():  # as it arrives: a break loses nothing read
                    fh.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, remote.size)
                    if time.monotonic() > deadline:
                        raise HubError(f"{label}: the download did not finish in time ({done:,} bytes kept)")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise _disk_full(exc, part, label) from None
            raise HubError(f"{label}: cannot write {part}: {exc.strerror or exc}",
                           hint="check the data dir's permissions (paperbrief doctor)") from None
    return digest


def download(
    repo: str,
    file: str,
    target: Path,
    *,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | None = None,
    progress: Progress | None = None,
    attempts: int = ATTEMPTS,
    stall_timeout_s: float = STALL_TIMEOUT_S,
    retry_wait_s: float = 1.0,
    notice: Notice | None = None,
) -> RemoteFile:
    """Fetch ``repo``/``file`` to ``target``; raises :class:`HubError` / :class:`HubNotFound`.

    A second paperbrief pulling the same file at the same time gets an error instead of
    writing into the same ``.part``. The overall deadline grows with the file (an hour plus
    a second per 256 KiB); a transfer that stalls for ``stall_timeout_s`` is retried, and
    ``notice`` hears one line each time a broken transfer is resumed.
    """
    label = f"{repo}/{file}"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    lock = FileLock(str(target) + ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise HubError(f"{label}: another paperbrief process is downloading it right now",
                       hint="wait for it to finish, then run `paperbrief models list`") from None
    try:
        timeout = httpx.Timeout(stall_timeout_s, connect=min(10.0, stall_timeout_s))
        with httpx.Client(timeout=timeout) as client:
            remote = head(client, file_url(endpoint or DEFAULT_ENDPOINT, repo, file, revision), token, label)
            have = part.stat().st_size if part.exists() else 0
            free = shutil.disk_usage(target.parent).free
            if remote.size - have > free:
                raise HubError(
                    f"{label}: needs {(remote.size - have) / 1e9:.2f} GB but {target.parent} has "
                    f"{free / 1e9:.2f} GB free",
                    hint="free some space (or point PAPERBRIEF_DATA_DIR elsewhere), then pull again",
                )
            deadline = time.monotonic() + 3600 + remote.size / (256 * 1024)
            digest = _fetch_with_retries(client, remote, part, token, label, progress, deadline,
                                         attempts, retry_wait_s, notice)
        _finish(remote, part, target, digest, label)
        return remote
    finally:
        lock.release()  # the empty .lock file stays: deleting it would race a waiting process


def _fetch_with_retries(client: httpx.Client, remote: RemoteFile, part: Path, token: str | None,
                        label: str, progress: Progress | None, deadline: float, attempts: int,
                        retry_wait_s: float, notice: Notice | None) -> hashlib._Hash:
    for attempt in range(1, attempts + 1):
        try:
            return _transfer(client, remote, part, token, label, progress, deadline)
        except httpx.HTTPError as exc:
            kept = part.stat().st_size if part.exists() else 0
            if attempt == attempts:
                raise HubError(
                    f"{label}: the transfer broke at {kept:,} of {remote.size:,} bytes "
                    f"({type(exc).__name__}); the partial file is kept"
                ) from None
            if notice:
                notice(f"the transfer broke at {kept:,} of {remote.size:,} bytes ({type(exc).__name__}); "
                       f"resuming (attempt {attempt + 1} of {attempts})")
            time.sleep(retry_wait_s * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _finish(remote: RemoteFile, part: Path, target: Path, digest: hashlib._Hash, label: str) -> None:
    size = part.stat().st_size
    if size != remote.size:
        part.unlink(missing_ok=True)
        raise HubError(f"{label}: got {size:,} bytes, the Hub says {remote.size:,}; the partial file was removed")
    got = digest.hexdigest()
    if remote.sha256 is not None and got != remote.sha256:
        part.unlink(missing_ok=True)
        raise HubError(
            f"{label}: checksum mismatch (sha256 {got[:12]}…, the Hub publishes {remote.sha256[:12]}…); "
            "the download was removed",
            hint="pull it again; if it keeps failing, the mirror (HF_ENDPOINT) serves a different file",
        )
    os.replace(part, target)
