"""The brief's parts without an index: clustering, TL;DR checks, the cache, escaping, atomic writes."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from agent.brief.cache import BriefCache
from agent.brief.caller import BriefCaller
from agent.brief.reduce import SynthItem, clean_name, synthesize
from agent.brief.render import render_html, render_markdown
from agent.brief.themes import OTHER, assign, cluster_papers, k_range, match_thresholds, theme_keywords
from agent.brief.tldr import check_tldr, extractive_tldr, parse_numbered, plan_batches
from agent.brief.types import Brief, BriefPaper, BriefTheme, Highlight, Provenance, Synthesis, Trends
from agent.brief.weeks import parse_week
from agent.cli.commands.brief import write_atomic
from agent.cli.console import UsageError
from agent.llm.base import ChatMessage, Usage
from agent.llm.budget import count_messages
from agent.prompts import load_prompt
from store.papers import Paper
from tests.support.brief_fake import FakeBriefModel
from tests.support.fake_llm import FakeLLM


def blobs(sizes: list[int], dim: int = 48, spread: float = 0.08, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around random, nearly orthogonal centres: clusters with a known answer."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim))
    rows, truth = [], []
    for i, n in enumerate(sizes):
        rows.append(centres[i] / np.linalg.norm(centres[i]) + rng.normal(scale=spread, size=(n, dim)))
        truth += [i] * n
    x = np.vstack(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array(truth)


def test_clusters_recover_topics_and_send_outliers_to_other() -> None:
    x, truth = blobs([9, 7, 6, 5])
    outlier = np.random.default_rng(1).normal(size=(1, x.shape[1]))
    x = np.vstack([x, outlier / np.linalg.norm(outlier)])
    result = cluster_papers(x)
    assert result.n_themes == 4 and result.labels[-1] == OTHER
    for topic in range(4):  # each topic is exactly one theme, themes numbered by size
        assert set(result.labels[:-1][truth == topic]) == {topic}
    assert len(result.labels) == len(x)  # every paper in exactly one theme
    again = cluster_papers(x)
    assert np.array_equal(again.labels, result.labels)  # deterministic: caches stay valid
    assert max(result.candidates, key=lambda c: c[1])[0] == result.chosen_k


def test_theme_count_range_and_tiny_windows() -> None:
    assert k_range(1000) == (13, 30)
    assert k_range(131)[0] >= 2
    x, _ = blobs([2, 2])
    tiny = cluster_papers(x)
    assert tiny.n_themes == 1 and set(tiny.labels) == {0}  # too few papers to split
    assert cluster_papers(np.zeros((0, 8))).n_themes == 0


def test_previous_papers_are_matched_to_current_themes() -> None:
    x, truth = blobs([40, 40, 40], seed=3)
    current = cluster_papers(x[::2])
    thresholds = match_thresholds(x[::2], current)
    labels = assign(x[1::2], current, thresholds)
    expected = np.array([int(current.labels[np.flatnonzero(truth[::2] == t)[0]]) for t in truth[1::2]])
    matched = labels != OTHER
    assert np.array_equal(labels[matched], expected[matched])  # never counted under the wrong theme
    assert matched.mean() >= 0.9  # the bar sits at the members' own fringe: a few of those miss it
    far = np.random.default_rng(9).normal(size=(1, x.shape[1]))
    assert assign(far, current, thresholds).tolist() == [OTHER]


def test_keywords_are_distinctive_terms() -> None:
    texts = ["surface code qubits and a surface code decoder", "logical qubits of the surface code threshold",
             "coral reef bleaching in the ocean", "coral bleaching under reef heat", "method results model"]
    words = theme_keywords(texts, np.array([0, 0, 1, 1, -1]))
    assert {"surface code", "qubits"} <= set(words[0]) and "coral" in " ".join(words[1])
    assert not {"method", "results", "model"} & set(words[-1])  # generic research words never name a theme


PAPER = Paper(
    id="2501.1",
    title="Speculative Decoding with Tiny Draft Models",
    abstract="Large language model inference is memory bound. We propose a draft model that proposes tokens "
    "the large model verifies in one pass. It speeds up generation 2.8 times with identical outputs.",
)


@pytest.mark.parametrize(
    ("text", "ok", "reason"),
    [
        ("A tiny draft model proposes tokens that the large model verifies, speeding generation 2.8x.", True, ""),
        ("Speculative Decoding with Tiny Draft Models", False, "repeats the title"),
        ("Great.", False, "too short"),
        ("draft tokens draft tokens draft tokens draft tokens draft tokens draft tokens", False, "repetitive"),
        ("Quantum annealers schedule airline crews across continental hubs efficiently.", False, "not grounded"),
    ],
)
def test_tldr_checks(text: str, ok: bool, reason: str) -> None:
    verdict = check_tldr(text, PAPER)
    assert verdict.ok is ok and reason in verdict.reason


def test_extractive_tldr_quotes_the_contribution_sentence() -> None:
    assert extractive_tldr(PAPER).startswith("We propose a draft model")
    long = Paper("x", "T", "We propose " + "very " * 80 + "long things.")
    assert extractive_tldr(long).endswith("…") and len(extractive_tldr(long).split()) <= 46


def test_numbered_lines_and_names() -> None:
    text = "1: first\n[2] second\n3. third\n- 4) fourth\n7: out of range\n1: duplicate"
    assert parse_numbered(text, 5) == {1: "first", 2: "second", 3: "third", 4: "fourth"}
    assert clean_name('2: "Speculative decoding for LLMs".') == "Speculative decoding for LLMs"
    assert clean_name("Other") is None and clean_name("a " * 12) is None and clean_name("<b>x</b>") is None


def test_batches_fit_the_window() -> None:
    prompt = load_prompt("brief_tldr_batch")
    papers = [Paper(f"p{i}", f"Title {i}", "word " * 300) for i in range(25)]
    assert [len(b) for b in plan_batches(papers, prompt, context_window=128_000, batch_size=10)] == [10, 10, 5]
    small = plan_batches(papers, prompt, context_window=1500, batch_size=10)
    assert all(len(b) <= 3 for b in small) and sum(len(b) for b in small) == 25


def test_cache_keys_on_text_model_and_prompt_version(tmp_path: Path) -> None:
    with BriefCache(tmp_path / "c.sqlite3") as cache:
        cache.put_tldrs([("h1", "tldr one", "model")], model="m", prompt="p", version="1")
        assert cache.get_tldrs(["h1", "h2"], model="m", prompt="p", version="1")["h1"].tldr == "tldr one"
        assert cache.get_tldrs(["h1"], model="m", prompt="p", version="2") == {}
        assert cache.get_tldrs(["h1"], model="other", prompt="p", version="1") == {}
    with BriefCache(tmp_path / "c.sqlite3") as reopened:  # survives the process
        assert reopened.counts()["tldrs"] == 1


def test_llm_wall_time_is_the_union_of_calls() -> None:
    caller = BriefCaller(FakeLLM(respond=_never_called), BriefCache(None))
    caller._intervals = [(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]
    assert caller.llm_wall_s() == pytest.approx(4.0)


def _brief_model() -> tuple[FakeLLM, FakeBriefModel]:
    """The fake brief model in-process; the FakeLLM records each prompt's size and answer budget."""
    fake = FakeBriefModel()

    def respond(msgs: list[ChatMessage], max_tokens: int) -> list[str]:
        kind, text = fake.answer(msgs[-1].content)
        fake.kinds[kind] += 1
        return [text]

    return FakeLLM(respond=respond, usage=Usage(10, 10)), fake


