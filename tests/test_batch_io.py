"""Batch files without a model: inputs (txt, JSONL, CSV, stdin), the line writer, resume planning."""

from __future__ import annotations

import errno
import io
import json
import os
import threading
from pathlib import Path

import pytest

from agent.batch import output as batch_output
from agent.batch.io import BatchInputError, Job, derived_id, read_input
from agent.batch.output import JsonlWriter, apply_resume, plan_resume, read_output


def _write(path: Path, text: str | bytes) -> str:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


# --- inputs ------------------------------------------------------------------------


def test_text_comments_blanks_duplicates_and_line_numbers(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "q.txt",
        "\ufeff# reading group, week 3\n\nWhat is speculative decoding?\r\n  # indented comment\n"
        "Which C# compilers are fast?\nWhat is   speculative decoding?\n\n",
    )
    batch = read_input(src)
    assert batch.format == "txt"
    assert [(j.line, j.question) for j in batch.jobs] == [
        (3, "What is speculative decoding?"),
        (5, "Which C# compilers are fast?"),  # '#' inside a question is text
    ]
    # the repeat (whitespace aside) is one job, answered once, and reported
    assert [(d.line, d.first_line) for d in batch.duplicates] == [(6, 3)]
    assert batch.rows == 3 and not batch.invalid
    assert all(j.id.startswith("q-") and len(j.id) == 14 for j in batch.jobs)


def test_derived_ids_are_stable_and_include_a_rows_own_window(tmp_path: Path) -> None:
    first = read_input(_write(tmp_path / "a.txt", "Q one?\nQ two?\n")).jobs
    later = read_input(_write(tmp_path / "b.txt", "New question?\nQ two?\n# note\nQ one?\n")).jobs
    assert {j.question: j.id for j in first}.items() <= {j.question: j.id for j in later}.items()
    assert derived_id("Q one?") != derived_id("Q one?", since="2025-03-10")
    assert derived_id("Q  one? ") == derived_id("Q one?")


def test_jsonl_rows_ids_windows_and_bad_lines_with_numbers(tmp_path: Path) -> None:
    rows = [
        '{"id": "a", "question": "Tiles for contrastive loss?", "since": "2025-03-10"}',
        '{"id": 7, "question": "Draft models?"}',
        '{"question": "no id here", "until": "2025-03-12"}',
        '{"id": "b", "question": "broken" ',  # malformed JSON
        '"a bare string is a question"',
        '{"id": "c"}',  # no question
        '{"id": true, "question": "bool id"}',
        '{"id": "a", "question": "another question, same id"}',
        '{"id": "a", "question": "Tiles for contrastive loss?", "since": "2025-03-10"}',
        '{"id": "d", "question": "Draft models?"}',  # same text, its own id: its own job
        "[1, 2]",
        '{"id": "e", "question": "bad date", "since": 20250310}',
    ]
    batch = read_input(_write(tmp_path / "q.jsonl", "\n".join(rows[:3]) + "\n\n" + "\n".join(rows[3:]) + "\n"))
    assert batch.format == "jsonl"
    by_id = {j.id: j for j in batch.jobs}
    assert list(by_id)[:2] == ["a", "7"] and by_id["a"].since == "2025-03-10" and by_id["a"].explicit_id
    assert {"d", "7"} <= set(by_id) and by_id["d"].question == by_id["7"].question
    no_id = next(j for j in batch.jobs if j.question == "no id here")
    assert no_id.until == "2025-03-12" and no_id.id == derived_id("no id here", None, "2025-03-12")
    assert any(j.question == "a bare string is a question" for j in batch.jobs)
    invalid = dict(batch.invalid)
    assert set(invalid) == {5, 7, 8, 9, 12, 13}
    assert "not valid JSON" in invalid[5] and "column" in invalid[5]
    assert "question" in invalid[7] and '"id"' in invalid[8]
    assert "already used on line 1" in invalid[9]
    assert "expected an object" in invalid[12] and "since" in invalid[13]
    assert [(d.line, d.first_line, d.id) for d in batch.duplicates] == [(10, 1, "a")]


def test_csv_header_columns_quotes_and_line_numbers(tmp_path: Path) -> None:
    text = (
        "ID,Question,since,notes\n"
        'r1,"What is speculative decoding?",,x\n'
        "\n"
        'r2,"A question, with a comma\nand a second line?",2025-03-10,\n'
        "r3,,,empty question\n"
        "r4,Plain question?\n"
    )
    batch = read_input(_write(tmp_path / "q.csv", text))
    assert batch.format == "csv"
    assert [(j.id, j.line, j.since) for j in batch.jobs] == [("r1", 2, None), ("r2", 4, "2025-03-10"), ("r4", 7, None)]
    assert batch.jobs[1].question == "A question, with a comma and a second line?"
    assert batch.invalid == [(6, "the question is empty")]
    with pytest.raises(BatchInputError, match=r"line 1: CSV has no 'question' column \(columns: id, text\)"):
        read_input(_write(tmp_path / "bad.csv", "id,text\n1,hello\n"))


@pytest.mark.parametrize(
    ("data", "fmt", "questions"),
    [
        (b'{"id": "x", "question": "From JSONL?"}\n', "jsonl", ["From JSONL?"]),
        (b"id,question\n1,From CSV?\n", "csv", ["From CSV?"]),
        (b"# comment\nFrom text, with a comma?\nSecond?\n", "txt", ["From text, with a comma?", "Second?"]),
    ],
)
def test_stdin_format_is_sniffed(data: bytes, fmt: str, questions: list[str]) -> None:
    batch = read_input("-", stdin=io.BytesIO(data))
    assert batch.name == "<stdin>" and batch.format == fmt
    assert [j.question for j in batch.jobs] == questions


