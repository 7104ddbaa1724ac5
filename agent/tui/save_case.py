"""``/save-case`` (Ctrl+R): a chat answer becomes an eval case (``evals.saved``), marked needs_review.

The case goes to ``evals/cases/saved.yaml`` under the working directory, the folder
``paperbrief eval run`` reads by default; the notification names the file and the case.
"""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from agent.tui.errors import explain
from agent.tui.widgets.answer import AnswerView


def save_answer_case(screen: Screen[None], view: AnswerView, conversation: int, turn: int) -> Path | None:
    """Write the case for ``view``'s question and answer; a problem is one notification, nothing written."""
    from evals.cases import CaseError
    from evals.saved import case_from_answer, save_case

    try:
        case = case_from_answer(
            view.question, view.meta, origin=f"conversation {conversation}, turn {turn}",
            case_id=f"chat-c{conversation}-t{turn}",
        )
        path = save_case(case, Path.cwd() / "evals" / "cases")
    except (CaseError, OSError) as exc:
        screen.notify(explain(exc).text, title="Case not saved", severity="error", markup=False)
        return None
    screen.notify(
        f"{case['id']} saved to {path}; it needs review (check expect, add must_include).",
        title="Eval case saved", markup=False,
    )
    return path


def star_first_source(screen: Screen[None], view: AnswerView | None, data_dir: Path) -> None:
    """Star the answer's first source (``ctrl+t`` in Chat), saying what happened."""
    from store.interests import ReaderStore

    if view is None or not view.source_ids:
        screen.notify("No answer with sources to star yet.", severity="warning")
        return
    paper_id = view.source_ids[0]
    new = ReaderStore(data_dir).star(paper_id)
    screen.notify(f"{'Starred' if new else 'Already starred'} {paper_id} (source [1]).", timeout=3)
