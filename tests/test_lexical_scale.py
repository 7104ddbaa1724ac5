"""The fast paths of lexical ingest and search give the answers the slow ones gave.

Each speed-up (batched catalog writes and lookups, one body encode for abstracts that fit,
the BM25 tokenizer, the week-window scoring, ``Paper.to_json`` without ``asdict``) is checked
against the straightforward way of computing the same thing.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import asdict, replace
from datetime import date, timedelta
from pathlib import Path

import bm25s
import numpy as np
import pytest

from store import bm25
from store.bm25_tokens import _stemmer, tokenize
from store.catalog import Catalog
from store.chunking import chunk_paper
from store.config import StoreConfig
from store.index import Index
from store.ingest import IngestReport, ingest_papers, load_files
from store.papers import Paper, title_hash_id
from store.tokens import count_tokens
from tests.test_bm25_segments import WORDS, _papers, _put

ODD_TEXTS = [
    "", "a", "The the THE and of", "Ünïcode naïve café — résumé's 3D-GS x2 ab", "GPT-4o's F1@10 = 0.93; e.g. LLaMA-2",
    "stop-words: it's what they'd've done", "数据 集 ü ß Straße STRASSE", "x\u200dy tab\tnew\nline",
]


def _bm25s_tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(  # type: ignore[no-any-return]
        texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def test_tokenizer_is_bm25s_tokenizer() -> None:
    texts = ODD_TEXTS + [p.abstract for p in _papers(0, 50, seed=3)]
    assert tokenize(texts) == _bm25s_tokens(texts)
    assert tokenize(["Transformers transforming transformed"]) == [["transform", "transform", "transform"]]


def test_tokenizer_is_bm25s_tokenizer_on_real_abstracts(shared_dir: Path) -> None:
    rows = (shared_dir / "data" / "arxiv_daily_cs" / "sample_first1000.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(line)["abstract"] for line in rows.splitlines() if line.strip()]
    assert len(texts) == 1000
    assert tokenize(texts) == _bm25s_tokens(texts)


def _window_catalog(tmp_path: Path) -> tuple[Catalog, list[str]]:
    """300 papers listed over 30 days, a second segment, and masked (replaced, removed) rows."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    start = date(2025, 3, 1)
    first = [replace(p, listing_dates=(start + timedelta(days=i % 30),)) for i, p in enumerate(_papers(0, 300, 1))]
    _put(catalog, first)
    bm25.refresh(catalog, tmp_path / "bm25")
    _put(catalog, [replace(p, listing_dates=(start + timedelta(days=29),)) for p in _papers(300, 40, 2)])
    _put(catalog, [replace(first[5], abstract="graph graph robot replaced text")])
    with catalog.transaction() as db:
        catalog.remove(db, first[6].id)
    return catalog, [p.id for p in first]


def _ranked_equal(got: list[tuple[str, str, float]], want: list[tuple[str, str, float]]) -> None:
    """Same scores in the same order; same chunks wherever the score is not tied at the cut."""
    assert np.allclose([s for *_, s in got], [s for *_, s in want], rtol=1e-5)
    if want:
        cut = want[-1][2]
        assert {c for c, _, s in got if s > cut + 1e-6} == {c for c, _, s in want if s > cut + 1e-6}


@pytest.mark.parametrize("saved_order", [True, False])
def test_window_top_equals_filtering_every_match(tmp_path: Path, saved_order: bool) -> None:
    catalog, ids = _window_catalog(tmp_path)
    index = bm25.refresh(catalog, tmp_path / "bm25")
    assert len(index.segments) == 2 and index.segments[0].masked
    if not saved_order:  # segments written before the order was saved sort once in memory
        for seg in index.segments:
            (tmp_path / "bm25" / seg.name / "paper_order.npy").unlink()
        reloaded = bm25.load(tmp_path / "bm25")
        assert reloaded is not None and all(s.by_paper is None for s in reloaded.segments)
        index = reloaded
    rng = random.Random(7)
    windows = [
        catalog.paper_ids_in_window(date(2025, 3, 24), date(2025, 3, 30)),
        set(rng.sample(ids, 40)) | {"2503.99999", ids[6]},  # a paper the index never had, a removed one
        set(),
    ]
    assert len(windows[0]) > 40
    for allowed in windows:
        for query in ("graph robot", "quantum molecule satellite", "language 17", "axolotl"):
            everything = index.top(query, 10**9)
            want = [r for r in everything if r[1] in allowed][:25]
            got = index.top(query, 25, allowed)
            _ranked_equal(got, want)
            assert all(pid in allowed for _, pid, _ in got)
            assert ids[6] not in {pid for _, pid, _ in got}  # removed: masked out of the window too


