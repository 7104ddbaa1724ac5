"""Which brief tasks a model is asked to do: spend a small model's calls only where they pay.

Pass rates were measured per task on the seed week with SmolLM2-135M-Instruct
(Q4_1), counting an output as passing when the brief's own checks accept it:
TL;DRs, the 14 recorded in the eval baseline's responses for the seed briefs, put
through ``tldr.accept`` (8 pass; the rest repeat the title, loop or drift from the
abstract); theme names and syntheses, the 5 + 5 answers of the ``make run`` brief
of 2026-W11, through ``clean_name`` + ``valid_label`` (1 passes: "Learning Conformal
Ab" was accepted before and is cut mid-word) and the synthesis check (0 pass: lists of
``[n]:`` links). A task that passes less than ``MIN_PASS_RATE`` is skipped for that
model and the provenance says so, with the numbers: the key-phrase label and the
quoted synthesis are what the reader got anyway, minus the minutes of model calls.
"""

from __future__ import annotations

from agent.llm.base import LLM

#: model family (name prefix) -> task -> (passed, tried) on the seed week.
PASS_RATES: dict[str, dict[str, tuple[int, int]]] = {
    "SmolLM2": {"tldr": (8, 14), "theme_name": (1, 5), "synthesis": (0, 5)},
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
