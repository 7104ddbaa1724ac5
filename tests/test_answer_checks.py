"""The checks behind quote-then-write and support markers, on text written for each case."""

from __future__ import annotations

from agent.checks.links import invented_links
from agent.checks.rewrite import REWRITE_SIMILARITY, check_rewrite, clean_rewrite, named_entities
from agent.checks.support import SUPPORTED, WEAK, verdict_for

QUOTE = "We evaluate SmolLM2 on 40 professional CTF tasks from 4 competitions, see https://cybench.github.io."


def test_invented_links_are_the_ones_no_source_carries() -> None:
    sources = ["Code at https://github.com/andyzoujm/cybench.", "No links here."]
    text = "Code: github.com/andyzoujm/cybench and https://github.com/apple/axlearn/docs/research/mmau."
    assert invented_links(text, sources) == ["https://github.com/apple/axlearn/docs/research/mmau"]
    assert invented_links("See HTTPS://www.GitHub.com/andyzoujm/cybench/.", sources) == []
    assert invented_links("No link at all [1].", sources) == []


def test_rewrite_checks_numbers_names_links_and_drift() -> None:
    ok = check_rewrite("SmolLM2 is evaluated on 40 professional CTF tasks.", QUOTE, "How is it evaluated?", 0.9)
    assert ok.ok
    assert check_rewrite("SmolLM2 solves 45 CTF tasks.", QUOTE, "q?", 0.9).reason.startswith("number not in")
    assert "GPT-4" in check_rewrite("SmolLM2 beats GPT-4 on CTF tasks.", QUOTE, "q?", 0.9).reason
    linked = check_rewrite("See https://evil.example/x for the tasks.", QUOTE, "q?", 0.9)
    assert linked.reason == "link not in the quote"
    drift = check_rewrite("SmolLM2 is evaluated on CTF tasks.", QUOTE, "q?", REWRITE_SIMILARITY - 0.01)
    assert not drift.ok and "drifted" in drift.reason
    assert check_rewrite("Yes.", QUOTE, "q?", 0.9).reason == "empty or too short"


def test_copies_cut_offs_and_new_words_are_not_rewrites() -> None:
    assert check_rewrite(QUOTE.split(",")[0], QUOTE, "q?", 1.0).reason == "copied the quote"
    cut = check_rewrite("SmolLM2 is evaluated on CTF tasks.", QUOTE, "q?", 0.9, cut_off=True)
    assert cut.reason.startswith("cut off")
    invented = "SmolLM2 likely shifts labour markets while automating accounting jobs on CTF tasks."
    assert check_rewrite(invented, QUOTE, "q?", 0.9).reason == "words not in the quote"


def test_rewrite_cleanup_and_entities() -> None:
    assert clean_rewrite('One-sentence answer: "It uses 40 tasks [3]."\nmore') == "It uses 40 tasks."
    assert named_entities("The model beats GPT-4 and vLLM in Paris.") == {"GPT-4", "vLLM", "Paris"}


def test_verdicts_follow_the_thresholds_and_need_a_citation() -> None:
    assert verdict_for(SUPPORTED, cited=True) == "supported"
    assert verdict_for(SUPPORTED + 0.2, cited=False) == "weak"  # nothing cited vouches for it
    assert verdict_for(WEAK, cited=True) == "weak"
    assert verdict_for(WEAK - 0.01, cited=True) == "unsupported"


def test_eval_metrics_count_modes_support_and_invented_links() -> None:
    from agent.prompts import load_prompt
    from agent.types import Answer, AnswerSentence, Support
    from evals.metrics import answer_quality

    sentences = [
        AnswerSentence("Tiles keep memory flat.", [1], "quote-then-write", Support(0.8, "q", 1, "supported")),
        AnswerSentence("See https://made.up/x.", [1], "quote-then-write", Support(0.2, "q", 1, "unsupported")),
    ]
    answer = Answer("q?", "Tiles keep memory flat [1]. See https://made.up/x [1].", [], [], [], False,
                    "quote-then-write", "m", load_prompt("answer_rewrite").ref, sentences=sentences)
    quality = answer_quality(answer, ["Tiles keep memory flat, see https://real.org."], "", answered=True)
    assert quality.metrics["answer.quote_then_write"] == 1.0 and quality.metrics["answer.written"] == 1.0
    assert quality.metrics["answer.extractive"] == 0.0
    assert quality.metrics["support.supported"] == 0.5 and quality.metrics["support.unsupported"] == 0.5
    assert quality.metrics["links.invented"] == 1.0 and quality.invented == ["https://made.up/x"]
    assert quality.unsupported == ["See https://made.up/x."]
    skipped = answer_quality(answer, [], "", answered=False)
    assert set(skipped.metrics.values()) == {None}