def test_forced_format_and_extensionless_files(tmp_path: Path) -> None:
    src = _write(tmp_path / "questions", '{"question": "sniffed?"}\n')
    assert read_input(src).format == "jsonl"
    assert read_input(src, fmt="txt").jobs[0].question == '{"question": "sniffed?"}'
    with pytest.raises(BatchInputError, match="--format"):
        read_input(src, fmt="yaml")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "no such file"),
        ("bin.txt", b"What?\x00\x01\x02", "binary file"),
        ("latin1.txt", "Q one?\nQ caf\xe9?\n".encode("latin-1"), "line 2: not UTF-8"),
        ("empty.txt", b"# only comments\n\n", "no questions"),
        ("empty.jsonl", b"\n\n", "no questions"),
    ],
)
def test_unusable_inputs(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BatchInputError, match=message):
        read_input(str(path))
    with pytest.raises(BatchInputError, match="directory"):
        read_input(str(tmp_path))


# --- the writer ----------------------------------------------------------------------


def test_writer_one_os_write_per_whole_line_across_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.jsonl"
    calls: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes | memoryview) -> int:
        if fd > 2:
            calls.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(batch_output.os, "write", spy)
    text = 'naïve ünïcode, a quote " and a\nnewline\u2028separator ' * 40
    with JsonlWriter(path) as writer:

        def fifty(t: int) -> None:
            for i in range(50):
                writer.write({"id": f"{t}-{i}", "status": "ok", "answer": text})

        threads = [threading.Thread(target=fifty, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(calls) == 400 and all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in calls)
    records = [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]
    assert len({r["id"] for r in records}) == 400 and records[0]["answer"] == text
    # appending again keeps what is there (O_APPEND, not truncate)
    with JsonlWriter(path) as writer:
        writer.write({"id": "extra", "status": "ok"})
    assert path.read_bytes().count(b"\n") == 401


def test_writer_failure_leaves_no_partial_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.jsonl"
    with JsonlWriter(path) as writer:
        writer.write({"id": "1", "status": "ok"})
        real_write = os.write

        def half_then_full_disk(fd: int, data: bytes | memoryview) -> int:
            if len(data) > 10:
                return real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(batch_output.os, "write", half_then_full_disk)
        with pytest.raises(OSError, match="No space"):
            writer.write({"id": "2", "status": "ok", "answer": "x" * 100})
        monkeypatch.setattr(batch_output.os, "write", real_write)
        writer.write({"id": "3", "status": "ok"})
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == ["1", "3"]


# --- resume --------------------------------------------------------------------------


def _jobs(*specs: tuple[str, str]) -> list[Job]:
    return [Job(i, q, n, explicit_id=True) for n, (i, q) in enumerate(specs, 1)]


def _line(rid: str, status: str = "ok", question: str = "") -> str:
    rec = {"id": rid, "status": status, "question": question or f"question {rid}"}
    if status == "error":
        rec["error"] = "HTTP 500"
    return json.dumps(rec)


def test_resume_by_id_retries_errors_and_drops_a_torn_tail(tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    torn = _line("c")[:17]  # a kill inside a write, from an older writer
    out.write_text("\n".join([_line("a"), _line("b", "error"), _line("x"), torn]))
    jobs = _jobs(("a", "question a"), ("b", "question b"), ("c", "question c"))
    plan = plan_resume(out, jobs)
    assert plan.done == {"a"} and plan.torn and plan.retried == 1 and plan.other_ids == 1
    assert [j.id for j in plan.pending(jobs)] == ["b", "c"]
    apply_resume(out, plan)
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a", "x"]
    assert out.read_bytes().endswith(b"\n")
    assert not list(tmp_path.glob(".*resume-tmp"))
    # a clean file is not rewritten
    before = out.stat().st_mtime_ns
    again = plan_resume(out, jobs)
    assert not again.rewrite and again.done == {"a"}
    apply_resume(out, again)
    assert out.stat().st_mtime_ns == before


def test_resume_keeps_one_line_per_id_and_matches_by_question_text(tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    out.write_text(
        "\n".join(
            [
                _line("a", "error"),
                _line("a"),  # a later ok wins over an earlier error
                _line("a"),  # a repeated ok line is dropped
                _line("old-7", question="What is  speculative decoding?"),  # id from an older input
            ]
        )
        + "\n"
    )
    jobs = _jobs(("a", "question a"), ("new-7", "What is speculative decoding?"))
    plan = plan_resume(out, jobs)
    assert plan.done == {"a", "new-7"} and plan.by_text == 1 and plan.dropped_duplicates == 1
    apply_resume(out, plan)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["id"], r["status"]) for r in records] == [("a", "ok"), ("new-7", "ok")]


def test_resume_refuses_a_file_that_is_not_batch_output(tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    out.write_text(_line("a") + "\nnot json at all\n" + _line("b") + "\n")
    with pytest.raises(BatchInputError, match="line 2: not a batch answer line"):
        plan_resume(out, _jobs(("a", "q")))
    out.write_text('{"question": "an input row, not an answer"}\n' + _line("b") + "\n")
    with pytest.raises(BatchInputError, match="line 1"):
        read_output(out)
    assert plan_resume(tmp_path / "absent.jsonl", _jobs(("a", "q"))).done == set()
