"""Chat turns that become eval cases: ``/save-case`` in the TUI, ``paperbrief eval add --from-conversation``.

An answer seen in chat, good or bad, is worth keeping as a regression case. A saved turn
becomes an ``ask`` case in ``evals/cases/saved.yaml`` (a suite over the team's seed
corpus): the question, the listing window, the papers the answer cited as the gold papers
(an abstention becomes ``should_abstain``), and ``needs_review: true`` until a person edits
it. The file is validated with the same parser ``eval run`` uses before it is replaced,
atomically and under a lock, so two processes saving at once never lose a case and a bad
case never lands.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from agent.conversations import ConversationStore
from evals.cases import CaseError, parse_case_file

SAVED_FILE = "saved.yaml"
_HEADER = """\
# Cases saved from chat turns (TUI /save-case, `paperbrief eval add --from-conversation ID --turn N`).
# Each starts as `needs_review: true`: check the question, the gold papers (`expect`, the papers the
# answer cited) and add `must_include` phrases; then delete `needs_review`, run `paperbrief eval run`
# and `paperbrief eval accept`, and commit this file with the baseline (see evals/README.md).
# The corpus is the team's seed pages; a turn about other papers needs their files added to `paths`.
"""
_SUITE: dict[str, Any] = {
    "suite": "saved",
    "description": "Chat turns saved as regression cases (needs_review until a person has checked them).",
    "corpus": {"paths": ["{shared}/seeds"], "year": 2024},
    "k": 6,
    "cases": [],
}


class SaveCaseError(CaseError):
    """A turn that cannot be saved (no such conversation or turn, a case already saved): exit 2."""

    title = "Cannot save the case"
    hint = "list conversations in the TUI (Ctrl+O); turns count questions from 1"


def case_from_turn(store: ConversationStore, conversation_id: int, turn: int) -> dict[str, Any]:
    """The YAML case for question ``turn`` (1-based) of a saved conversation."""
    if store.get(conversation_id) is None:
        raise SaveCaseError(f"conversation {conversation_id}: no such conversation")
    messages = store.messages(conversation_id)
    questions = [i for i, m in enumerate(messages) if m.role == "user"]
    if not 1 <= turn <= len(questions):
        raise SaveCaseError(f"conversation {conversation_id}: no turn {turn} (it has {len(questions)})")
    at = questions[turn - 1]
    answer = messages[at + 1] if at + 1 < len(messages) and messages[at + 1].role == "assistant" else None
    if answer is None:
        raise SaveCaseError(f"conversation {conversation_id}: turn {turn} has no answer")
    return case_from_answer(messages[at].content, answer.meta, origin=f"conversation {conversation_id}, turn {turn}",
                            case_id=f"chat-c{conversation_id}-t{turn}")


def case_from_answer(question: str, meta: dict[str, Any], *, origin: str, case_id: str) -> dict[str, Any]:
    """An ask case from a question and its saved answer's meta (``agent.conversations.answer_meta``)."""
    case: dict[str, Any] = {"id": case_id, "kind": "ask", "question": " ".join(question.split())}
    window = meta.get("window") or {}
    for key in ("since", "until"):
        if window.get(key):
            case[key] = window[key]
    if meta.get("abstained"):
        case["should_abstain"] = True
    else:
        cited = [str(c["paper_id"]) for c in meta.get("citations", [])]
        shown = [str(s["paper_id"]) for s in meta.get("sources", [])]
        case["expect"] = cited or shown[:1]
        if not case["expect"]:
            raise SaveCaseError(f"{origin}: the answer cites no paper and did not abstain; nothing to expect")
    case["needs_review"] = True
    support = meta.get("sentences") or []
    weak = sum(1 for s in support if (s.get("support") or {}).get("verdict") != "supported")
    case["note"] = (
        f"saved from {origin} on {datetime.now(UTC):%Y-%m-%d}; answered by {meta.get('model', '?')} "
        f"({meta.get('mode', '?')}), {weak} of {len(support)} sentences not supported"
    )
    return case


def save_case(case: dict[str, Any], cases_dir: Path) -> Path:
    """Append ``case`` to ``cases_dir/saved.yaml`` (created if needed); returns the file."""
    cases_dir.mkdir(parents=True, exist_ok=True)
    path = cases_dir / SAVED_FILE
    with FileLock(str(path) + ".lock", timeout=10):
        data = dict(_SUITE) if not path.exists() else yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cases = list(data.get("cases") or [])
        if any(c.get("id") == case["id"] for c in cases):
            raise SaveCaseError(f"{path}: case {case['id']} is already saved")
        data["cases"] = [*cases, case]
        text = _HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
        parse_case_file(text, str(path))  # what eval run will read; a bad case never lands
        fd, tmp = tempfile.mkstemp(dir=cases_dir, prefix=".saved-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path
