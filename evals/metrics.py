"""Metrics: per-case scores from one answer, and suite scores aggregated from the cases.

Every per-case metric is a number in [0, 1] (or a raw measurement: latency, tokens,
cost) or ``None`` when it does not apply to that case (precision of an answer that
cites nothing, recall of a question that expects no paper). Suite metrics are means
over the cases where a metric applies, so a comparison can recompute them over any
subset of cases (``evals.compare`` uses the cases both runs share).

What is measured, and on what:

* **retrieval** — recall@k and MRR of the expected papers in the ranked hits;
* **citations** — on the model's own output, before any fallback replaces it (a prompt
  that stops the model citing must show here even when ``ask`` rescues the user with
  an extractive answer): *validity* (share of cited numbers that are given sources),
  *precision* and *recall* of the cited papers against the expected ones;
* **groundedness** — on the answer the user sees: share of claim sentences whose cited
  sources support them, by MiniLM sentence-to-source similarity over a threshold
  calibrated on the suite's own cases (:func:`calibrate`), and by an LLM judge when one
  is configured (``evals.judge``);
* **answer** — the share of answered questions by mode (``generative``, ``quote-then-write``,
  ``extractive``) and ``answer.written`` (in the model's words: the first two);
* **support** — per sentence, from the answer's own support scores (``agent.checks.support``):
  the share of sentences ``supported`` and the share ``unsupported``;
* **links** — invented links: answers showing a link that no source contains;
* **abstention** — answerable cases answered, unanswerable ones declined;
* **phrases**, **latency**, **tokens**, **cost**.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from agent.checks.citations import check_citations, sentences
from agent.checks.extractive import LABEL as EXTRACTIVE_LABEL
from agent.checks.links import invented_links
from agent.types import Answer, Source
from evals.cases import Phrase
from store.embeddings import VectorEmbeddings

MetricValue = float | None

#: Suite metrics where smaller is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset(
    {
        "latency.p50_ms", "latency.p95_ms", "tokens.prompt", "tokens.completion", "cost.usd",
        "support.unsupported", "links.invented", "answer.extractive",
    }
)
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")
_MIN_CLAIM_WORDS = 8  # the same bar ``agent.checks.citations`` uses for an uncited claim


# --- text ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case, accents, dashes, quotes and spacing folded, so a phrase check is about words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    text = re.sub(r"[“”„\"]", '"', text)
    text = re.sub(r"[‘’`]", "'", text)
    return " ".join(text.split())


def phrase_found(text: str, phrase: Phrase) -> bool:
    """Whether ``text`` contains the phrase (any one of the alternatives, for a list)."""
    options = phrase if isinstance(phrase, list) else [phrase]
    folded = fold(text)
    return any(fold(option) in folded for option in options)


def show_phrase(phrase: Phrase) -> str:
    return " | ".join(phrase) if isinstance(phrase, list) else phrase


# --- retrieval ------------------------------------------------------------------------


def retrieval_metrics(ranked: Sequence[str], expected: Iterable[str], ks: Sequence[int]) -> dict[str, MetricValue]:
    """recall@k for each k and reciprocal rank of the first expected paper."""
    wanted = set(expected)
    if not wanted:
        return {}
    out: dict[str, MetricValue] = {}
    for k in ks:
        out[f"retrieval.recall@{k}"] = len(wanted & set(ranked[:k])) / len(wanted)
    first = next((i for i, pid in enumerate(ranked, 1) if pid in wanted), None)
    out["retrieval.mrr"] = 1.0 / first if first else 0.0
    return out


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with graded relevance (BEIR's definition)."""
    dcg = sum((2 ** relevant.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


# --- citations --------------------------------------------------------------------------


@dataclass(frozen=True)
class CitationScore:
    metrics: dict[str, MetricValue]
    cited_ids: list[str]  # valid citations, as paper ids, in order of first use
    invalid: list[int]


def citation_metrics(raw: str, sources: Sequence[Source], expected: Iterable[str], *, called: bool) -> CitationScore:
    """Score the citations in the model's raw output against the sources it was given.

    ``called`` is False when the model never saw the question (retrieval found nothing
    relevant): there is no output to judge, so every citation metric is ``None``.
    """
    wanted = set(expected)
    if not called:
        empty = dict.fromkeys(("citations.validity", "citations.precision", "citations.recall"))
        return CitationScore(empty, [], [])
    check = check_citations(raw, len(sources))
    by_n = {s.n: s.paper_id for s in sources}
    cited = list(dict.fromkeys(by_n[n] for n in check.cited if n in by_n))
    total = len(check.cited) + len(check.removed)
    validity = len(check.cited) / total if total else None
    hits = len(set(cited) & wanted)
    metrics: dict[str, MetricValue] = {
        "citations.validity": validity,
        "citations.precision": hits / len(cited) if cited and wanted else None,
        "citations.recall": hits / len(wanted) if wanted else None,
    }
    return CitationScore(metrics, cited, check.removed)


# --- modes, sentence support, links -----------------------------------------------------------

MODES = ("generative", "quote-then-write", "extractive")


@dataclass(frozen=True)
class AnswerQuality:
    metrics: dict[str, MetricValue]
    unsupported: list[str]  # sentences shown with the verdict "unsupported"
    invented: list[str]  # links shown that no source contains


def answer_quality(answer: Answer, source_texts: Sequence[str], raw: str, *, answered: bool) -> AnswerQuality:
    """Mode shares, per-sentence support rates and invented links of one answer (None when not answered).

    Invented links are counted on what the user sees; links the model wrote in output that a
    check then replaced are recorded in the case (``raw``) but are not shown, so do not count.
    """
    if not answered:
        empty = [f"answer.{m.replace('-', '_')}" for m in MODES] + ["answer.written"]
        empty += ["support.supported", "support.unsupported", "links.invented"]
        return AnswerQuality(dict.fromkeys(empty), [], [])
    metrics: dict[str, MetricValue] = {f"answer.{m.replace('-', '_')}": float(answer.mode == m) for m in MODES}
    metrics["answer.written"] = float(answer.mode != "extractive")
    verdicts = [s.support.verdict for s in answer.sentences if s.support is not None]
    metrics["support.supported"] = verdicts.count("supported") / len(verdicts) if verdicts else None
    metrics["support.unsupported"] = verdicts.count("unsupported") / len(verdicts) if verdicts else None
    invented = invented_links(answer.text, source_texts)
    metrics["links.invented"] = float(bool(invented))
    unsupported = [s.text for s in answer.sentences if s.support is not None and s.support.verdict == "unsupported"]
    return AnswerQuality(metrics, unsupported, invented)


# --- abstention and phrases -----------------------------------------------------------------


def abstention_metrics(abstained: bool, should_abstain: bool) -> dict[str, MetricValue]:
    return {
        "abstention.answerable": None if should_abstain else float(not abstained),
        "abstention.unanswerable": float(abstained) if should_abstain else None,
        "abstention.accuracy": float(abstained == should_abstain),
    }


@dataclass(frozen=True)
class PhraseScore:
    metrics: dict[str, MetricValue]
    missing: list[str]
    forbidden: list[str]


def phrase_metrics(text: str, must_include: Sequence[Phrase], must_not_include: Sequence[Phrase]) -> PhraseScore:
    missing = [show_phrase(p) for p in must_include if not phrase_found(text, p)]
    forbidden = [show_phrase(p) for p in must_not_include if phrase_found(text, p)]
    return PhraseScore(
        {
            "phrases.include": 1 - len(missing) / len(must_include) if must_include else None,
            "phrases.exclude": 1 - len(forbidden) / len(must_not_include) if must_not_include else None,
        },
        missing,
        forbidden,
    )


# --- groundedness -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A sentence of the answer that states something, and the source numbers it cites."""

    text: str
    cites: tuple[int, ...]


def claims(answer: str) -> list[Claim]:
    """Sentences that cite a source, plus uncited ones long enough to state a finding.

    Headers (the extractive label, lines ending in ':') and short connecting prose are
    not claims; citation markers and quote marks are stripped from the text.
    """
    out: list[Claim] = []
    for line in answer.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        if not line or line == EXTRACTIVE_LABEL or line.endswith(":"):
            continue
        for sentence in sentences(line):
            check = check_citations(sentence, 10_000)
            body = _MARKER.sub("", sentence).strip().strip("“”\"' ")
            body = re.sub(r"\s+([.,;:])", r"\1", body)
            if not body:
                continue
            if check.cited or len(body.split()) >= _MIN_CLAIM_WORDS:
                out.append(Claim(body, tuple(check.cited)))
    return out


class SentenceSupport:
    """Cosine similarity of a sentence to the closest sentence of a source, with cached source vectors."""

    def __init__(self, embedder: VectorEmbeddings) -> None:
        self.embedder = embedder
        self._sources: dict[str, np.ndarray] = {}

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def source(self, key: str, title: str, text: str) -> np.ndarray:
        if key not in self._sources:
            parts = [title] + [s for s in sentences(" ".join(text.split())) if len(s.split()) >= 3]
            self._sources[key] = self._embed(parts)
        return self._sources[key]

    def best(self, vector: np.ndarray, source_vectors: Sequence[np.ndarray]) -> float:
        if not source_vectors:
            return 0.0
        return float(max(float(np.max(m @ vector)) for m in source_vectors))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)


@dataclass(frozen=True)
class Calibration:
    """The groundedness threshold chosen on a suite's cases, and how well it separates them."""

    threshold: float
    positives: int
    negatives: int
    balanced_accuracy: float
    method: str

    def to_json(self) -> dict[str, object]:
        return {
            "threshold": round(self.threshold, 4),
            "positives": self.positives,
            "negatives": self.negatives,
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "method": self.method,
        }


DEFAULT_THRESHOLD = 0.5
_MIN_CALIBRATION_PAIRS = 5


_QUESTION_METHOD = (
    "max balanced accuracy: question vs its expected paper (supported) and vs the best-ranked other paper"
)


def calibrate(positives: Sequence[float], negatives: Sequence[float], method: str = _QUESTION_METHOD) -> Calibration:
    """The threshold that best separates supported from unsupported pairs (max balanced accuracy).

    Candidates are midpoints between neighbouring observed scores, so the result depends only
    on the scores (deterministic for the same cases and embedding model). With too few
    pairs the documented default is used instead.
    """
    if len(positives) < _MIN_CALIBRATION_PAIRS or len(negatives) < _MIN_CALIBRATION_PAIRS:
        return Calibration(DEFAULT_THRESHOLD, len(positives), len(negatives), 0.0, "default (too few cases)")
    pos = np.sort(np.asarray(positives, dtype=np.float64))
    neg = np.sort(np.asarray(negatives, dtype=np.float64))
    scores = np.unique(np.concatenate([pos, neg]))
    candidates = (scores[:-1] + scores[1:]) / 2 if len(scores) > 1 else scores
    best_t, best_acc = DEFAULT_THRESHOLD, -1.0
    for t in candidates:
        tpr = float(np.mean(pos >= t))
        tnr = float(np.mean(neg < t))
        acc = (tpr + tnr) / 2
        if acc > best_acc + 1e-12:
            best_t, best_acc = float(t), acc
    return Calibration(best_t, len(pos), len(neg), best_acc, method)


@dataclass(frozen=True)
class GroundScore:
    value: MetricValue
    unsupported: list[str]


def groundedness(
    answer: str,
    sources: Sequence[Source],
    support: SentenceSupport,
    threshold: float,
) -> GroundScore:
    """Share of claim sentences supported by a source they cite (uncited claims count as unsupported)."""
    found = claims(answer)
    if not found:
        return GroundScore(None, [])
    by_n = {s.n: s for s in sources}
    vectors = support.embed([c.text for c in found])
    unsupported: list[str] = []
    for claim, vector in zip(found, vectors, strict=True):
        cited = [by_n[n] for n in claim.cites if n in by_n]
        mats = [support.source(s.paper_id, s.title, s.text) for s in cited]
        if not cited or support.best(vector, mats) < threshold:
            unsupported.append(claim.text)
    return GroundScore(1 - len(unsupported) / len(found), unsupported)


# --- aggregation ------------------------------------------------------------------------------

#: Per-case raw measurements and the suite metrics made from them.
_RAW = {"latency_ms", "tokens.prompt", "tokens.completion", "cost.usd"}


def aggregate(cases: Sequence[Mapping[str, MetricValue]]) -> dict[str, MetricValue]:
    """Suite metrics from per-case metric dicts: means of rates, p50/p95 latency, mean tokens, total cost."""
    keys: dict[str, None] = {}
    for case in cases:
        keys.update(dict.fromkeys(case))
    out: dict[str, MetricValue] = {}
    for key in keys:
        values = [float(v) for c in cases if (v := c.get(key)) is not None]
        if key == "latency_ms":
            out["latency.p50_ms"] = float(np.percentile(values, 50)) if values else None
            out["latency.p95_ms"] = float(np.percentile(values, 95)) if values else None
        elif key == "cost.usd":
            out[key] = float(sum(values))
        elif key in _RAW:
            out[key] = float(np.mean(values)) if values else None
        else:
            out[key] = float(np.mean(values)) if values else None
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))


def counts(cases: Sequence[Mapping[str, MetricValue]]) -> dict[str, int]:
    """How many cases each suite metric was computed over."""
    out: dict[str, int] = {}
    for case in cases:
        for key, value in case.items():
            if value is None:
                continue
            names = ["latency.p50_ms", "latency.p95_ms"] if key == "latency_ms" else [key]
            for name in names:
                out[name] = out.get(name, 0) + 1
    return out


_GROUPS = (
    "retrieval", "citations", "answer", "support", "links", "groundedness", "abstention", "phrases", "compare", "brief",
)


def _order(name: str) -> tuple[int, str]:
    group = name.split(".", 1)[0]
    return (_GROUPS.index(group) if group in _GROUPS else len(_GROUPS), name)


def is_regression(name: str, baseline: float, current: float, tolerance: float) -> bool:
    """Did ``name`` get worse by more than ``tolerance`` (in the metric's own units)?"""
    if name in LOWER_IS_BETTER:
        return current > baseline + tolerance + 1e-9
    return current < baseline - tolerance - 1e-9
