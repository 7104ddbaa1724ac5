"""What a comparison cell may say: the table's aspects, the checks every cell passes, the quotes that replace failures.

Kept apart from the pipeline in ``agent.compare.pipeline`` so the rules are small enough to read
in one sitting and to test without a model:

* a cell may quote only numbers its own paper states (in digits or in words: "sixty
  times" allows 60, "four million" allows 4 and 4000000); numbers a model computes,
  converts or invents fail the check. Only digits in the cell are checked: word numbers
  such as "one" or "two" are too common in prose to hold against the model;
* a generated cell must not be empty, looping, over-long or an echo of the prompt; a small
  model's cell must also take most of its content words from the abstract;
* a cell that fails is replaced by the abstract sentence that best fits the aspect (MiniLM
  cosine to the aspect's description plus a bonus for the aspect's cue words), quoted
  verbatim, or by "not stated" when no sentence fits well enough.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.checks.citations import check_citations, has_citation, sentences
from agent.checks.links import invented_links
from agent.checks.quality import Verdict, fragment_run, repetition_ratio
from store.embeddings import VectorEmbeddings
from store.papers import Paper

NOT_STATED = "not stated"


@dataclass(frozen=True)
class Aspect:
    """A row of the table.

    ``description`` and ``cues`` (a regex of words that mark such a sentence) only pick the
    quote for the extractive fallback; the wording the model sees lives in the prompt files.
    """

    key: str
    label: str
    description: str
    cues: re.Pattern[str]


def _cues(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


ASPECTS: tuple[Aspect, ...] = (
    Aspect(
        "problem", "Problem", "The problem, task or challenge this paper addresses and why it matters.",
        _cues(r"problem|challeng|bottleneck|costly|expensive|difficult|suffer|\black|struggl|\bfail|\bbound\b"
              r"|\bhard\b|unreliab|\bbut\b"),
    ),
    Aspect(
        "approach", "Approach", "The method, model, algorithm or technique this paper proposes.",
        _cues(r"\b(?:we|our)\b|propos|introduc|present|method|framework|algorithm|architecture"),
    ),
    Aspect(
        "data", "Data / benchmarks", "The datasets, benchmarks, tasks or experimental setup used for evaluation.",
        _cues(r"data ?set|benchmark|corpus|corpora|evaluat|test set|\bhours\b|\bimages\b|\btasks\b|\bsuite\b"
              r"|simulat|real robot|real-world"),
    ),
    Aspect(
        "results", "Key results", "The key results: measured improvements, accuracy, speedups and numbers.",
        _cues(r"\d|outperform|improv|faster|speed|accura|reduc|achiev|state-of-the-art|surpass|\bgain|\brais"
              r"|\bcut\b|times|error rate"),
    ),
    Aspect(
        "limitations", "Limitations / open questions", "Limitations, weaknesses, failure cases or open questions.",
        _cues(r"limitation|however|future work|\bremain|open question|not yet|cannot|unclear|restricted"
              r"|fails? to|caveat"),
    ),
)
ASPECT_KEYS = tuple(a.key for a in ASPECTS)
BY_KEY = {a.key: a for a in ASPECTS}

_MAX_CELL_WORDS = 90
_MAX_SMALL_CELL_WORDS = 45
_MIN_GROUNDED = 0.6  # share of a small model's content words that must appear in the abstract
_QUOTE_THRESHOLD = 0.25  # cosine + cue bonus a sentence needs to stand in for an aspect
_CUE_BONUS = 0.15
_MAX_QUOTE_USES = 2
_OPENING_BONUS = 0.1  # abstracts usually open with the problem

# --- numbers: any number a cell quotes must be in the paper's own text ------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")
_WORD = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "  # noqa: SIM905
        "sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}  # noqa: SIM905
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_MULTIPLES = {"twice": 2, "double": 2, "doubles": 2, "triple": 3, "dozen": 12, "half": 0.5}


def _canonical(value: str | float) -> str:
    """``2.80`` → ``2.8``, ``07`` → ``7``, ``4000000.0`` → ``4000000``: one spelling per number."""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:f}".rstrip("0").rstrip(".")


def numbers_in(text: str) -> set[str]:
    """Numbers written with digits (``1,200`` is 1200; ``3,4`` is 3 and 4), canonicalised."""
    found: set[str] = set()
    for token in _NUMBER.findall(text):
        if _THOUSANDS.fullmatch(token):
            found.add(_canonical(token.replace(",", "")))
        else:
            found.update(_canonical(part) for part in token.split(",") if part)
    return found


def allowed_numbers(text: str) -> set[str]:
    """Every number ``text`` states, in digits or in words ("sixty times", "four million", "1.2 million")."""
    found = numbers_in(text)
    words = [w.lower() for w in _WORD.findall(text.replace("-", " "))]
    for i, word in enumerate(words):
        value: float | None = _UNITS.get(word, _TENS.get(word, _MULTIPLES.get(word)))
        if value is None and re.fullmatch(r"\d+(?:\.\d+)?", word):
            value = float(word)
        if value is None:
            continue
        found.add(_canonical(value))
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _TENS and following in _UNITS:
            found.add(_canonical(value + _UNITS[following]))
        if following in _SCALES:
            found.add(_canonical(value * _SCALES[following]))
    return found


def unsupported_numbers(text: str, source: str) -> list[str]:
    """Numbers in ``text`` (citation markers aside) that ``source`` never states, in order."""
    allowed = allowed_numbers(source)
    seen = numbers_in(_CITATION.sub(" ", text))
    return sorted((n for n in seen if n not in allowed), key=lambda n: text.find(n.split(".")[0]))


# --- cell checks ------------------------------------------------------------------------

_STOP = frozenset(
    "this that with from they their have been were which these those also into such than then them "  # noqa: SIM905
    "there paper papers abstract study work uses using used based more most other over only very what "
    "when where while about show shows shown does each both between article document text addresses "
    "address problem method approach results result evaluated evaluates dataset datasets benchmark "
    "benchmarks limitation limitations question questions proposes propose".split()
)
_ECHO = ("<abstract", "<paper", "</", "question:", "answer in one sentence", "reply with", "json")
_NOT_STATED = re.compile(
    r"^(?:not (?:stated|mentioned|specified|reported|given|discussed)\b.*|n/?a|none|unknown"
    r"|the abstract does not (?:say|state|mention|specify|report)\b.*"
    r"|no (?:limitations?|data|datasets?|benchmarks?|results?)(?: (?:are|is))?"
    r" (?:stated|mentioned|given|reported)\b.*)$"
)


def is_not_stated(text: str) -> bool:
    folded = " ".join(text.lower().replace("_", " ").split()).strip(" .\"'“”")
    return bool(_NOT_STATED.match(folded)) and len(folded) < 70


def _stems(text: str) -> list[str]:
    return [w.lower()[:5] for w in re.findall(r"[A-Za-z]{4,}", text) if w.lower() not in _STOP]


def check_cell(text: str, source: str, *, strict: bool, aspect: str | None = None) -> Verdict:
    """Is this generated cell fit to show? ``source`` is the paper's title and abstract.

    ``strict`` (small models) adds what a 135M model gets wrong most: most content words
    must come from the abstract (the words of the question itself do not count), a
    results cell must quote a number when the abstract states any, and a limitations
    cell needs an abstract that mentions a limitation at all (small models invent them).
    """
    words = _WORD.findall(text)
    if len(words) < 2:
        return Verdict(False, "empty or too short")
    if len(words) > (_MAX_SMALL_CELL_WORDS if strict else _MAX_CELL_WORDS):
        return Verdict(False, "too long")
    if repetition_ratio(text, n=3) > 0.25:
        return Verdict(False, "repetitive")
    lowered = text.lower()
    if any(marker in lowered for marker in _ECHO):
        return Verdict(False, "echoed the prompt")
    bad = unsupported_numbers(text, source)
    if bad:
        return Verdict(False, f"number {', '.join(bad[:3])} is not in the abstract")
    invented = invented_links(text, [source])
    if invented:
        return Verdict(False, f"link {invented[0]!r} is not in the abstract")
    if not strict:
        return Verdict(True)
    stems = _stems(text)
    known = set(_stems(source))
    if stems and sum(s in known for s in stems) / len(stems) < _MIN_GROUNDED:
        return Verdict(False, "not grounded in the abstract")
    if aspect == "results" and numbers_in(source) and not numbers_in(text):
        return Verdict(False, "quotes none of the abstract's numbers")
    if aspect == "limitations" and not BY_KEY["limitations"].cues.search(source):
        return Verdict(False, "the abstract mentions no limitation")
    return Verdict(True)


def clean_cell(text: str) -> str:
    """One cell's text: no citation markers, no "Answer:" prefix, one paragraph, at most two sentences."""
    text = text.strip().split("\n\n", 1)[0]
    text = re.sub(r"^\s*(?:answer|a)\s*:\s*", "", text, flags=re.I)
    text = _CITATION.sub("", " ".join(text.split()))
    text = re.sub(r"\s+([.,;:])", r"\1", text).strip(" \"'")
    return " ".join(sentences(text)[:2]).strip()


