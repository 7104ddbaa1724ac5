"""Start-up stays cheap: ``--help`` and light commands never import the heavy libraries.

``openai`` alone costs about a second and ``chromadb`` close to one; a shell loop of
``paperbrief`` calls pays that on every call. Each check runs a fresh interpreter
(``sys.modules`` of this test process is full of everything) and lists what loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("openai", "chromadb", "onnxruntime", "tokenizers", "textual", "sklearn", "langchain_core", "llama_cpp")
#: Not heavy alone, but together about 0.3 s that ``--help`` never needs: the settings (read when a
#: command runs), the HTTP client (a download), Markdown and Pygments (rich help on a terminal only).
HELP_NEVER = ("pydantic_settings", "httpx", "markdown_it", "pygments", "filelock")

_PROBE = """
import contextlib, io, json, sys
from agent.cli.app import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _loaded(args: list[str], data_dir: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PAPERBRIEF_DATA_DIR": str(data_dir)}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [["--help"], ["search", "--help"], ["ask", "--help"], ["brief", "--help"], ["batch", "--help"], ["tui", "--help"]],
)
def test_help_imports_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    loaded = _loaded(args, tmp_path)
    assert "agent" in loaded and "typer" in loaded  # the probe really ran the CLI
    assert not loaded & set(HEAVY), f"`paperbrief {' '.join(args)}` imported {sorted(loaded & set(HEAVY))}"
    assert not loaded & set(HELP_NEVER), f"`paperbrief {' '.join(args)}` imported {sorted(loaded & set(HELP_NEVER))}"


def test_papers_list_touches_only_the_catalog(tmp_path: Path) -> None:
    loaded = _loaded(["papers", "list", "--json"], tmp_path)
    assert "pydantic_settings" in loaded  # the command ran and read its settings
    assert not loaded & {*HEAVY, "bm25s", "numpy"}, sorted(loaded & {*HEAVY, "bm25s", "numpy"})


def test_lexical_only_index_never_opens_chroma_or_the_model(tmp_path: Path) -> None:
    from tests.support.papers_fixture import write_jsonl

    src = write_jsonl(tmp_path / "p.jsonl")
    data = tmp_path / "data"
    ingest = _loaded(["ingest", str(src), "--lexical-only", "--json"], data)
    assert "bm25s" in ingest  # it really indexed
    search = _loaded(["search", "coral reef bleaching", "--json"], data)
    assert "Stemmer" in search  # the query was tokenized for BM25 ...
    assert not search & {"bm25s", "scipy"}  # ... whose saved arrays are read without bm25s and scipy
    dense = {"chromadb", "onnxruntime", "tokenizers", "openai"}
    assert not (ingest | search) & dense, sorted((ingest | search) & dense)
    assert "langchain_core" not in search  # ingest chunks with langchain's splitter; search doesn't


def test_hybrid_search_reads_the_vector_snapshot_not_chroma(tmp_path: Path) -> None:
    from tests.support.papers_fixture import write_jsonl

    src = write_jsonl(tmp_path / "p.jsonl")
    data = tmp_path / "data"
    ingest = _loaded(["ingest", str(src), "--json"], data)
    assert "chromadb" in ingest  # a full ingest wrote the vectors into Chroma ...
    search = _loaded(["search", "coral reef bleaching", "--json"], data)
    assert "onnxruntime" in search  # ... and the search embedded its query (dense ran) ...
    never = {"chromadb", "langchain_core", "openai", "bm25s", "scipy"}
    assert not search & never, sorted(search & never)
