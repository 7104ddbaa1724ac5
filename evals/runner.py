"""Run case files through the real agent code and score them: ``paperbrief eval run``.

For each suite: build or reuse its index (``evals.corpus``), resolve every expected
paper before any model call (a case naming a paper the index lacks is an error, not a
zero), then answer each case with the module for its kind (``evals.kinds.ask`` / ``compare`` / ``brief``,
each running the real pipeline) through a cached, logged model, score it (``evals.metrics``), calibrate the
groundedness threshold on the suite's own cases, and aggregate. The results are one
JSON document (``results.json``) that ``evals.compare`` can diff and ``accept`` can
commit, and a Markdown report (``evals.report``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.ask.pipeline import Strategy
from agent.llm.calllog import LoggedLLM
from agent.prompts import PromptRef
from agent.runtime import build_llm
from agent.settings import Settings
from evals.cache import CachedLLM, ResponseCache
from evals.cases import AskCase, CaseFile, CompareCase, load_case_files
from evals.corpus import open_suite_index, resolve_papers
from evals.kinds.ask import ask_case, retrieval_case, score_groundedness
from evals.kinds.brief import BRIEF_MODEL_TLDRS, brief_case
from evals.kinds.common import Case, CaseRecord, Suite
from evals.kinds.compare import compare_case
from evals.metrics import aggregate, counts
from store.index import Index
from store.papers import Paper

__all__ = ["BRIEF_MODEL_TLDRS", "RunOptions", "Runner", "dump_results", "write_results"]

SCHEMA = 1


@dataclass
class RunOptions:
    """What ``paperbrief eval run`` was asked to do."""

    cases: str = "evals/cases/*.yaml"
    out: Path = Path("eval-run")
    cache_dir: Path = Path(".eval-cache")
    model: str | None = None
    shared: Path | None = None
    prompts_dir: Path | None = None
    judge_model: str | None = None
    use_cache: bool = True
    baselines: Path | None = Path("evals/baselines")
    #: how ask cases are answered (``AskOptions.strategy``): single-prompt replays today's behaviour
    strategy: Strategy = "auto"


Progress = Callable[[str, int, int], None]


def _noop_progress(label: str, done: int, total: int) -> None:
    return None


def _noop_status(message: str) -> None:
    return None


@dataclass
class _Prepared:
    spec: CaseFile
    index: Index
    resolved: dict[str, list[tuple[str, str]]]
    grades: dict[str, dict[str, int]]


class Runner:
    """One evaluation run; :meth:`run` returns the results document."""

    def __init__(
        self,
        settings: Settings,
        options: RunOptions,
        *,
        on_progress: Progress = _noop_progress,
        on_status: Callable[[str], None] = _noop_status,
        on_warning: Callable[[str], None] = _noop_status,
    ) -> None:
        self.settings = settings
        self.options = options
        self.on_progress = on_progress
        self.on_status = on_status
        self.on_warning = on_warning
        self.cache = ResponseCache(options.cache_dir / "responses.sqlite3")
        self._llm: CachedLLM | None = None
        self._judge: CachedLLM | None = None
        self.prompts: dict[str, PromptRef] = {}

    # --- models --------------------------------------------------------------------------

    def _cached(self, model: str | None) -> CachedLLM:
        llm = build_llm(self.settings, model)
        assert isinstance(llm, LoggedLLM)
        return CachedLLM(llm, self.cache, enabled=self.options.use_cache)

    @property
    def llm(self) -> CachedLLM:
        if self._llm is None:
            self._llm = self._cached(self.options.model)
        return self._llm

    @property
    def prompts_dir(self) -> Path | None:
        return self.options.prompts_dir

    @property
    def strategy(self) -> Strategy:
        return self.options.strategy

    @property
    def judge_llm(self) -> CachedLLM | None:
        if self.options.judge_model and self._judge is None:
            self._judge = self._cached(self.options.judge_model)
        return self._judge

    def seed_cache(self) -> int:
        """Load the responses recorded in committed baselines into the cache (see ``evals.cache``)."""
        folder = self.options.baselines
        if not self.options.use_cache or folder is None or not folder.is_dir():
            return 0
        added = 0
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                added += self.cache.seed(data.get("responses") or {})
            except (OSError, ValueError, KeyError, TypeError):
                self.on_warning(f"{path} is not a readable baseline; not used to seed the cache")
        return added

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        specs = load_case_files(self.options.cases)
        started = time.perf_counter()
        seeded = self.seed_cache()
        suites: dict[str, Any] = {}
        prepared: list[_Prepared] = []
        try:
            # every suite's index and expected papers first: a bad case fails the run before any model call
            for spec in specs:
                if not spec.skip:
                    prepared.append(self._prepare(spec))
            for spec in specs:
                if spec.skip:
                    suites[spec.suite] = _skipped_suite(spec)
            for item in prepared:
                suites[item.spec.suite] = self._run_suite(item)
        finally:
            for item in prepared:
                item.index.close()
        suites = {spec.suite: suites[spec.suite] for spec in specs}
        used = list(self._llm.used) if self._llm else []
        used += list(self._judge.used) if self._judge else []
        hits = sum(s.get("cache", {}).get("hits", 0) for s in suites.values())
        misses = sum(s.get("cache", {}).get("misses", 0) for s in suites.values())
        return {
            "schema": SCHEMA,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": self._llm.name if self._llm else "none (retrieval only)",
            "judge_model": self._judge.name if self._judge else None,
            "prompt_set": "+".join(sorted(self.prompts)) or "none",
            "prompts": {n: {"version": r.version, "hash": r.hash} for n, r in sorted(self.prompts.items())},
            "prompts_dir": str(self.options.prompts_dir) if self.options.prompts_dir else None,
            "cases_glob": self.options.cases,
            "settings": {**_settings_snapshot(self.settings), "strategy": self.options.strategy},
            "cache": {"hits": hits, "misses": misses, "seeded": seeded, "enabled": self.options.use_cache},
            "seconds": round(time.perf_counter() - started, 1),
            "suites": suites,
            "responses": self.cache.export(used),
        }

    def _prepare(self, spec: CaseFile) -> _Prepared:
        """The suite's cases (generated ones built now), its index, and every expected paper resolved."""
        grades: dict[str, dict[str, int]] = {}
        papers = None
        if spec.generate is not None:
            from evals.generate import generate

            made = generate(spec, self.options.shared)
            spec = spec.model_copy(update={"cases": made.cases})
            grades = made.grades

            def papers() -> list[Paper]:
                return made.papers

        index = open_suite_index(
            spec, self.settings, self.options.cache_dir, shared=self.options.shared, papers=papers,
            on_status=self.on_status,
        )
        try:
            resolved = self._resolve(spec, index)
        except BaseException:
            index.close()
            raise
        return _Prepared(spec, index, resolved, grades)

    def _run_suite(self, item: _Prepared) -> dict[str, Any]:
        spec, index, resolved, grades = item.spec, item.index, item.resolved, item.grades
        suite = Suite(spec, index)
        total = len(spec.cases)
        cache_hits = cache_misses = 0
        for i, case in enumerate(spec.cases):
            self.on_progress(spec.suite, i, total)
            if spec.retrieval_only:
                assert isinstance(case, AskCase)
                record = retrieval_case(spec, case, index, resolved[case.id], grades.get(case.id))
            else:
                record = self._run_case(suite, case, resolved[case.id])
                stats = self.llm.take_stats() if self._llm else None
                if stats is not None:
                    record["cache"] = {"hits": stats.hits, "misses": stats.misses}
                    latency = record["metrics"].get("latency_ms")
                    if latency is not None:  # a replayed call counts what it cost when recorded
                        record["metrics"]["latency_ms"] = latency + stats.replayed_ms
                    cache_hits, cache_misses = cache_hits + stats.hits, cache_misses + stats.misses
            suite.records.append(record)
        self.on_progress(spec.suite, total, total)
        calibration = score_groundedness(self, suite, resolved) if not spec.retrieval_only else None
        metrics = [r["metrics"] for r in suite.records if not r.get("skipped")]
        return {
            "file": spec.path,
            "description": spec.description,
            "retrieval_only": spec.retrieval_only,
            "k": spec.k,
            "skipped": None,
            "tolerances": dict(spec.tolerances),
            "calibration": calibration,
            "metrics": aggregate(metrics),
            "counts": counts(metrics),
            "cache": {"hits": cache_hits, "misses": cache_misses},
            "cases": suite.records,
        }

    def _resolve(self, spec: CaseFile, index: Index) -> dict[str, list[tuple[str, str]]]:
        """Every case's expected papers as (id, title); any unknown one fails the run before it starts."""
        out: dict[str, list[tuple[str, str]]] = {}
        for case in spec.cases:
            where = f"{spec.path}: case {case.id}"
            if isinstance(case, AskCase):
                out[case.id] = resolve_papers(index, case.expect, where=where)
            elif isinstance(case, CompareCase):
                out[case.id] = resolve_papers(index, [p.paper for p in case.papers], where=where)
            else:
                out[case.id] = resolve_papers(index, case.papers, where=where)
        return out

    def _run_case(self, suite: Suite, case: Case, expected: list[tuple[str, str]]) -> CaseRecord:
        if isinstance(case, AskCase):
            return ask_case(self, suite, case, expected)
        if isinstance(case, CompareCase):
            return compare_case(self, suite, case, expected)
        return brief_case(self, suite, case, expected)

