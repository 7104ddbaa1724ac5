"""Answers worth reading from a small model: quote-then-write, per-sentence support, invented links.

Real index and embedder, real HTTP on loopback: the scripted OpenAI-compatible server
plays the model, so each test states exactly what the model wrote and checks what
paperbrief made of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.ask.pipeline import AskOptions, ask, build_sources
from agent.ask.quote_write import select_quotes
from agent.cli.app import main
from agent.runtime import build_llm
from agent.settings import load_settings
from agent.types import Answer
from store.index import Index
from store.retrieve import search
from tests.support.openai_server import OpenAIServer, Reply

QUESTION = "How can a small model speed up LLM decoding?"
SMALL = "smollm2-test"  # a name that makes the model count as small (agent.llm.base.LLM.is_small)
#: a close paraphrase of the speculative-decoding abstract's second sentence (its support is "supported")
CLOSE = (
    "A small draft model proposes several tokens that the large model verifies in one forward pass, "
    "which speeds up generation"
)


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"models": ("gpt-test", SMALL)}


def _settings(index_dir: Path, server: OpenAIServer, model: str):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=index_dir, openai_base_url=server.url, openai_api_key="sk-test", model=model)


def _ask(index_dir: Path, server: OpenAIServer, model: str, question: str = QUESTION, **kw: object) -> Answer:
    settings = _settings(index_dir, server, model)
    with Index(settings.store_config()) as idx:
        return ask(question, index=idx, llm=build_llm(settings), options=AskOptions(**kw))  # type: ignore[arg-type]


def _quotes(index_dir: Path, question: str = QUESTION) -> list[str]:
    """The quotes quote-then-write will pick for ``question`` (so a test can script faithful rewrites)."""
    with Index(load_settings(data_dir=index_dir).store_config()) as idx:
        sources = build_sources(idx, search(idx, question, k=6), 3)
        return [q.text for q in select_quotes(question, sources, idx.embedder)]


DRAFT = (
    "A small draft model proposes several tokens that the large model verifies in one forward pass, which speeds "
    "up generation 2.8 times on a chat benchmark while producing exactly the same outputs."
)


def test_small_model_answers_by_quote_then_write_with_citations_attached(index_dir: Path, server: OpenAIServer) -> None:
    quotes = _quotes(index_dir)
    assert quotes, "the top source has sentences to quote"
    assert quotes[0] == DRAFT
    faithful = "A small draft model proposes tokens that the large model checks in one pass: 2.8 times faster."
    stretch = "In short, " + " ".join(DRAFT.split()[:22]).rstrip(",;") + "."  # a stretch with filler: a copy
    invented = "See https://github.com/apple/axlearn/docs/research/mmau for the full method and its code."
    # each quote after the first: a rewrite with a link, then (its second style) a plain rewrite with one too
    server.push(Reply(text=faithful), *[Reply(text=invented) for _ in quotes[1:] for _style in range(2)])
    answer = _ask(index_dir, server, SMALL)

    assert answer.mode == "quote-then-write" and answer.prompt.name == "answer_rewrite"
    # one single-source task per call: each request carries one sentence, never the numbered sources; the
    # first quote's rewrite passed, so it got one call; each other quote got both styles
    requests = server.chat_requests
    asked = [quotes[0]] + [q for q in quotes[1:] for _style in range(2)]
    assert len(requests) == len(asked)
    for request, quote in zip(requests, asked, strict=True):
        user = request.body["messages"][-1]["content"]
        assert f"<sentence>{quote}</sentence>" in user and "<source" not in user
    questions = ["Question:" in r.body["messages"][-1]["content"] for r in requests]
    assert questions == [True] + [True, False] * (len(quotes) - 1)  # the plain style does not show the question
    first = answer.sentences[0]
    assert first.mode == "quote-then-write" and first.text == faithful and first.quote == quotes[0]
    assert first.citations == [answer.sources[0].n]  # attached by paperbrief; the model wrote none
    # the rewrite with a made-up link failed its check: the quote is shown instead, and no link at all
    for sentence, quote in zip(answer.sentences[1:], quotes[1:], strict=True):
        assert sentence.mode == "extractive" and sentence.text == quote
    assert "github.com" not in answer.text
    # ask --json lists every rewrite call: what the model wrote and why a rejected one was not shown
    rewrites = answer.to_json()["rewrites"]
    assert isinstance(rewrites, list) and (rewrites[0]["ok"], rewrites[0]["rewrite"]) == (True, faithful)
    assert all(not r["ok"] and r["reason"] == "link not in the quote" for r in rewrites[1:])
    styles = ["answer_rewrite"] + ["answer_rewrite", "answer_plain"] * (len(quotes) - 1)
    assert [r["prompt"] for r in rewrites] == styles
    if len(quotes) > 1:
        assert any("link not in the quote" in w for w in answer.warnings)
    copies_script = [Reply(text=stretch), Reply(text=stretch)] + [Reply(text=q) for q in quotes[1:] for _ in range(2)]
    server.push(*copies_script)  # copies are not rewrites, in either style
    copies = _ask(index_dir, server, SMALL)
    assert copies.mode == "extractive" and all(s.mode == "extractive" for s in copies.sentences)
    assert any("copied the quote" in w for w in copies.warnings)
    assert [c.paper_id for c in answer.citations] == ["2501.00002"]
    for sentence in answer.sentences:
        assert sentence.support is not None and sentence.support.source_n in sentence.citations
        assert sentence.support.source_sentence in answer.sources[0].text
    assert answer.sentences[0].support is not None and answer.sentences[0].support.verdict == "supported"


def test_when_every_shown_rewrite_fails_a_spare_sentence_gets_one_more_try(
    index_dir: Path, server: OpenAIServer
) -> None:
    from agent.ask.quote_write import Quote, quote_then_write
    from agent.prompts import load_prompt

    first = Quote(1, "Speculative Decoding", "Large language model inference is memory bound on most hardware.", 0.6)
    second = Quote(2, "Tiles", "We partition the loss computation into small tiles on eight GPUs.", 0.5)
    spare = Quote(1, "Speculative Decoding", DRAFT, 0.4)
    rewrite = (
        "A small draft model proposes tokens that the large model verifies in a single pass, so generation is 2.8 "
        "times faster."
    )
    server.push(Reply(text=first.text), Reply(text=second.text), Reply(text=rewrite))
    settings = _settings(index_dir, server, SMALL)
    with Index(settings.store_config()) as idx:
        written = _drain(quote_then_write(
            QUESTION, [first, second, spare], llm=build_llm(settings), embedder=idx.embedder,
            styles=[load_prompt("answer_rewrite")], retries=1,
        ))
    assert len(server.chat_requests) == 3, written.attempts  # two shown quotes, one spare
    assert "<sentence>" + DRAFT + "</sentence>" in server.chat_requests[2].body["messages"][-1]["content"]
    # the spare's rewrite takes the place of the failed quote of its own source; the other quote stays
    assert [(s.mode, s.citations, s.text) for s in written.sentences] == [
        ("quote-then-write", [1], rewrite), ("extractive", [2], second.text)
    ], written.attempts
    assert [(a.ok, a.reason) for a in written.attempts] == [
        (False, "copied the quote"), (False, "copied the quote"), (True, "")
    ]
    server.push(Reply(text=rewrite), Reply(text="Generation is faster."))  # one shown rewrite passed: no spare
    with Index(settings.store_config()) as idx:
        again = _drain(quote_then_write(
            QUESTION, [spare, second, first], llm=build_llm(settings), embedder=idx.embedder,
            styles=[load_prompt("answer_rewrite")], retries=1,
        ))
    assert len(server.chat_requests) == 5 and len(again.attempts) == 2


def test_a_quote_whose_rewrite_fails_is_rewritten_once_more_in_plain_words(
    index_dir: Path, server: OpenAIServer
) -> None:
    from agent.ask.quote_write import Quote, quote_then_write, rewrite_styles

    quote = Quote(1, "Speculative Decoding", DRAFT, 0.6)
    other = Quote(2, "Tiles", "We partition the loss computation into small tiles on eight GPUs.", 0.5)
    plain = "A small draft model proposes tokens that the large model checks in one pass: 2.8 times faster."
    server.push(
        Reply(text=DRAFT),  # the first style copied the quote
        Reply(text=plain),  # the plain style rewrote it: shown
        Reply(text="The loss computation is split into small tiles on eight GPUs."),  # first style passed
    )
    settings = _settings(index_dir, server, SMALL)
    with Index(settings.store_config()) as idx:
        written = _drain(quote_then_write(
            QUESTION, [quote, other], llm=build_llm(settings), embedder=idx.embedder, styles=rewrite_styles(),
        ))
    assert [(a.prompt, a.ok, a.reason) for a in written.attempts] == [
        ("answer_rewrite", False, "copied the quote"), ("answer_plain", True, ""), ("answer_rewrite", True, ""),
    ]
    assert [s.mode for s in written.sentences] == ["quote-then-write", "quote-then-write"]
    assert written.sentences[0].text == plain and written.sentences[0].quote == DRAFT
    assert len(server.chat_requests) == 3  # a quote whose first rewrite passed gets no second call
    plain_request = server.chat_requests[1].body["messages"][-1]["content"]
    assert "Question:" not in plain_request and f"<sentence>{DRAFT}</sentence>" in plain_request


def test_only_a_first_line_the_token_limit_fell_in_is_cut_off(index_dir: Path, server: OpenAIServer) -> None:
    from agent.ask.quote_write import Quote, quote_then_write
    from agent.prompts import load_prompt

    quote = Quote(1, "Speculative Decoding", DRAFT, 0.6)
    line = "A small draft model proposes tokens that the large model verifies in a single pass: 2.8 times faster."
    server.push(
        Reply(text=line + "\nThe rest rambles on and on until", finish_reason="length"),  # the kept line is whole
        Reply(text=line[:60], finish_reason="length"),  # the kept line itself was cut
    )
    settings = _settings(index_dir, server, SMALL)
    with Index(settings.store_config()) as idx:
        whole, cut = (
            _drain(quote_then_write(
                QUESTION, [quote], llm=build_llm(settings), embedder=idx.embedder,
                styles=[load_prompt("answer_rewrite")], retries=0,
            ))
            for _ in range(2)
        )
    assert whole.sentences[0].mode == "quote-then-write" and whole.sentences[0].text == line
    assert [a.reason for a in cut.attempts] == ["cut off at the token limit"]


def _drain(gen):  # type: ignore[no-untyped-def]
    """Run a generator to its end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def test_a_question_in_an_abstract_is_never_a_quote(index_dir: Path) -> None:
    from datetime import date

    from agent.types import Source

    text = "But how can a small model speed up LLM decoding? " + DRAFT
    sources = [Source(1, "p1", "Speculative Decoding", date(2025, 3, 10), text)]
    with Index(load_settings(data_dir=index_dir).store_config()) as idx:
        quotes = select_quotes(QUESTION, sources, idx.embedder, max_quotes=4)
    assert [q.text for q in quotes] == [DRAFT]


