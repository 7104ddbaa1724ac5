"""Parsing the capable model's one-call JSON table: every paper and aspect present, or a
``TableFormatError`` that turns the whole table extractive."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from agent.compare.grounding import ASPECT_KEYS
from store.papers import Paper


class TableFormatError(ValueError):
    """The model's reply is not a JSON table at all."""


def parse_table(raw: str, papers: Sequence[Paper]) -> tuple[dict[tuple[str, str], str], str | None]:
    """``{(paper_id, aspect): text}`` and the summary from the model's JSON reply.

    Papers are matched by ``paper`` / ``n`` (1-based) or by ``paper_id`` / ``id``; cells that
    are not strings (or lists of strings) count as missing. Raises :class:`TableFormatError`
    when there is no JSON object with a ``papers`` list to read.
    """
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", raw.strip(), flags=re.I)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise TableFormatError("no JSON object in the reply")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise TableFormatError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("papers"), list):
        raise TableFormatError("no 'papers' list in the JSON")
    by_n = {str(i): p.id for i, p in enumerate(papers, 1)}
    ids = {p.id for p in papers}
    cells: dict[tuple[str, str], str] = {}
    for item in data["papers"]:
        if not isinstance(item, dict):
            continue
        ref = str(item.get("paper", item.get("n", ""))).strip("[] ")
        pid = by_n.get(ref) or next((str(item[k]) for k in ("paper_id", "id") if str(item.get(k)) in ids), None)
        if pid is None:
            continue
        for key in ASPECT_KEYS:
            value = item.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "; ".join(value)
            if isinstance(value, str) and value.strip():
                cells[(pid, key)] = value
    if not cells:
        raise TableFormatError("the JSON has no cells for these papers")
    summary = data.get("summary")
    return cells, summary if isinstance(summary, str) else None