def test_near_copies_are_copies_and_compressions_are_told_apart() -> None:
    from agent.checks.rewrite import compressed

    quote = (
        "We then dynamically allocate the number of demonstrations for an input according to predictions "
        "from the meta controller and the given computation budget."
    )
    assert check_rewrite(quote.replace("We then", "We"), quote, "q?", 0.99).reason == "copied the quote"
    assert check_rewrite(quote.replace("then", "thus"), quote, "q?", 0.99).reason == "copied the quote"
    assert check_rewrite(quote.split(" according")[0] + ".", quote, "q?", 0.9).reason == "copied the quote"
    # a third of the words cut from the middle: the model chose what to keep, so the other checks judge it
    shortened = "We dynamically allocate the number of demonstrations for an input according to the meta controller."
    assert check_rewrite(shortened, quote, "q?", 0.95).ok and compressed(shortened, quote)
    written = "Demonstrations per input are allocated dynamically from the meta controller's predictions."
    assert check_rewrite(written, quote, "q?", 0.8).ok and not compressed(written, quote)


def test_a_rewrite_that_drops_or_adds_a_denial_is_rejected() -> None:
    quote = "To our knowledge, none of these datasets include images where the focus is on raindrops."
    flipped = "The datasets include images where the focus is on raindrops, which blurs the background."
    assert check_rewrite(flipped, quote, "q?", 0.9).reason == "negation changed"
    kept = "No known dataset includes images focused on raindrops."
    assert check_rewrite(kept, quote, "q?", 0.8).ok


def test_names_come_from_the_quote_not_the_question() -> None:
    quote = "It uses different control tokens for different preferences during training and inference."
    question = "How does AlphaZero-style planning generate training signals?"
    pinned = "AlphaZero-style planning relies on different control tokens for each preference in training."
    assert check_rewrite(pinned, quote, question, 0.8).reason == "name not in the quote: AlphaZero-style"
    flop = "Both the EU AI Act and the order use FLOP counts to identify powerful systems."
    assert named_entities(flop) >= {"EU", "AI", "Act", "FLOP"}
    quote2 = "The EU AI Act encodes FLOP thresholds as a way to identify more powerful systems."
    flop_based = "The EU AI Act identifies more powerful systems by FLOP-based thresholds."
    assert check_rewrite(flop_based, quote2, "q?", 0.8).ok
    gpus = "The Act covers systems of powerful GPUs."
    assert check_rewrite("The Act covers powerful GPU systems.", gpus, "q?", 0.8).ok


def test_inflections_and_compounds_of_the_quote_are_not_new_words() -> None:
    from agent.checks.rewrite import new_word_share

    quote = "For example, create a waterfall and take a scenic picture of it, with clarifying studies."
    assert new_word_share("Taking scenic pictures of created waterfalls.", quote) == 0.0
    assert new_word_share("A study of waterfall-picture taking.", quote) == 0.0
    assert new_word_share("Dolphins swim.", quote) == 1.0


def test_eval_report_tallies_rewrite_attempts_by_reason() -> None:
    from evals.report import rewrite_tally

    quote = "We then dynamically allocate the number of demonstrations for an input according to the budget."
    cases = [
        {"rewrites": [
            {"quote": quote, "rewrite": quote, "ok": False, "reason": "copied the quote"},
            {"quote": quote, "rewrite": "x", "ok": False, "reason": "number not in the quote: 9"},
        ]},
        {"rewrites": [
            {"quote": quote, "rewrite": "Demonstrations per input follow the budget.", "ok": True, "reason": ""},
            {"quote": quote, "rewrite": "y", "ok": False, "reason": "copied the quote"},
        ]},
        {"rewrites": []},
    ]
    line = rewrite_tally(cases)
    assert line is not None and line.startswith("Rewrite checks: 4 quote-then-write calls, 1 accepted (25%; 0 of them")
    assert line.endswith("rejected: copied the quote ×2, number not in the quote ×1.")
    assert rewrite_tally([{"rewrites": []}]) is None
    styled = [{"rewrites": [
        {"quote": quote, "rewrite": quote, "ok": False, "reason": "copied the quote", "prompt": "answer_rewrite"},
        {"quote": quote, "rewrite": "Demonstrations follow the budget.", "ok": True, "prompt": "answer_plain"},
    ]}]
    styled_line = rewrite_tally(styled)
    assert styled_line is not None and "by style: answer_rewrite 0 of 1, answer_plain 1 of 1;" in styled_line