def test_rewrite_adding_a_number_or_a_name_is_shown_as_its_quote(index_dir: Path, server: OpenAIServer) -> None:
    quotes = _quotes(index_dir)
    made_up = Reply(text="Draft models make generation 9.5 times faster on GPT-4.")
    server.push(made_up, *[Reply(text="") for _ in quotes[1:]])
    answer = _ask(index_dir, server, "gpt-test", strategy="quote-then-write")
    assert answer.mode == "extractive"  # every rewrite failed: pure quotes, labelled as such
    assert all(s.mode == "extractive" for s in answer.sentences)
    assert "9.5" not in answer.text and answer.text.startswith("Extractive answer")
    assert any("number not in the quote" in w for w in answer.warnings)


def test_capable_model_keeps_the_single_prompt(index_dir: Path, server: OpenAIServer) -> None:
    server.push(Reply(text=f"{CLOSE} [1]. Coral reefs bleach in warm water [1]."))
    answer = _ask(index_dir, server, "gpt-test")
    assert answer.mode == "generative" and answer.prompt.name == "answer" and len(server.chat_requests) == 1
    assert [s.text for s in answer.sentences] == [
        f"{CLOSE}.",
        "Coral reefs bleach in warm water.",
    ]
    assert all(s.citations == [1] and s.mode == "generative" for s in answer.sentences)
    first, second = (s.support for s in answer.sentences)
    assert first is not None and second is not None
    assert first.verdict == "supported" and second.verdict != "supported" and first.score > second.score


