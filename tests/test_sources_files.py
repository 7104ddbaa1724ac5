"""load_file: format detection, source tags, and all-or-nothing failure on every bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from store.errors import SourceError
from store.sources.files import load_file

TODAY = date(2026, 4, 1)
PAGE = "Mar 13\n\nA Title\n\nAn abstract that ends properly.\n"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _jsonl(*records: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


GOOD = {"id": "2401.00001", "title": "A Title", "abstract": "An abstract.", "date": "2024-01-05"}


# --- the real files ------------------------------------------------------------


@pytest.mark.shared
def test_seed_page_txt(shared_dir: Path) -> None:
    papers = load_file(shared_dir / "seeds/000_f7422311099462f1.txt", today=TODAY)
    assert len(papers) == 80
    assert papers[0].sources == ("hf-page:000_f7422311099462f1.txt",)
    assert papers[0].listing_dates == (date(2026, 3, 13),)
    pinned = load_file(shared_dir / "seeds/001_a834c5e8dd613bd9.txt", year=2025)
    assert len(pinned) == 68
    assert pinned[0].listing_dates == (date(2025, 3, 11),)


@pytest.mark.shared
def test_hf_api_json(shared_dir: Path) -> None:
    papers = load_file(shared_dir / "data/hf_daily_papers/raw_api_2024-10-25_first2items.json")
    assert [p.id for p in papers] == ["2410.17243", "2410.16251"]
    assert papers[0].sources == ("hf-api",)
    single = load_file(
        shared_dir / "data/hf_daily_papers/raw_api_2026-03_single_item_from_doc.json"
    )
    assert [p.id for p in single] == ["2602.23229"]


@pytest.mark.shared
def test_paperexplorer_json(shared_dir: Path) -> None:
    papers = load_file(shared_dir / "data/hf_daily_papers/paperexplorer_2024/papers.json")
    assert len(papers) == 753
    assert papers[0].sources == ("file:papers.json",)


@pytest.mark.shared
def test_arxiv_recording_json_and_xml(shared_dir: Path) -> None:
    fix = shared_dir / "data/arxiv_atom_fixtures"
    from_json = load_file(fix / "new_api_2026_json/q_testing_s0_m10_bc5a6c384fe9.json")
    from_xml = load_file(fix / "new_api_2026_xml/q_testing_s0_m10_bc5a6c384fe9.xml")
    assert len(from_json) == 10
    assert from_json == from_xml
    assert from_json[0].sources == ("arxiv-api",)
    assert load_file(fix / "new_api_2026_xml/id_0000.0000_s0_m100_8b51d9633a68.xml") == []
    old = load_file(fix / "old_api_xml/search_query=au_del_maestro+AND+ti_checkerboard.xml")
    assert [p.arxiv_id for p in old] == ["cond-mat/0603029"]


@pytest.mark.shared
def test_arxiv_error_recording_raises(shared_dir: Path) -> None:
    path = (
        shared_dir / "data/arxiv_atom_fixtures/new_api_2026_json/id_abc_s0_m100_b79c8dcf6bc3.json"
    )
    with pytest.raises(SourceError) as info:
        load_file(path)
    assert str(info.value) == (
        "id_abc_s0_m100_b79c8dcf6bc3.json: arXiv API error: incorrect id format for abc"
    )


@pytest.mark.shared
def test_jsonl_plain_and_gzipped(shared_dir: Path, tmp_path: Path) -> None:
    sample = shared_dir / "data/arxiv_daily_cs/sample_first1000.jsonl"
    plain = load_file(sample)
    assert len(plain) == 1000
    assert plain[0].sources == ("file:sample_first1000.jsonl",)
    packed = tmp_path / "sample.jsonl.gz"
    with sample.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    unpacked = load_file(packed)
    assert [p.id for p in unpacked] == [p.id for p in plain]
    assert unpacked[0].sources == ("file:sample.jsonl.gz",)


# --- formats written by the tests ----------------------------------------------


def test_csv_and_ndjson(tmp_path: Path) -> None:
    csv_path = _write(tmp_path, "a.csv", "title,abstract,date\nT,An abstract.,2024-01-05\n")
    assert [p.title for p in load_file(csv_path)] == ["T"]
    assert load_file(csv_path)[0].sources == ("file:a.csv",)
    nd = _write(tmp_path, "b.ndjson", _jsonl(GOOD))
    assert [p.id for p in load_file(nd)] == ["2401.00001"]


def test_json_that_is_really_jsonl(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.json", _jsonl(GOOD, {**GOOD, "id": "2401.00002"}))
    assert [p.id for p in load_file(path)] == ["2401.00001", "2401.00002"]


def test_gzipped_page_and_atom_extension(tmp_path: Path) -> None:
    page = _write(tmp_path, "p.txt.gz", gzip.compress(PAGE.encode()))
    assert [p.title for p in load_file(page, today=TODAY)] == ["A Title"]
    assert load_file(page, today=TODAY)[0].sources == ("hf-page:p.txt.gz",)
    atom = _write(
        tmp_path,
        "f.atom",
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2401.00001v1'
        "</id><title>T</title><summary>S</summary></entry></feed>",
    )
    assert [p.arxiv_id for p in load_file(atom)] == ["2401.00001"]


def test_empty_api_day_is_no_papers(tmp_path: Path) -> None:
    assert load_file(_write(tmp_path, "day.json", "[]")) == []


# --- bad input: one line, naming the file (and line/field) ----------------------


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("e.jsonl", "", r"^e\.jsonl: file is empty$"),
        ("w.txt", " \n\n  \n", r"^w\.txt: file is empty$"),
        (
            "b.csv",
            b"title,abstract\n\x00\x01\x02",
            r"^b\.csv: binary file \(NUL byte at offset 15\)",
        ),
        (
            "u.jsonl",
            b'{"title": "ok"}\n{"title": "caf\xe9"}\n',
            r"^u\.jsonl:2: not UTF-8 text: invalid byte 0xe9 at byte offset 30",
        ),
        ("u16.txt", "Mar 13".encode("utf-16"), r"^u16\.txt: file is UTF-16 encoded"),
        (
            "t.json",
            '[{"paper": {"id": "2401.00001", "title": "T", "summ',
            r"^t\.json:1: invalid JSON: .*\(truncated\?\)$",
        ),
        ("s.json", '{"hello": "world"}', r"^s\.json: JSON of an unknown shape \(dict\)"),
        ("n.json", "42", r"^n\.json: JSON of an unknown shape \(int\)"),
        ("m.json", '[{"paper": {"title": "T"}}]', r"^m\.json:\[0\]\.paper\.summary: missing$"),
        ("p.txt", "new\n\nSubscribe\n\nMar 13\n", r"^p\.txt:5: the page lists no papers"),
        ("q.txt", "A Title\n\nAn abstract.\n", r"^q\.txt:1: no date line"),
        ("c.csv", "title,summary_text\nT,A\n", r"^c\.csv:1: missing required column 'abstract'"),
        (
            "d.jsonl",
            _jsonl(GOOD, {**GOOD, "date": "1970-01-01"}),
            r"^d\.jsonl:2: field 'date': date 1970-01-01 is implausible",
        ),
        (
            "f.jsonl",
            _jsonl({**GOOD, "date": "2999-12-31"}),
            r"^f\.jsonl:1: field 'date': date 2999-12-31",
        ),
        ("x.xml", "<feed><entry>", r"^x\.xml:1: malformed XML: no element found"),
        (
            "r.json",
            json.dumps(
                {
                    "url": "u",
                    "status_code": 503,
                    "body": "<feed xmlns='http://www.w3.org/2005/Atom'/>",
                }
            ),
            r"^r\.json:status_code: recorded HTTP status 503",
        ),
        (
            "h.json",
            json.dumps({"url": "u", "status_code": 502, "body": "<html>Bad Gateway</html>"}),
            r"^h\.json:status_code: recorded HTTP status 502",
        ),
        ("paper.pdf", "%PDF-1.7", r"^paper\.pdf: unknown file type \.pdf"),
        ("README", "hello", r"^README: unknown file type \(none\)"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, pattern: str
) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(SourceError, match=pattern) as info:
        load_file(path, today=TODAY)
    assert "\n" not in str(info.value)


def test_five_megabyte_abstract_names_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.jsonl", _jsonl(GOOD, {**GOOD, "abstract": "a " * 2_500_000}))
    with pytest.raises(
        SourceError, match=r"^big\.jsonl:2: field 'abstract' is 4,999,999 characters"
    ):
        load_file(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(_jsonl(GOOD, GOOD, GOOD).encode())
    path = _write(tmp_path, "t.jsonl.gz", data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"^t\.jsonl\.gz: truncated gzip"):
        load_file(path)


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.jsonl.gz", _jsonl(GOOD))
    with pytest.raises(SourceError, match=r"^n\.jsonl\.gz: not a valid gzip file"):
        load_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^gone\.jsonl: cannot read file"):
        load_file(tmp_path / "gone.jsonl")


def test_one_bad_row_fails_the_whole_file(tmp_path: Path) -> None:
    """Never a partial list: two good rows and one bad row give an error, not two papers."""
    path = _write(tmp_path, "mixed.jsonl", _jsonl(GOOD, {**GOOD, "id": "2401.00002"}) + "{oops\n")
    with pytest.raises(SourceError, match=r"^mixed\.jsonl:3: invalid JSON"):
        load_file(path)


def test_truncated_page_fails_the_whole_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "cut.txt", PAGE + "\nSecond Title\n")
    with pytest.raises(SourceError, match=r"^cut\.txt:7: title 'Second Title' has no abstract"):
        load_file(path, today=TODAY)