# --- extractive fallback -------------------------------------------------------------------


def quote_cells(
    paper: Paper, aspects: Sequence[Aspect], embedder: VectorEmbeddings, *, threshold: float = _QUOTE_THRESHOLD
) -> dict[str, str | None]:
    """For each aspect, the abstract sentence that best fits it (quoted), or None when none fits.

    A sentence fits when its cosine similarity to the aspect's description plus a bonus
    for the aspect's cue words reaches ``threshold``. Sentences are assigned greedily, best
    pair first, each to at most ``_MAX_QUOTE_USES`` rows: short abstracts pack the approach
    and the result into one sentence, but five rows repeating one quote would say nothing.
    """
    candidates = [s for s in sentences(" ".join(paper.abstract.split())) if len(s.split()) >= 4]
    if not candidates or not aspects:
        return {a.key: None for a in aspects}
    vectors = embedder.embed([a.description for a in aspects] + candidates)
    scores = vectors[: len(aspects)] @ vectors[len(aspects) :].T
    for i, aspect in enumerate(aspects):
        for j, sentence in enumerate(candidates):
            if aspect.key == "problem" and j == 0 and len(candidates) > 1:
                scores[i, j] += _OPENING_BONUS
            if aspect.cues.search(sentence):
                scores[i, j] += _CUE_BONUS
            elif aspect.key == "limitations":
                scores[i, j] = -1.0  # no cue, no limitation: similarity alone is too weak a signal
    picked: dict[str, str | None] = {a.key: None for a in aspects}
    uses = [0] * len(candidates)
    for flat in np.argsort(-scores, axis=None):
        i, j = divmod(int(flat), len(candidates))
        if scores[i, j] < threshold:
            break
        if picked[aspects[i].key] is None and uses[j] < _MAX_QUOTE_USES:
            picked[aspects[i].key] = f"“{candidates[j].rstrip()}”"
            uses[j] += 1
    return picked