def test_a_theme_too_big_for_the_window_is_synthesised_in_parts() -> None:
    llm, fake = _brief_model()
    caller = BriefCaller(llm, BriefCache(None))
    items = [SynthItem(i, f"Draft model study {i}", f"Draft variant {i} speeds up decoding.") for i in range(1, 61)]
    synthesis = synthesize(caller, "Speculative decoding", items, small=False, context_window=900)
    assert fake.kinds["synthesis"] >= 3 and fake.kinds["combine"] >= 1  # map, then reduce the parts
    sizes = [count_messages(c.messages) + c.max_tokens for c in llm.calls]
    assert max(sizes) <= 900  # every call fits the window with its answer
    assert synthesis.mode == "generative" and synthesis.cited and set(synthesis.cited) <= set(range(1, 61))
    assert caller.calls == len(llm.calls)


def _brief(title: str, synthesis: str) -> Brief:
    window = parse_week("2025-W11")
    paper = BriefPaper(1, "2501.1", title, "https://arxiv.org/abs/2501.1", "A | tldr <b>.", "extractive")
    theme = BriefTheme(0, "Theme <i>", "model", ["kw"], [paper], Synthesis(synthesis, "generative", [1]))
    provenance = Provenance(window, 1, 1, "m", "openai", {"brief_synthesis": "1"}, "abc", "t", 1.0, 1, 0,
                            {"model": 0, "extractive": 1, "cached": 0}, 1, 1, 0.0, 0.5, {"method": "x", "k": 1,
                            "other": 0, "embedding_model": "e"})
    highlight = Highlight("2501.1", title, None, "Theme <i>", "Why <script>.", "data", "centrality")
    return Brief(window, [theme], [highlight], Trends(window.previous(), 0, []), provenance)