# --- helpers --------------------------------------------------------------------------------------


def _skipped_suite(spec: CaseFile) -> dict[str, Any]:
    return {
        "file": spec.path,
        "description": spec.description,
        "retrieval_only": spec.retrieval_only,
        "k": spec.k,
        "skipped": spec.skip,
        "tolerances": dict(spec.tolerances),
        "calibration": None,
        "metrics": {},
        "counts": {},
        "cache": {"hits": 0, "misses": 0},
        "cases": [],
    }


def _settings_snapshot(settings: Settings) -> dict[str, Any]:
    cfg = settings.store_config()
    return {
        "fusion": cfg.retrieval.fusion,
        "bm25_weight": cfg.retrieval.bm25_weight,
        "dense_weight": cfg.retrieval.dense_weight,
        "rrf_k": cfg.retrieval.rrf_k,
        "candidates": cfg.retrieval.candidates,
        "chunk_size": cfg.chunk_size,
        "chunk_overlap": cfg.chunk_overlap,
        "embedding": cfg.embedding.model_id,
        "abstain_threshold": settings.retrieval.abstain_threshold,
        "max_answer_tokens": settings.llm.max_answer_tokens,
    }


def dump_results(results: dict[str, Any]) -> str:
    """JSON for people and diffs: indented, except one line per recorded response (they are bulky)."""
    body = {k: v for k, v in results.items() if k != "responses"}
    text = json.dumps(body, ensure_ascii=False, indent=1)
    responses = results.get("responses") or {}
    lines = ",\n".join(
        f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}" for k, v in responses.items()
    )
    block = '"responses": {\n' + lines + "\n }" if responses else '"responses": {}'
    return text[:-2] + ",\n " + block + "\n}\n"


def write_results(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``results.json`` and ``report.md`` under ``out``."""
    from evals.report import render_report

    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.write_text(dump_results(results), encoding="utf-8")
    report_path = out / "report.md"
    report_path.write_text(render_report(results), encoding="utf-8")
    return results_path, report_path
