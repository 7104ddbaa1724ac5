"""Baseline vs current: the gate (``paperbrief eval compare``) and ``paperbrief eval accept``.

Both runs are reduced to the cases they share, and every suite metric is recomputed
from those cases' own scores on both sides, so adding or removing a case never looks
like a regression. A metric regresses when it moves the wrong way by more than the
tolerance its (current) case file allows; metrics without a tolerance are reported,
never gated.

A baseline is only comparable when it was produced by the same *prompt set*: the
same prompt names for each shared case (``answer_compact`` vs ``answer`` means the
cases went through different pipelines). Versions and contents may differ; that is
the change being measured. The model may differ too (a model upgrade is a change to
gate), which the comparison states.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.cases import CaseError
from evals.metrics import aggregate, is_regression

_RAW = ("latency_ms", "tokens.prompt", "tokens.completion", "cost.usd")


class BaselineError(CaseError):
    """A baseline or results file that cannot be compared: one line, exit code 2."""


def load_results(path: Path, *, role: str) -> tuple[Path, dict[str, Any]]:
    """A results document from a ``results.json`` file or a run directory containing one."""
    file = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{file}: cannot read the {role} results ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise BaselineError(f"{file}: the {role} results are not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "suites" not in data or "model" not in data:
        raise BaselineError(f"{file}: not an eval results file (no 'suites')")
    return file, data


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_+.-]+", "-", text.lower()).strip("-.") or "none"


def baseline_name(results: dict[str, Any]) -> str:
    """``<model>--<prompt set>.json``: one baseline per model and prompt set."""
    return f"{slug(str(results['model']))}--{slug(str(results.get('prompt_set', 'none')))}.json"


def find_baseline(folder: Path, current: dict[str, Any]) -> Path:
    """The baseline in ``folder`` for the current run's model and prompt set."""
    exact = folder / baseline_name(current)
    if exact.is_file():
        return exact
    same_model = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("model") == current.get("model"):
            same_model.append(path)
    if len(same_model) == 1:
        return same_model[0]
    known = ", ".join(p.name for p in sorted(folder.glob("*.json"))) or "none"
    raise BaselineError(
        f"{folder}: no baseline for model {current.get('model')} with prompt set {current.get('prompt_set')} "
        f"(baselines: {known}); run `paperbrief eval accept` to store one"
    )


def _cases(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (suite, case["id"]): case
        for suite, data in results.get("suites", {}).items()
        for case in data.get("cases", [])
        if not case.get("skipped")
    }


def _prompt_names(case: dict[str, Any]) -> list[str]:
    return sorted({p["name"] for p in case.get("prompts", [])})


@dataclass(frozen=True)
class MetricRow:
    suite: str
    metric: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    regressed: bool

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


@dataclass(frozen=True)
class CaseRow:
    suite: str
    case: str
    changes: list[tuple[str, float | None, float | None]]


@dataclass
class BaselineComparison:
    baseline_file: Path
    current_file: Path
    baseline_model: str
    current_model: str
    metrics: list[MetricRow] = field(default_factory=list)
    cases: list[CaseRow] = field(default_factory=list)
    shared: int = 0
    only_baseline: int = 0
    only_current: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricRow]:
        return [m for m in self.metrics if m.regressed]


def compare_results(
    baseline_file: Path, baseline: dict[str, Any], current_file: Path, current: dict[str, Any]
) -> BaselineComparison:
    """Per-suite metrics over the shared cases, per-case changes, and the regressions."""
    old, new = _cases(baseline), _cases(current)
    shared = [key for key in new if key in old]
    if not shared:
        raise BaselineError(f"{baseline_file}: shares no cases with {current_file}; nothing to compare")
    for key in shared:
        names_before, names_after = _prompt_names(old[key]), _prompt_names(new[key])
        if names_before and names_after and names_before != names_after:
            suite, case = key
            file = current["suites"][suite].get("file", suite)
            raise BaselineError(
                f"{baseline_file}: {file}: case {case} was answered with prompts {names_before} in the baseline and "
                f"{names_after} now: the baseline is from another prompt set"
            )
    result = BaselineComparison(
        baseline_file, current_file, str(baseline.get("model")), str(current.get("model")),
        shared=len(shared), only_baseline=len(old.keys() - new.keys()), only_current=len(new.keys() - old.keys()),
    )
    if result.baseline_model != result.current_model:
        result.notes.append(f"models differ: baseline {result.baseline_model}, current {result.current_model}")
    for suite, data in current.get("suites", {}).items():
        keys = [k for k in shared if k[0] == suite]
        if not keys:
            continue
        b_cal = (baseline.get("suites", {}).get(suite, {}).get("calibration") or {}).get("threshold")
        c_cal = (data.get("calibration") or {}).get("threshold")
        if b_cal is not None and c_cal is not None and abs(b_cal - c_cal) > 1e-9:
            result.notes.append(f"{suite}: groundedness threshold moved {b_cal} → {c_cal} (cases or embedding changed)")
        before = aggregate([old[k]["metrics"] for k in keys])
        after = aggregate([new[k]["metrics"] for k in keys])
        tolerances = data.get("tolerances", {})
        for metric in dict.fromkeys([*after, *before]):
            b, c = before.get(metric), after.get(metric)
            tol = tolerances.get(metric)
            regressed = tol is not None and b is not None and (c is None or is_regression(metric, b, c, tol))
            result.metrics.append(MetricRow(suite, metric, b, c, tol, regressed))
        for key in keys:
            changes = []
            b_m, c_m = old[key]["metrics"], new[key]["metrics"]
            for metric in dict.fromkeys([*c_m, *b_m]):
                if metric in _RAW:
                    continue
                b, c = b_m.get(metric), c_m.get(metric)
                if (b is None) != (c is None) or (b is not None and c is not None and abs(b - c) > 1e-9):
                    changes.append((metric, b, c))
            if changes:
                result.cases.append(CaseRow(key[0], key[1], changes))
    return result


def accept(results_path: Path, folder: Path) -> tuple[Path, dict[str, Any], dict[str, Any] | None]:
    """Store a run's results as the baseline for its model and prompt set; returns (path, new, replaced)."""
    _, results = load_results(results_path, role="current")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / baseline_name(results)
    replaced = None
    if target.is_file():
        try:
            replaced = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            replaced = None
    from evals.runner import dump_results

    target.write_text(dump_results(results), encoding="utf-8")
    return target, results, replaced
