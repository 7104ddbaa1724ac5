"""`paperbrief models pull|list|use` against a loopback server speaking the Hub's file protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm import hub, registry
from agent.llm.factory import make_llm
from agent.llm.local import default_gguf
from agent.settings import load_settings
from tests.conftest import REPO
from tests.support.cli import run
from tests.support.hub_server import FakeHub

REPO_ID = "test-org/Tiny-GGUF"
FILE = "tiny-q4_k_m.gguf"
#: A GGUF header then pseudo-random bytes: enough to check magic, size and sha256.
CONTENT = b"GGUF" + bytes((i * 7919 + 13) % 251 for i in range(300_000))


def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "models"


def leftovers(tmp_path: Path) -> list[str]:
    root = models_dir(tmp_path)
    # lock files are empty and stay (deleting one races another process); they are not models
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock")) if root.is_dir() else []


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_pull_list_use_and_the_factory_picks_it(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.add(REPO_ID, FILE, CONTENT)
    code, _, err = run(["models", "pull", REPO_ID, FILE], capsys)
    assert code == 0, err
    assert "sha256 verified" in err
    target = models_dir(tmp_path) / FILE
    assert target.read_bytes() == CONTENT
    assert leftovers(tmp_path) == [FILE, FILE + ".json"]  # no .part left behind
    assert json.loads((models_dir(tmp_path) / (FILE + ".json")).read_text())["repo"] == REPO_ID
    # the HEAD was not followed to the CDN; the GET was, without a Range
    assert [m for m, p, _ in fake_hub.log.requests if not p.startswith("/cdn/")] == ["HEAD", "GET"]
    assert fake_hub.gets_to_cdn() == [None]

    code, out, _ = run(["models", "list", "--json"], capsys)
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows[FILE]["repo"] == REPO_ID and not rows[FILE]["in_use"]
    assert rows[default_gguf().name]["in_use"] and rows[default_gguf().name]["packaged"]

    assert make_llm(load_settings()).path == default_gguf()  # type: ignore[attr-defined]
    code, _, err = run(["models", "use", "tiny-q4_k_m"], capsys)
    assert code == 0, err
    llm = make_llm(load_settings())
    assert llm.path == target  # type: ignore[attr-defined]  # the service or in-process model, on that file
    code, out, _ = run(["models", "list", "--json"], capsys)
    assert [r["name"] for r in json.loads(out) if r["in_use"]] == [FILE]

    # PAPERBRIEF_GGUF still wins; `use default` goes back to the packaged model
    os.environ["PAPERBRIEF_GGUF"] = str(default_gguf())
    try:
        assert make_llm(load_settings()).path == default_gguf()  # type: ignore[attr-defined]
    finally:
        del os.environ["PAPERBRIEF_GGUF"]
    assert run(["models", "use", "default"], capsys)[0] == 0
    assert registry.chosen_gguf(tmp_path / "data") is None

    # pulling again downloads nothing
    fake_hub.log.requests.clear()
    code, _, err = run(["models", "pull", REPO_ID, FILE], capsys)
    assert code == 0 and "already pulled" in err and fake_hub.log.requests == []


def test_pull_a_curated_name_and_use_it_at_once(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    curated = registry.CURATED["qwen2.5-1.5b-instruct"]
    fake_hub.add(curated.repo, curated.file, CONTENT)
    code, _, err = run(["models", "pull", "Qwen2.5-1.5B-Instruct", "--use"], capsys)
    assert code == 0, err
    assert registry.chosen_gguf(tmp_path / "data") == models_dir(tmp_path) / curated.file
    assert run(["models", "use", "qwen2.5-1.5b-instruct"], capsys)[0] == 0  # by its curated name too


def test_use_unknown_model_and_bad_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["models", "use", "nope"], capsys)
    assert code == 2 and "'nope' is not in" in err
    code, _, err = run(["models", "pull", "not-a-curated-name"], capsys)
    assert code == 2 and "qwen2.5-1.5b-instruct" in err
    code, _, err = run(["models", "pull", "owner/repo", "weights.bin"], capsys)
    assert code == 2 and "expected REPO" in err
    assert leftovers(tmp_path) == []


def test_checksum_mismatch_removes_the_download(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.add(REPO_ID, FILE, CONTENT, advertised_sha256="0" * 64)
    code, _, err = run(["models", "pull", REPO_ID, FILE], capsys)
    assert code == 1
    assert "checksum mismatch" in err and "the download was removed" in err
    assert len(err.strip().splitlines()) == 1, err
    assert leftovers(tmp_path) == []


def test_a_broken_transfer_resumes_with_a_range_request(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.add(REPO_ID, FILE, CONTENT, cut_after=100_000, cuts=1)
    code, _, err = run(["models", "pull", REPO_ID, FILE], capsys)
    assert code == 0, err
    assert "broke at 100,000 of 300,004 bytes" in err and "resuming (attempt 2 of 3)" in err
    assert fake_hub.gets_to_cdn() == [None, "bytes=100000-"]
    assert (models_dir(tmp_path) / FILE).read_bytes() == CONTENT


def test_gives_up_keeping_the_part_then_the_next_pull_resumes(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add(REPO_ID, FILE, CONTENT, cut_after=50_000, cuts=3)
    target = models_dir(tmp_path) / FILE
    with pytest.raises(hub.HubError, match=r"broke at 150,000 of 300,004 bytes .* the partial file is kept"):
        hub.download(REPO_ID, FILE, target, endpoint=fake_hub.url, attempts=3, retry_wait_s=0)
    assert not target.exists()
    assert (target.parent / (FILE + ".part")).stat().st_size == 150_000
    hub.download(REPO_ID, FILE, target, endpoint=fake_hub.url, attempts=1)
    assert fake_hub.gets_to_cdn()[-1] == "bytes=150000-"
    assert target.read_bytes() == CONTENT
    assert leftovers(tmp_path) == [FILE]


def test_missing_file_is_a_one_line_user_error(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["models", "pull", REPO_ID, "missing.gguf"], capsys)
    assert code == 2
    assert "not found on the Hub (EntryNotFound)" in err and len(err.strip().splitlines()) == 1
    assert leftovers(tmp_path) == []


def test_unreachable_hub_is_a_service_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    code, _, err = run(["models", "pull", REPO_ID, FILE], capsys)
    assert code == 1 and "the Hub did not answer" in err
    assert leftovers(tmp_path) == []


def test_disk_full_ends_in_one_line_and_no_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    """RLIMIT_FSIZE in a child process: writes past 64 KiB fail with EFBIG, as on a full disk."""
    fake_hub.add(REPO_ID, FILE, CONTENT)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "from agent.cli.app import main\n"
        f"main(['models', 'pull', {REPO_ID!r}, {FILE!r}])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_ENDPOINT": fake_hub.url}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "disk full" in lines[0] and "partial file was removed" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert leftovers(tmp_path) == []
