"""Run case files through the real agent code and score them: ``paperbrief eval run``.

For each suite: build or reuse its index (``evals.corpus``), resolve every expected
paper before any model call (a case naming a paper the index lacks is an error, not a
zero), then answer each case with ``agent.ask.pipeline`` / ``agent.compare.pipeline`` / ``agent.brief.pipeline``
through a cached, logged model, score it (``evals.metrics``), calibrate the
groundedness threshold on the suite's own cases, and aggregate. The results are one
JSON document (``results.json``) that ``evals.compare`` can diff and ``accept`` can
commit, and a Markdown report (``evals.report``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.ask.pipeline import AskError, ask_events
from agent.llm.calllog import LoggedLLM
from agent.prompts import PromptRef
from agent.runtime import ask_options, build_llm
from agent.settings import Settings
from agent.types import Answer, Done, Source, Token
from evals.cache import CachedLLM, ResponseCache
from evals.cases import AskCase, BriefCase, CaseFile, CompareCase, load_case_files
from evals.corpus import open_suite_index, resolve_papers
from evals.metrics import (
    SentenceSupport,
    abstention_metrics,
    aggregate,
    calibrate,
    citation_metrics,
    claims,
    counts,
    groundedness,
    ndcg_at,
    phrase_found,
    phrase_metrics,
    retrieval_metrics,
    show_phrase,
)
from store.index import Index
from store.papers import Paper
from store.retrieve import search

SCHEMA = 1
_RAW_LIMIT = 4000
#: Model-written TL;DRs per brief case (the rest are extractive): keeps a local-model run affordable.
BRIEF_MODEL_TLDRS = 8


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


@dataclass
class _Suite:
    """A suite while it runs: its cases' records, and what groundedness needs afterwards."""

    spec: CaseFile
    index: Index
    records: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, list[Source]] = field(default_factory=dict)


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
            "settings": _settings_snapshot(self.settings),
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
        suite = _Suite(spec, index)
        total = len(spec.cases)
        cache_hits = cache_misses = 0
        for i, case in enumerate(spec.cases):
            self.on_progress(spec.suite, i, total)
            if spec.retrieval_only:
                assert isinstance(case, AskCase)
                record = self._retrieval_case(spec, case, index, resolved[case.id], grades.get(case.id))
            else:
                record = self._run_case(suite, case, resolved[case.id])
                stats = self.llm.take_stats() if self._llm else None
                if stats is not None:
                    record["cache"] = {"hits": stats.hits, "misses": stats.misses}
                    if "latency_ms" in record["metrics"]:  # a replayed call counts what it cost when recorded
                        record["metrics"]["latency_ms"] += stats.replayed_ms
                    cache_hits, cache_misses = cache_hits + stats.hits, cache_misses + stats.misses
            suite.records.append(record)
        self.on_progress(spec.suite, total, total)
        calibration = self._score_groundedness(suite, resolved) if not spec.retrieval_only else None
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

    def _run_case(
        self, suite: _Suite, case: AskCase | CompareCase | BriefCase, expected: list[tuple[str, str]]
    ) -> dict[str, Any]:
        if isinstance(case, AskCase):
            return self._ask_case(suite, case, expected)
        if isinstance(case, CompareCase):
            return self._compare_case(suite, case, expected)
        return self._brief_case(suite, case, expected)

    # --- ask ---------------------------------------------------------------------------------

    def _ask_case(self, suite: _Suite, case: AskCase, expected: list[tuple[str, str]]) -> dict[str, Any]:
        spec, index = suite.spec, suite.index
        options = ask_options(self.settings, k=spec.k, prompt_dir=self.options.prompts_dir)
        started = time.perf_counter()
        raw: list[str] = []
        answer: Answer | None = None
        try:
            events = ask_events(case.question, index=index, llm=self.llm, options=options, prices=self.settings.prices)
            for event in events:
                if isinstance(event, Token):
                    raw.append(event.text)
                elif isinstance(event, Done):
                    answer = event.answer
        except AskError as exc:
            return _error_record(case, str(exc))
        assert answer is not None
        wall_ms = (time.perf_counter() - started) * 1000.0
        self.prompts[answer.prompt.name] = answer.prompt
        suite.sources[case.id] = answer.sources
        expected_ids = [pid for pid, _ in expected]
        ranked = [h.paper_id for h in answer.retrieved]
        raw_text = "".join(raw).strip()
        cites = citation_metrics(raw_text, answer.sources, expected_ids, called=bool(raw))
        phrases = phrase_metrics(answer.text, case.must_include, case.must_not_include)
        metrics: dict[str, float | None] = {}
        metrics.update(retrieval_metrics(ranked, expected_ids, _ks(spec.k)))
        metrics.update(cites.metrics)
        answered = not answer.abstained and not case.should_abstain
        metrics["answer.generative"] = float(answer.mode == "generative") if answered else None
        metrics.update(abstention_metrics(answer.abstained, case.should_abstain))
        metrics.update(phrases.metrics)
        metrics.update(
            {
                "latency_ms": wall_ms,
                "tokens.prompt": float(answer.usage.prompt_tokens),
                "tokens.completion": float(answer.usage.completion_tokens),
                "cost.usd": answer.cost_usd,
            }
        )
        titles = dict(expected)
        shown = {s.paper_id for s in answer.sources}
        return {
            "id": case.id,
            "kind": "ask",
            "question": case.question,
            "should_abstain": case.should_abstain,
            "expected": [{"id": pid, "title": t} for pid, t in expected],
            "answer": answer.text,
            "raw": raw_text[:_RAW_LIMIT],
            "mode": answer.mode,
            "abstained": answer.abstained,
            "retrieved": ranked,
            "sources": [{"n": s.n, "paper_id": s.paper_id, "title": s.title} for s in answer.sources],
            "cited": cites.cited_ids,
            "invalid_citations": cites.invalid,
            "answer_citations": [c.paper_id for c in answer.citations],
            "missing": {
                "not_retrieved": [titles[p] for p in expected_ids if p not in ranked],
                "not_shown": [titles[p] for p in expected_ids if p in ranked and p not in shown],
                "not_cited": [titles[p] for p in expected_ids if p in shown and p not in cites.cited_ids],
                "phrases": phrases.missing,
                "forbidden": phrases.forbidden,
                "unsupported": [],
            },
            "warnings": answer.warnings,
            "prompts": [_ref(answer.prompt)],
            "metrics": metrics,
        }

    def _retrieval_case(
        self,
        spec: CaseFile,
        case: AskCase,
        index: Index,
        expected: list[tuple[str, str]],
        grades: dict[str, int] | None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        hits = search(index, case.question, k=spec.k)
        ranked = [h.paper_id for h in hits]
        expected_ids = [pid for pid, _ in expected]
        metrics: dict[str, float | None] = dict(retrieval_metrics(ranked, expected_ids, _ks(spec.k)))
        relevance = grades or dict.fromkeys(expected_ids, 1)
        metrics[f"retrieval.ndcg@{spec.k}"] = ndcg_at(ranked, relevance, spec.k)
        metrics["latency_ms"] = (time.perf_counter() - started) * 1000.0
        return {
            "id": case.id,
            "kind": "retrieval",
            "question": case.question,
            "expected": [{"id": pid, "title": t} for pid, t in expected],
            "retrieved": ranked,
            "prompts": [],
            "missing": {"not_retrieved": [t for pid, t in expected if pid not in ranked]},
            "metrics": metrics,
        }

    # --- compare -------------------------------------------------------------------------------

    def _compare_case(self, suite: _Suite, case: CompareCase, papers: list[tuple[str, str]]) -> dict[str, Any]:
        try:
            import agent.compare.pipeline as compare_module
            from agent.compare.select import SelectionError
        except ImportError as exc:  # the feature is not in this build
            return _skipped_record(case, f"agent.compare.pipeline is not available ({exc})")
        refused = (SelectionError, *[e for e in [getattr(compare_module, "CompareError", None)] if e is not None])
        started = time.perf_counter()
        try:
            result = compare_module.compare(
                [pid for pid, _ in papers], index=suite.index, llm=self.llm, prices=self.settings.prices
            )
        except refused as exc:
            return _error_record(case, str(exc))
        wall_ms = (time.perf_counter() - started) * 1000.0
        for ref in result.prompts:
            self.prompts[ref.name] = ref
        columns: dict[str, list[str]] = {pid: [] for pid, _ in papers}
        modes: list[str] = []
        for row in result.rows:
            for cell in row.cells:
                columns.setdefault(cell.paper_id, []).append(cell.text)
                modes.append(cell.mode)
        missing: dict[str, list[str]] = {}
        found = total = 0
        for spec_paper, (pid, title) in zip(case.papers, papers, strict=True):
            text = " ".join(columns.get(pid, []))
            for fact in spec_paper.facts:
                total += 1
                if phrase_found(text, fact):
                    found += 1
                else:
                    missing.setdefault(title, []).append(show_phrase(fact))
        metrics: dict[str, float | None] = {
            "compare.facts": found / total if total else None,
            "compare.generative_cells": modes.count("generative") / len(modes) if modes else None,
            "compare.stated_cells": 1 - modes.count("not_stated") / len(modes) if modes else None,
            "compare.summary_generative": float(result.summary_mode == "generative"),
            "latency_ms": wall_ms,
            "tokens.prompt": float(result.usage.prompt_tokens),
            "tokens.completion": float(result.usage.completion_tokens),
            "cost.usd": result.cost_usd,
        }
        return {
            "id": case.id,
            "kind": "compare",
            "question": "compare: " + " | ".join(t for _, t in papers),
            "expected": [{"id": pid, "title": t} for pid, t in papers],
            "answer": _comparison_text(result.to_json()),
            "strategy": result.strategy,
            "missing": {"facts": missing},
            "warnings": result.warnings,
            "prompts": [_ref(r) for r in result.prompts],
            "metrics": metrics,
        }

    # --- brief -----------------------------------------------------------------------------------

    def _brief_case(self, suite: _Suite, case: BriefCase, papers: list[tuple[str, str]]) -> dict[str, Any]:
        try:
            from agent.brief.cache import BriefCache
            from agent.brief.pipeline import BriefError, BriefOptions, build_brief
            from agent.brief.weeks import Window
            from agent.prompts import load_prompt
        except ImportError as exc:  # the feature is not in this build
            return _skipped_record(case, f"agent.brief.pipeline is not available ({exc})")
        window = Window(case.since, case.until, f"{case.since.isoformat()}..{case.until.isoformat()}")
        # the brief's own cache stays in memory: the response cache alone decides what is replayed
        cache = BriefCache(None)
        from evals.brief_checks import brief_checks
        from store.affinity import Affinity

        affinity = None
        if case.interests:
            anchors = suite.index.embedder.embed(case.interests)
            affinity = Affinity(anchors, ["interest"] * len(case.interests), list(case.interests))
        options = BriefOptions(
            fetch=False, max_model_tldrs=BRIEF_MODEL_TLDRS, today=case.until,
            for_everyone=affinity is None, affinity=affinity,
        )
        started = time.perf_counter()
        try:
            brief = build_brief(
                window, index=suite.index, llm=self.llm, options=options, cache=cache, prices=self.settings.prices
            )
        except BriefError as exc:
            return _error_record(case, str(exc))
        finally:
            cache.close()
        wall_ms = (time.perf_counter() - started) * 1000.0
        refs = [load_prompt(name).ref for name in sorted(brief.provenance.prompts)]
        for ref in refs:
            self.prompts[ref.name] = ref
        listed = {p.paper_id for p in brief.papers}
        prominent = {h.paper_id for h in brief.highlights} | {
            p.paper_id for t in brief.themes for p in t.cited_papers()
        }
        text = "\n".join(
            f"{t.name} ({', '.join(t.keywords)}): {t.synthesis.text}" for t in brief.themes
        )
        themes_missing = [show_phrase(t) for t in case.themes if not phrase_found(text, t)]
        expected = [pid for pid, _ in papers]
        titles = dict(papers)
        real = [t for t in brief.themes if not t.is_other]
        prov = brief.provenance
        metrics: dict[str, float | None] = {
            "brief.papers": sum(p in listed for p in expected) / len(expected) if expected else None,
            "brief.highlighted": sum(p in prominent for p in expected) / len(expected) if expected else None,
            "brief.themes": 1 - len(themes_missing) / len(case.themes) if case.themes else None,
            "brief.generative_syntheses": (
                sum(t.synthesis.mode == "generative" for t in real) / len(real) if real else None
            ),
            "latency_ms": wall_ms,
            "tokens.prompt": float(prov.prompt_tokens),
            "tokens.completion": float(prov.completion_tokens),
            "cost.usd": prov.cost_usd,
        }
        checks, failed = brief_checks(brief, case.for_you)
        metrics.update(checks)
        return {
            "id": case.id,
            "kind": "brief",
            "question": f"brief {window.label}: {prov.papers} papers, {prov.themes} themes",
            "expected": [{"id": pid, "title": t} for pid, t in papers],
            "answer": text,
            "missing": {
                "not_listed": [titles[p] for p in expected if p not in listed],
                "not_highlighted": [titles[p] for p in expected if p in listed and p not in prominent],
                "themes": themes_missing,
                **failed,
            },
            "warnings": brief.warnings,
            "prompts": [_ref(r) for r in refs],
            "metrics": metrics,
        }

    # --- groundedness --------------------------------------------------------------------------------

    def _score_groundedness(self, suite: _Suite, resolved: dict[str, list[tuple[str, str]]]) -> dict[str, Any] | None:
        """Calibrate the threshold on this suite's questions, then score every answered ask case."""
        ask_records = [r for r in suite.records if r.get("kind") == "ask" and "error" not in r]
        if not ask_records:
            return None
        support = SentenceSupport(suite.index.embedder)
        positives, negatives = self._calibration_pairs(suite, support, resolved)
        calibration = calibrate(positives, negatives)
        judge = self.judge_llm
        for record in ask_records:
            if record["abstained"]:
                record["metrics"]["groundedness.embedding"] = None
                continue
            sources = suite.sources.get(record["id"], [])
            score = groundedness(record["answer"], sources, support, calibration.threshold)
            record["metrics"]["groundedness.embedding"] = score.value
            record["missing"]["unsupported"] = score.unsupported
            if judge is not None:
                from evals.judge import judge as run_judge

                verdicts = run_judge(judge, claims(record["answer"]), sources)
                self.prompts[verdicts.prompt.name] = verdicts.prompt
                record["metrics"]["groundedness.judge"] = verdicts.value
                record["judge_unsupported"] = verdicts.unsupported
        if judge is not None:
            judge.take_stats()
        return calibration.to_json()

    def _calibration_pairs(
        self, suite: _Suite, support: SentenceSupport, resolved: dict[str, list[tuple[str, str]]]
    ) -> tuple[list[float], list[float]]:
        catalog = suite.index.catalog
        rows = [r for r in suite.records if r.get("kind") == "ask" and r.get("expected") and "error" not in r]
        if not rows:
            return [], []
        vectors = support.embed([r["question"] for r in rows])
        positives: list[float] = []
        negatives: list[float] = []
        for record, vector in zip(rows, vectors, strict=True):
            wanted = {pid for pid, _ in resolved[record["id"]]}
            other = next((pid for pid in record["retrieved"] if pid not in wanted), None)
            papers = catalog.get_many([*wanted, *([other] if other else [])])
            pos = [support.source(p, papers[p].title, papers[p].abstract) for p in wanted if p in papers]
            if pos:
                positives.append(support.best(vector, pos))
            if other and other in papers:
                paper = papers[other]
                negatives.append(support.best(vector, [support.source(other, paper.title, paper.abstract)]))
        return positives, negatives


# --- helpers --------------------------------------------------------------------------------------


def _ks(k: int) -> list[int]:
    return sorted({1, 3, k} if k >= 3 else {1, k})


def _ref(ref: PromptRef) -> dict[str, str]:
    return {"name": ref.name, "version": ref.version, "hash": ref.hash}


def _error_record(case: AskCase | CompareCase | BriefCase, message: str) -> dict[str, Any]:
    return {"id": case.id, "kind": case.kind, "error": message, "prompts": [], "missing": {}, "metrics": {}}


def _skipped_record(case: AskCase | CompareCase | BriefCase, reason: str) -> dict[str, Any]:
    return {"id": case.id, "kind": case.kind, "skipped": reason, "prompts": [], "missing": {}, "metrics": {}}


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


def _comparison_text(data: dict[str, Any]) -> str:
    lines = []
    titles = {p["paper_id"]: p["title"] for p in data.get("papers", [])}
    for row in data.get("rows", []):
        for cell in row.get("cells", []):
            title = titles.get(cell["paper_id"], cell["paper_id"])
            lines.append(f"{row.get('label', row.get('aspect'))} · {title}: {cell['text']}")
    if data.get("summary"):
        lines.append(f"Summary: {data['summary']}")
    return "\n".join(lines)


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
        "abstain_threshold": settings.abstain_threshold,
        "max_answer_tokens": settings.max_answer_tokens,
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