def test_rows_of_finds_each_papers_rows(tmp_path: Path) -> None:
    catalog, ids = _window_catalog(tmp_path)
    seg = bm25.refresh(catalog, tmp_path / "bm25").segments[0]
    wanted = np.array(sorted({ids[0], ids[6], ids[150], ids[299], "zzz", "0000"}), dtype=str)
    brute = [i for i in range(seg.rows) if str(seg.paper_ids[i]) in set(wanted) and i not in seg.masked]
    assert seg.rows_of(wanted).tolist() == brute
    assert len(brute) == 3  # ids[6] was removed: its row is masked


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    out = {
        table: sorted(db.execute(f"SELECT * FROM {table}"))  # fixed table names
        for table in ("papers", "listings", "chunks", "stale_vectors")
    }
    db.close()
    return out


def _mixed_day() -> tuple[list[Paper], list[Paper]]:
    """A stored set, then a day mixing new papers, re-sightings, a changed abstract and an id upgrade."""
    title = "Sparse Mixture of Experts for Weather Forecasting"
    page = Paper(id=title_hash_id(title), title=title, abstract="Experts forecast weather.",
                 listing_dates=(date(2025, 3, 13),), sources=("hf-page:x.txt",))
    stored = [*_papers(0, 30, 4), page]
    day = [
        *_papers(30, 10, 5),
        replace(stored[0], listing_dates=(date(2025, 3, 20),), sources=("hf-api",)),  # metadata only
        replace(stored[1], abstract="A wholly new abstract about robot planning."),  # re-chunked
        stored[2],  # unchanged
        replace(page, id="2503.99999", arxiv_id="2503.99999", title=title.upper(), listing_dates=(date(2025, 3, 14),)),
    ]
    return stored, day


def test_batched_ingest_writes_what_one_paper_at_a_time_writes(tmp_path: Path) -> None:
    stored, day = _mixed_day()
    catalogs = []
    for name, batches in (("together", [day]), ("one_by_one", [[p] for p in day])):
        config = StoreConfig(data_dir=tmp_path / name)
        with Index(config) as index:
            ingest_papers(index, stored, lexical_only=True)
            reports = [ingest_papers(index, batch, lexical_only=True) for batch in batches]
            assert sum(r.new for r in reports) == 10 and sum(r.unchanged for r in reports) == 1
            assert index.catalog.get(title_hash_id(day[-1].title)) is None  # the upgraded record moved
            catalogs.append(config.catalog_path)
    together, one_by_one = (_dump(p) for p in catalogs)
    for table in ("papers", "listings", "stale_vectors"):
        assert together[table] == one_by_one[table], table
    # chunk rows agree except for the generation that added them (one commit against several)
    assert [r[:5] for r in together["chunks"]] == [r[:5] for r in one_by_one["chunks"]]
    # the moved record's old vector waits for deletion (the re-chunked paper keeps its chunk id: upserted over)
    assert together["stale_vectors"] == [(f"{title_hash_id(day[-1].title)}#0",)]


