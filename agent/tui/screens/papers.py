"""Every indexed paper in a table: live filter, listing-date range, sort, multi-select.

Papers are loaded once per visit by a thread worker (its own catalog connection) and
then filtered and sorted in memory, so typing in the filter never waits on the disk.
Selected papers can be compared (``c``) or asked about (``a``).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static

from agent.safe_text import text
from agent.tui.base import app_of
from agent.tui.errors import EMPTY_INDEX_HINT, explain
from agent.tui.widgets.bars import NavBar, StatusBar
from store.papers import Paper

SORTS: dict[str, str] = {
    "newest": "Newest listing",
    "oldest": "Oldest listing",
    "title": "Title A–Z",
    "upvotes": "Most upvoted",
    "for_me": "For me (interests, stars)",
}
_MAX_SELECTED = 6


def matches(paper: Paper, needle: str) -> bool:
    """Every word of the filter appears in the title, authors, id or keywords (case-insensitive)."""
    if not needle.strip():
        return True
    hay = " ".join((paper.title, paper.id, " ".join(paper.authors), " ".join(paper.keywords))).casefold()
    return all(word in hay for word in needle.casefold().split())


def in_window(paper: Paper, since: date | None, until: date | None) -> bool:
    """Listed (else published) within ``[since, until]``, the same rule the catalog applies."""
    if since is None and until is None:
        return True
    days = paper.listing_dates or ((paper.published,) if paper.published else ())
    return any((since is None or d >= since) and (until is None or d <= until) for d in days)


def sort_papers(papers: list[Paper], order: str, scores: dict[str, float] | None = None) -> list[Paper]:
    """``papers`` in ``order``; ``for_me`` uses ``scores`` (the brief's affinity to interests and stars)."""
    def newest(p: Paper) -> tuple[date, str]:
        return (p.display_date or date.min, p.id)

    if order == "oldest":
        return sorted(papers, key=newest)
    if order == "title":
        return sorted(papers, key=lambda p: p.title.casefold())
    if order == "upvotes":
        return sorted(papers, key=lambda p: (-(p.upvotes or 0), p.title.casefold()))
    if order == "for_me" and scores:
        return sorted(papers, key=lambda p: (-scores.get(p.id, -1.0), p.title.casefold()))
    return sorted(papers, key=newest, reverse=True)


def parse_day(text: str) -> tuple[date | None, bool]:
    """(day, ok): an empty field is no bound; a half-typed one is not an error yet, just ignored."""
    text = text.strip()
    if not text:
        return None, True
    try:
        return date.fromisoformat(text), True
    except ValueError:
        return None, False


class PapersScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_select", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("a", "ask", "Ask about"),
        Binding("s", "sort", "Sort"),
        Binding("asterisk", "star", "Star", show=False),
        Binding("slash", "focus_filter", "Filter"),
        Binding("i", "app.ingest", "Ingest", show=False),
        Binding("escape", "clear", "Clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="papers")
        self.papers: list[Paper] = []
        self.shown: list[Paper] = []
        self.selected: list[str] = []
        self._loaded_generation: int | None = None
        self.scores: dict[str, float] = {}  # paper id -> affinity, for the "For me" sort
        self._scored_generation: int | None = None
        self._initial_filter = ""

    def compose(self) -> ComposeResult:
        yield NavBar("papers")
        with Horizontal(id="paper-filters"):
            yield Input(self._initial_filter, placeholder="/ filter: title, author, id", id="filter")
            yield Input(placeholder="since YYYY-MM-DD", id="since", classes="date")
            yield Input(placeholder="until YYYY-MM-DD", id="until", classes="date")
            yield Select([(label, key) for key, label in SORTS.items()], value="newest", allow_blank=False, id="sort")
        table: DataTable[object] = DataTable(id="papers-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="papers-empty", classes="empty-state", markup=False)
        yield Static(id="papers-summary", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#papers-table", DataTable)
        # title takes what the other columns leave (each column pads one cell on both sides)
        title_width = max(30, self.app.size.width - (1 + 10 + 18 + 4) - 2 * 5 - 5)
        table.add_column("✓", key="sel", width=1)
        table.add_column("Listed", key="listed", width=10)
        table.add_column("Title", key="title", width=title_width)
        table.add_column("Authors", key="authors", width=18)
        table.add_column("▲", key="up", width=4)
        table.focus()
        self.load()

    def on_screen_resume(self) -> None:
        if self._loaded_generation != app_of(self).index_generation:
            self.load()

    # --- data ------------------------------------------------------------------------
    def load(self) -> None:
        self._loaded_generation = app_of(self).index_generation
        self._load_papers()

    @work(thread=True, exclusive=True, group="papers", exit_on_error=False)
    def _load_papers(self) -> None:
        try:
            with app_of(self).session.index() as index:
                papers = index.catalog.list_papers()
        except Exception as exc:
            problem = explain(exc)
            self.app.call_from_thread(self.notify, problem.text, title=problem.title, severity="error")
            return
        self.app.call_from_thread(self._loaded, papers)

    @work(thread=True, exclusive=True, group="papers-score", exit_on_error=False)
    def _score_papers(self) -> None:
        """The same score as ``papers list --for-me`` and the brief's "For you", off the UI thread."""
        from store.affinity import Affinity

        generation = self._loaded_generation
        try:
            with app_of(self).session.index() as index:
                affinity = Affinity.for_index(index)
                matches = affinity.score_papers(index, self.papers) if affinity is not None else []
        except Exception as exc:
            problem = explain(exc)
            self.app.call_from_thread(self.notify, problem.text, title=problem.title, severity="error")
            return
        if not matches:
            msg = 'No interests or stars yet: press * on a paper, or `paperbrief interests set "TOPIC"`.'
            self.app.call_from_thread(self.notify, msg, severity="warning")
        scores = {p.id: m.score for p, m in zip(self.papers, matches, strict=True)}
        self.app.call_from_thread(self._scored, scores, generation)

    def _scored(self, scores: dict[str, float], generation: int | None) -> None:
        self.scores, self._scored_generation = scores, generation
        self.refilter()

    def action_star(self) -> None:
        """Star (or unstar) the paper under the cursor; the "For me" sort and the brief use stars."""
        from store.interests import ReaderStore

        paper_id = self.cursor_id()
        if paper_id is None:
            return
        store = ReaderStore(app_of(self).session.settings.data_dir)
        if store.star(paper_id):
            self.notify(f"Starred {paper_id}.", timeout=2)
        else:
            store.unstar(paper_id)
            self.notify(f"Unstarred {paper_id}.", timeout=2)
        self._scored_generation = None  # stars changed: the next "For me" sort scores again

    def _loaded(self, papers: list[Paper]) -> None:
        self.papers = papers
        known = {p.id for p in papers}
        self.selected = [pid for pid in self.selected if pid in known]
        self.refilter()

    def set_filter(self, text: str) -> None:
        """Filter the table (``/papers TEXT``); before the screen is composed, applied at mount."""
        self._initial_filter = text
        if self.is_mounted and self.query("#filter"):
            self.query_one("#filter", Input).value = text

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id in ("since", "until"):
            _, ok = parse_day(event.value)
            event.input.set_class(not ok, "-invalid")
        self.refilter()

    @on(Select.Changed, "#sort")
    def _sorted(self) -> None:
        self.refilter()

    def refilter(self) -> None:
        """Apply the filter, window and sort to the loaded papers and redraw the table."""
        needle = self.query_one("#filter", Input).value
        since, _ = parse_day(self.query_one("#since", Input).value)
        until, _ = parse_day(self.query_one("#until", Input).value)
        order = str(self.query_one("#sort", Select).value)
        kept = [p for p in self.papers if matches(p, needle) and in_window(p, since, until)]
        if order == "for_me" and self._scored_generation != self._loaded_generation:
            self._score_papers()  # redraws when the scores are in
        self.shown = sort_papers(kept, order, self.scores)
        table = self.query_one("#papers-table", DataTable)
        cursor_id = self.cursor_id()
        table.clear()
        for paper in self.shown:
            table.add_row(*self._cells(paper), key=paper.id)
        if cursor_id in {p.id for p in self.shown}:
            table.move_cursor(row=table.get_row_index(cursor_id))
        self._summarise()

    def _cells(self, paper: Paper) -> tuple[Text | str, ...]:
        mark = Text("✓", style="bold green") if paper.id in self.selected else Text(" ")
        listed = paper.display_date.isoformat() if paper.display_date else "–"
        authors = ", ".join(paper.authors[:2]) + (" …" if len(paper.authors) > 2 else "")
        upvotes = str(paper.upvotes) if paper.upvotes is not None else ""
        return (mark, listed, text(paper.title), text(authors), upvotes)

    def _summarise(self) -> None:
        table = self.query_one("#papers-table", DataTable)
        empty = self.query_one("#papers-empty", Static)
        if not self.papers:
            empty.update(f"No papers yet — press i to ingest ../shared/seeds, or run `paperbrief ingest PATH`.\n"
                         f"({EMPTY_INDEX_HINT})")
        elif not self.shown:
            empty.update("No paper matches the filter and dates. Esc clears them.")
        empty.display = not self.shown
        table.display = bool(self.shown)
        text = f"{len(self.shown):,} of {len(self.papers):,} papers"
        if self.selected:
            text += f" · {len(self.selected)} selected — c compare · a ask about them · Esc clear"
        else:
            text += " · Space selects · Enter reads"
        self.query_one("#papers-summary", Static).update(text)

    # --- selection and actions -------------------------------------------------------
    def cursor_id(self) -> str | None:
        table = self.query_one("#papers-table", DataTable)
        if not self.shown or table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    def action_toggle_select(self) -> None:
        paper_id = self.cursor_id()
        if paper_id is None:
            return
        if paper_id in self.selected:
            self.selected.remove(paper_id)
        elif len(self.selected) >= _MAX_SELECTED:
            self.notify(f"At most {_MAX_SELECTED} papers can be selected.", severity="warning")
            return
        else:
            self.selected.append(paper_id)
        table = self.query_one("#papers-table", DataTable)
        mark = Text("✓", style="bold green") if paper_id in self.selected else Text(" ")
        table.update_cell(paper_id, "sel", mark)
        table.action_cursor_down()
        self._summarise()

    @on(DataTable.RowSelected, "#papers-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            app_of(self).open_paper(str(event.row_key.value))

    def _chosen(self) -> list[str]:
        return list(self.selected) or ([self.cursor_id()] if self.cursor_id() else [])  # type: ignore[list-item]

    def action_compare(self) -> None:
        chosen = list(self.selected)
        if len(chosen) < 2:
            self.notify("Select two to six papers with Space, then press c.", title="Compare", severity="warning")
            return
        app_of(self).open_compare(chosen)

    async def action_ask(self) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        await app_of(self).ask_about(chosen)

    def action_sort(self) -> None:
        select = self.query_one("#sort", Select)
        keys = list(SORTS)
        select.value = keys[(keys.index(str(select.value)) + 1) % len(keys)]
        self.notify(f"Sorted by {SORTS[str(select.value)].lower()}.", timeout=2)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear(self) -> None:
        """Esc: leave a filter field for the table; in the table, clear selection then filters."""
        table = self.query_one("#papers-table", DataTable)
        if not table.has_focus:
            table.focus()
        elif self.selected:
            self.selected = []
            self.refilter()
        else:
            for name in ("#filter", "#since", "#until"):
                self.query_one(name, Input).value = ""