def test_generated_answer_with_an_invented_link_falls_back_to_quotes(index_dir: Path, server: OpenAIServer) -> None:
    server.push(Reply(text="The draft model method is at https://github.com/apple/axlearn/docs/research/mmau [1]."))
    answer = _ask(index_dir, server, "gpt-test")
    assert answer.mode == "extractive" and "github.com" not in answer.text
    assert any("is in no source" in w for w in answer.warnings)
    assert answer.sentences and all(s.mode == "extractive" and s.quote for s in answer.sentences)


def test_ask_json_has_sentences_and_the_terminal_shows_markers(
    index_dir: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    reply = f"{CLOSE} [1]."
    server.push(Reply(text=reply), Reply(text=reply))
    main(["--data-dir", str(index_dir), "ask", QUESTION, "--model", "gpt-test", "--json"])
    data = json.loads(capsys.readouterr().out)
    sentence = data["sentences"][0]
    assert sentence["text"] == reply.removesuffix(" [1].") + "." and sentence["citations"] == [1]
    assert set(sentence["support"]) >= {"score", "source_sentence", "verdict"}
    assert sentence["support"]["verdict"] == "supported" and data["support"]["supported"] == 1
    main(["--data-dir", str(index_dir), "ask", QUESTION, "--model", "gpt-test"])
    shown = capsys.readouterr().out
    assert re.search(r"generation\. \[1\] ✓", shown) and "1 ✓ supported" in shown


def test_ask_quotes_shows_the_source_sentence_under_each_rewritten_one(
    index_dir: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    quotes = _quotes(index_dir)
    faithful = "A small draft model proposes tokens that the large model checks in one pass: 2.8 times faster."
    rest = [Reply(text="[bold]x[/bold] https://evil.example/a") for _ in range(12)]  # fails: the quote is shown
    for flag in ([], ["--quotes"]):
        server.push(Reply(text=faithful), *rest)
        main(["--data-dir", str(index_dir), "ask", QUESTION, "--model", SMALL, *flag])
        shown = capsys.readouterr().out
        assert faithful in " ".join(shown.split())  # the terminal wraps long lines
        assert ("↳" in shown) == bool(flag)
        server.script.clear()
    flat = " ".join(shown.split())
    assert f"↳ “{' '.join(quotes[0].split())}”" in flat
    assert shown.count("↳") == 1  # only the rewritten sentence has its quote under it: the others are quotes


def test_saving_a_chat_turn_writes_a_case_that_needs_review(
    index_dir: Path, server: OpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.conversations import ConversationStore
    from evals.cases import load_case_file

    server.push(Reply(text=f"{CLOSE} [1]."))
    answer = _ask(index_dir, server, "gpt-test")
    store = ConversationStore.for_data_dir(index_dir)
    conv = store.create("decoding")
    store.add_turn(conv.id, answer)
    cases = tmp_path / "cases"
    main(["--data-dir", str(index_dir), "eval", "add", "--from-conversation", str(conv.id), "--turn", "1",
          "--cases-dir", str(cases)])
    suite = load_case_file(cases / "saved.yaml")  # what `eval run` reads
    (case,) = suite.cases
    assert case.id == f"chat-c{conv.id}-t1" and case.kind == "ask" and case.question == QUESTION
    assert case.expect == ["2501.00002"] and case.needs_review and not case.should_abstain  # type: ignore[union-attr]
    assert "needs_review" in (cases / "saved.yaml").read_text(encoding="utf-8")
    # the same turn twice, or a turn that does not exist: one line, exit 2, the file unchanged
    before = (cases / "saved.yaml").read_bytes()
    for turn in ("1", "5"):
        with pytest.raises(SystemExit) as exit_info:
            main(["--data-dir", str(index_dir), "eval", "add", "--from-conversation", str(conv.id), "--turn", turn,
                  "--cases-dir", str(cases)])
        assert exit_info.value.code == 2
    assert (cases / "saved.yaml").read_bytes() == before
    err = capsys.readouterr().err
    assert "already saved" in err and "no turn 5" in err
