"""Offline tiktoken: the stock ``cl100k_base`` loader must never need the network."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from store import tokens
from store.errors import StoreError

REPO = Path(__file__).resolve().parent.parent
HELLO_WORLD_IDS = [15339, 1917]

#: Runs in a fresh interpreter: any socket connect fails loudly, so a download attempt
#: cannot pass by luck (the dead proxies in the env are a second line of defence).
_CHILD = textwrap.dedent(
    """
    import json, os, socket, sys

    def _no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    socket.socket.connect = _no_network
    socket.create_connection = _no_network

    from store.tokens import count_tokens, ensure_offline_tiktoken
    ensure_offline_tiktoken()
    import tiktoken
    ids = tiktoken.get_encoding("cl100k_base").encode("hello world")

    from langchain_text_splitters import RecursiveCharacterTextSplitter
    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name="cl100k_base", chunk_size=20, chunk_overlap=0
    )
    chunks = splitter.split_text("word " * 200)
    print(json.dumps({
        "ids": ids,
        "chunks": len(chunks),
        "count": count_tokens("hello world <|endoftext|>"),
        "cache_dir": os.environ.get("TIKTOKEN_CACHE_DIR"),
    }))
    """
)


@pytest.fixture(autouse=True)
def _private_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process calls must never write into the real per-user cache."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "default-tiktoken-cache"))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)


def _offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", "NO_PROXY", "no_proxy"}
    }
    dead = "http://127.0.0.1:9"
    env.update(
        HTTPS_PROXY=dead,
        HTTP_PROXY=dead,
        https_proxy=dead,
        http_proxy=dead,
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def _run_child(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_offline_encoding_and_langchain_splitter_with_empty_cache_dir(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    out = _run_child(_offline_env(tmp_path, TIKTOKEN_CACHE_DIR=str(cache)))
    assert out["ids"] == HELLO_WORLD_IDS
    assert out["chunks"] >= 10
    assert out["count"] == 2 + len(tokens.encoding().encode_ordinary(" <|endoftext|>"))
    assert out["cache_dir"] == str(cache)
    assert (cache / tokens.cache_file_name()).is_file()


def test_without_a_user_cache_dir_uses_the_per_user_dir_and_exports_it(tmp_path: Path) -> None:
    out = _run_child(_offline_env(tmp_path))
    assert out["ids"] == HELLO_WORLD_IDS
    expected = tmp_path / "xdg-cache" / "paperbrief" / "tiktoken"
    assert out["cache_dir"] == str(expected)
    assert (expected / tokens.cache_file_name()).is_file()


def test_concurrent_first_calls_all_succeed(tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    env = _offline_env(tmp_path, TIKTOKEN_CACHE_DIR=str(cache))
    script = (
        "from store.tokens import ensure_offline_tiktoken, encoding\n"
        "ensure_offline_tiktoken()\n"
        "print(encoding().encode('hello world'))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0]
    assert outputs == [str(HELLO_WORLD_IDS)] * 3
    assert [p.name for p in cache.iterdir()] == [tokens.cache_file_name()]  # no temp files left


def test_cache_file_name_is_tiktokens_key() -> None:
    # tiktoken.load.read_file_cached names the file sha1(blob URL); if tiktoken ever
    # changes the URL it loads, this pins where the change must be followed.
    import tiktoken_ext.openai_public as public

    source = Path(public.__file__).read_text()
    assert tokens.BLOB_URL in source
    assert tokens.EXPECTED_SHA256 in source
    assert tokens.cache_file_name() == hashlib.sha1(tokens.BLOB_URL.encode()).hexdigest()


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process already ensured, so each test sees a first call."""
    monkeypatch.setattr(tokens, "_ready", None)


def test_idempotent_and_leaves_a_good_file_and_other_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    other = cache / "someone-elses-encoding"
    other.write_bytes(b"keep me")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))

    tokens.ensure_offline_tiktoken()
    target = cache / tokens.cache_file_name()
    first = target.stat()

    monkeypatch.setattr(tokens, "_ready", None)  # a new process: must verify, not rewrite
    tokens.ensure_offline_tiktoken()
    tokens.ensure_offline_tiktoken()
    second = target.stat()

    assert (second.st_ino, second.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert other.read_bytes() == b"keep me"
    assert sorted(p.name for p in cache.iterdir()) == sorted([other.name, target.name])


def test_a_corrupt_cached_copy_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None) -> None:
    # tiktoken would delete a copy with the wrong hash and go to the network for it.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    target = tmp_path / tokens.cache_file_name()
    target.write_bytes(b"truncated")
    tokens.ensure_offline_tiktoken()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == tokens.EXPECTED_SHA256


def test_data_gym_cache_dir_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path))
    tokens.ensure_offline_tiktoken()
    assert (tmp_path / tokens.cache_file_name()).is_file()
    assert "TIKTOKEN_CACHE_DIR" not in os.environ


def test_count_tokens_treats_special_tokens_as_text() -> None:
    assert tokens.count_tokens("") == 0
    assert tokens.count_tokens("hello world") == 2
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_unwritable_default_dir_falls_back_to_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir's parent should be")
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setattr(tokens, "_default_cache_dir", lambda: blocker / "tiktoken")
    monkeypatch.setattr(tokens.tempfile, "gettempdir", lambda: str(tmp_path))
    tokens.ensure_offline_tiktoken()
    fallback = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    assert fallback.parent == tmp_path
    assert (fallback / tokens.cache_file_name()).is_file()


def test_unwritable_user_dir_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(StoreError, match="TIKTOKEN_CACHE_DIR"):
        tokens.ensure_offline_tiktoken()