def test_outputs_escape_paper_and_model_text() -> None:
    brief = _brief("Attack <script>alert(1)</script> | *bold*", "New <img src=x onerror=y> idea [1][7].")
    md = render_markdown(brief)
    assert "<script>" not in md and "\\<script\\>" in md and "\\|" in md and "“A \\| tldr \\<b\\>.”" in md
    html = render_html(brief)
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert '<a href="#theme-1-p1">[1]</a>' in html and "[7]" in html and 'href="#theme-1-p7"' not in html
    assert "<link" not in html and ' src="' not in html  # one self-contained file


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "brief.md"
    target.write_text("old brief")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UsageError, match="cannot write the brief"):
        write_atomic(target, "new brief")
    assert target.read_text() == "old brief"
    assert [p.name for p in tmp_path.iterdir()] == ["brief.md"]  # no temporary file left behind
    monkeypatch.undo()
    write_atomic(target, "new brief")
    assert target.read_text() == "new brief"


def test_window_dates_in_paper_entries() -> None:
    paper = BriefPaper(1, "x", "T", None, "t", "model", (date(2025, 3, 11),))
    assert paper.to_json()["listing_dates"] == ["2025-03-11"]


def _never_called(msgs: list[ChatMessage], max_tokens: int) -> list[str]:
    raise AssertionError("not called")


def test_reduce_calls_are_replayed_from_the_cache_file_and_only_real_calls_are_metered(tmp_path: Path) -> None:
    path = tmp_path / "brief.sqlite3"
    legacy = sqlite3.connect(path)  # a cache written by an older paperbrief: its responses table is dropped
    legacy.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT, output TEXT)")
    legacy.close()
    prompt = load_prompt("brief_theme_name")
    messages = [ChatMessage("user", "Name the theme of: draft models.")]
    llm = FakeLLM(["Speculative decoding"], usage=Usage(10, 3))
    with BriefCache(path) as cache:
        caller = BriefCaller(llm, cache)
        assert caller.complete(prompt, messages, max_tokens=16) == "Speculative decoding"
        assert caller.complete(prompt, messages, max_tokens=16, reuse=False) == "Speculative decoding"
        assert (caller.calls, caller.reused, caller.usage) == (2, 0, Usage(20, 6))
    with BriefCache(path) as reopened:
        warm = BriefCaller(FakeLLM(respond=_never_called), reopened)
        assert warm.complete(prompt, messages, max_tokens=16) == "Speculative decoding"
        assert (warm.calls, warm.reused, warm.usage) == (0, 1, Usage())
        assert reopened.counts()["responses"] == 1
        with pytest.raises(AssertionError):  # another budget is another request: not replayed
            warm.complete(prompt, messages, max_tokens=17)
    assert len(llm.calls) == 2
