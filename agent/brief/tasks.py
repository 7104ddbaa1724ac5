"""Which brief tasks a model is asked to do: spend a small model's calls only where they pay.

Pass rates were measured per task on the seed week (2026-W11, 131 papers, the
``make run`` brief) with SmolLM2-135M-Instruct (Q4_1), counting an output as passing
when the brief's own checks accept it (``check_tldr``, ``valid_label`` on
``clean_name``, the synthesis quality check). ``benchmarks/bench_brief.py --tasks``
measures them again. A task that passes less than ``MIN_PASS_RATE`` is skipped
for small models and the provenance says so, with the numbers: the keyword-phrase
label, the quoted TL;DRs and the extractive synthesis are what the reader gets anyway.
"""

from __future__ import annotations

from agent.llm.base import LLM

#: model family (name prefix) -> task -> (passed, tried) on the seed week.
PASS_RATES: dict[str, dict[str, tuple[int, int]]] = {
    "SmolLM2": {"tldr": (25, 40), "theme_name": (1, 5), "synthesis": (0, 5)},
}
MIN_PASS_RATE = 0.5
TASK_LABELS = {"tldr": "TL;DRs", "theme_name": "theme names", "synthesis": "syntheses"}


def skipped_tasks(llm: LLM, rates: dict[str, dict[str, tuple[int, int]]] | None = None) -> dict[str, str]:
    """``task -> "SmolLM2 passes 0/5"`` for each task this model is not asked to do.

    Only measured models skip anything: an unmeasured model is given every task, and
    its outputs still face the same checks (a failure falls back to quoted text).
    """
    table = PASS_RATES if rates is None else rates
    family = next((f for f in table if llm.name.casefold().startswith(f.casefold())), None)
    if family is None:
        return {}
    out: dict[str, str] = {}
    for task, (passed, tried) in table[family].items():
        if tried and passed / tried < MIN_PASS_RATE:
            out[task] = f"{family} passes {passed}/{tried}"
    return out