def check_summary(text: str, papers: Sequence[Paper], *, strict: bool) -> tuple[str | None, str]:
    """The summary with invalid ``[n]`` removed, or None and the reason it cannot be shown."""
    if not text.strip():
        return None, "empty"
    checked = check_citations(" ".join(text.split()), len(papers))
    cleaned = checked.text
    words = _WORD.findall(cleaned)
    if len(words) < 8:
        return None, "too short"
    if len(words) > 160:
        return None, "too long"
    if repetition_ratio(cleaned) > 0.25 or fragment_run(cleaned, 8):
        return None, "repetitive"
    if any(marker in cleaned.lower() for marker in _ECHO):
        return None, "echoed the prompt"
    bad = unsupported_numbers(cleaned, " ".join(f"{p.title} {p.abstract}" for p in papers))
    if bad:
        return None, f"number {', '.join(bad[:3])} is in no abstract"
    invented = invented_links(cleaned, [f"{p.id} {p.url or ''} {p.title} {p.abstract}" for p in papers])
    if invented:
        return None, f"link {invented[0]!r} is in no abstract"
    if checked.removed and any(not has_citation(s) for s in sentences(cleaned)):
        return None, "cited a paper that is not compared and left a sentence uncited"
    if strict and not checked.cited:
        return None, "refers to no paper as [n]"
    return cleaned, ""