def test_a_rewrite_made_of_the_question_is_not_the_quote_speaking() -> None:
    quote = "In some tasks, forgetting generalizes robustly and causes uninformative predictions on new instances."
    question = "Does rehearsing old tasks on a decaying schedule reduce forgetting in neural networks?"
    echo = "In some tasks, rehearsing old tasks on a decaying schedule can reduce forgetting in neural networks."
    assert check_rewrite(echo, quote, question, 0.8).reason == "restates the question"
    fair = "In some tasks, forgetting generalizes robustly, so predictions on new instances become uninformative."
    assert check_rewrite(fair, quote, question, 0.8).ok


def test_support_scoring_embeds_each_source_sentence_once_per_embedder() -> None:
    from collections.abc import Sequence

    import numpy as np

    from agent.checks.support import EmbeddingSupportScorer
    from agent.types import Source
    from store.embeddings import LocalOnnxEmbeddings

    class Counting(LocalOnnxEmbeddings):
        """The real local embedder, counting the texts it is asked to embed."""

        seen: list[str]

        def embed(self, texts: Sequence[str], on_batch: object = None) -> np.ndarray:
            self.seen.extend(texts)
            return super().embed(texts)

    embedder = Counting()
    embedder.seen = []
    source = Source(1, "2501.00002", "Speculative Decoding", None,
                    "A small draft model proposes tokens. The large model verifies them in one pass. "
                    "Generation is 2.8 times faster with the same outputs.")
    claim = ("Drafting with a small model makes generation 2.8 times faster.", [source], True)
    first = EmbeddingSupportScorer(embedder).score([claim])
    asked_first = len(embedder.seen)
    again = EmbeddingSupportScorer(embedder).score([claim])  # a new scorer, as each ask makes
    assert asked_first == 4 and len(embedder.seen) == asked_first + 1  # only the claim, the second time
    assert again == first and first[0].score > 0.5 and "2.8 times" in first[0].source_sentence


def test_misstatements_the_hand_review_found_are_rejected() -> None:
    """Each rule on a rewrite SmolLM2 wrote on the seed cases, and a faithful one it must let through."""
    tts = (
        "Test-Time Scaling (TTS) is an important method for improving the performance of Large Language Models "
        "(LLMs) by using additional computation during the inference phase."
    )
    turned = "Test-time scaling improves the performance of large language models by reducing computation."
    assert check_rewrite(turned, tts, "q?", 0.8).reason == "direction not in the quote: reducing"
    kept = "Test-time scaling improves large language models by using additional computation at inference."
    assert check_rewrite(kept, tts, "q?", 0.85).ok

    heads = "We identify intriguing properties of retrieval heads: all the explored long-context models have them."
    defined = "All explored long-context models have retrieval heads, which is a subset of sparse models."
    assert check_rewrite(defined, heads, "q?", 0.85).reason == "definition not in the quote"
    ibcl = "We show that models obtained by IBCL have guarantees in identifying the Pareto optimal parameters."
    assert check_rewrite("IBCL is a model with guarantees on Pareto optimal parameters.", ibcl, "q?", 0.85).reason == (
        "definition not in the quote"
    )

    glm = "It also outperforms ERNIE TITAN 3.0 260B, the largest Chinese language model, across related benchmarks."
    swapped = "The Chinese language model TITAN 3.0 260B outperformed ERNIE TITAN 3.0 260B across benchmarks."
    assert check_rewrite(swapped, glm, "q?", 0.89).reason == "name repeated: TITAN"

    cost = "Despite spending 23.4 person-minutes on each task, 15.1-40.3% of tasks remain unsolved."
    unit = "Human code preference is expensive, with 23.4% of tasks remaining unsolved."
    assert check_rewrite(unit, cost, "q?", 0.8).reason == "number's unit changed: 23.4"

    vllm = "Our evaluation shows that FastSwitch outperforms the serving system vLLM with speedups of 1.4-11.2x."
    meta = 'The main point of this sentence is that FastSwitch outperforms vLLM with speedups of 1.4-11.2x.'
    assert check_rewrite(meta, vllm, "q?", 0.86).reason == "talks about the sentence"
    original = 'The original sentence is: "Our evaluation shows that FastSwitch outperforms vLLM.'
    assert check_rewrite(original, vllm, "q?", 0.86).reason == "talks about the sentence"