def test_find_stored_many_answers_like_single_lookups(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    papers = _papers(0, 5, 6)
    twin = replace(papers[1], id="2503.77777")  # a second row with papers[1]'s title
    _put(catalog, [*papers, twin])
    probes = [
        papers[0],
        replace(papers[1], id="t-unseen"),  # found by title: the first row stored with it
        Paper(id="2599.00001", title="Nothing like it", abstract="x"),
        replace(papers[3], title="A new title entirely"),  # found by id
    ]
    found = catalog.find_stored_many(probes)
    assert [s.paper.id if s else None for s in found] == [papers[0].id, papers[1].id, None, papers[3].id]
    assert found[0] is not None and found[0].chunk_ids == (f"{papers[0].id}#0",)
    assert [catalog.find_stored(p) for p in probes] == found


def test_an_abstract_that_fits_is_one_chunk_and_a_long_one_is_split() -> None:
    words = " ".join(WORDS)
    fits = Paper(id="2501.00001", title="Short", abstract=f"{words}. " * 3)
    long = Paper(id="2501.00002", title="Long", abstract=f"{words}. " * 60)
    assert [c.text for c in chunk_paper(fits, size=384, overlap=48)] == [f"Short\n\n{fits.abstract.strip()}"]
    pieces = chunk_paper(long, size=384, overlap=48)
    assert len(pieces) > 3 and all(count_tokens(c.text) <= 384 for c in pieces)


def test_real_abstracts_chunk_within_size(shared_dir: Path) -> None:
    papers = load_files([shared_dir / "data" / "arxiv_daily_cs" / "sample_first1000.jsonl"], IngestReport())
    chunks = [c for p in papers for c in chunk_paper(p, size=384, overlap=48)]
    assert len(papers) == 1000 and len(chunks) >= 1000
    assert max(count_tokens(c.text) for c in chunks) <= 384


def _asdict_json(paper: Paper) -> dict[str, object]:
    """``Paper.to_json`` as it was written before: dataclasses.asdict, then the optional fields."""
    data = asdict(paper)
    data["published"] = paper.published.isoformat() if paper.published else None
    data["listing_dates"] = [d.isoformat() for d in paper.listing_dates]
    for key in ("authors", "sources", "keywords", "categories"):
        data[key] = list(data[key])
    if paper.version is None:
        del data["version"]
    del data["revised_dates"]
    if paper.revised_dates:
        data["revised_dates"] = [d.isoformat() for d in paper.revised_dates]
    if paper.previous_titles:
        data["previous_titles"] = list(paper.previous_titles)
    else:
        del data["previous_titles"]
    return data


def test_stored_json_and_hash_are_what_asdict_gave() -> None:
    base = Paper(id="2501.00001", title="T", abstract="A", authors=("X", "Y"), published=date(2025, 1, 2),
                 listing_dates=(date(2025, 1, 3),), sources=("file:x",), url="u", upvotes=3, keywords=("k",),
                 arxiv_id="2501.00001", categories=("cs.CL",))
    variants = [base, replace(base, version=2), replace(base, previous_titles=("Old",)),
                replace(base, version=3, revised_dates=(date(2025, 2, 1),), previous_titles=("Old", "Older")),
                Paper(id="t-1", title="Only a title", abstract="")]
    for paper in variants:
        assert json.dumps(paper.to_json()) == json.dumps(_asdict_json(paper))  # same keys, same order
        fresh = replace(paper)  # the cached hash is per object and never stale
        assert paper.content_hash == fresh.content_hash
    assert len({p.content_hash for p in variants}) == len(variants)
    assert replace(base, abstract="B").text_hash != base.text_hash


def test_coverage_and_listing_range_from_indexes(tmp_path: Path) -> None:
    catalog, ids = _window_catalog(tmp_path)
    total = catalog.count_chunks()
    assert not catalog.has_vectors() and catalog.dense_coverage() == (0, total)
    catalog.mark_embedded([f"{ids[0]}#0", f"{ids[1]}#0"])
    assert catalog.has_vectors() and catalog.dense_coverage() == (2, total)
    assert catalog.listing_range() == (date(2025, 3, 1), date(2025, 3, 30))
    plan = " ".join(str(r) for r in catalog._db.execute(
        "EXPLAIN QUERY PLAN SELECT EXISTS(SELECT 1 FROM chunks WHERE embedded = 1)"
    ))
    assert "chunks_embedded" in plan  # a probe of the partial index, not a scan of every chunk
