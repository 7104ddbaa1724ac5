"""Themes for a brief: cluster a window's paper vectors, name them by distinctive keywords, score papers.

Clustering is Ward agglomerative clustering over L2-normalised vectors (Euclidean
distance on unit vectors orders pairs like cosine distance does). Ward is
deterministic (no random restarts, so a re-run gives the same themes and reuses
cached syntheses) and builds one merge tree from which every candidate number of
themes is a cheap cut. The number of themes is the cut with the best silhouette
(cosine) within a range around the ``sqrt(n/2)`` rule of thumb: on real weekly
listings the silhouette curve is almost flat, so without a range it always picks
two huge themes, and with it a 1,000-paper week gets 13 to 30 readable themes
while a fixture with four clear topics still gets exactly four.

Every paper lands in exactly one theme. Papers far from their theme's centroid,
and themes too small to say anything about, go to "Other" (label ``-1``).

Keyword names are class-based, like BERTopic's c-TF-IDF, but score each term by its
contribution to the divergence of the theme's words from the window's (frequent in
the theme *and* over-represented there); they are the fallback when no model names a theme.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

OTHER = -1
#: A paper less similar than this (cosine) to its theme's centroid is an outlier.
OUTLIER_SIM = 0.25
MAX_THEMES = 30
#: No theme should hold more than this share of a big week unless it really is one topic.
MAX_SHARE = 0.3
BALANCE_MIN_PAPERS = 100
SPLIT_MIN_SILHOUETTE = 0.02
#: ...and at least this fraction of the silhouette of the week's own themes.
SPLIT_RELATIVE = 0.75
#: Generic research words that c-TF-IDF would otherwise let through for big themes.
_RESEARCH_WORDS = """paper papers propose proposed proposes method methods approach approaches result results
    show shows shown using use used based novel new existing work works framework frameworks
    task tasks performance state art achieve achieves achieving demonstrate demonstrates study
    studies model models significant significantly effective effectively extensive experiments
    experimental different various address introduce introduces present presents outperforms
    improve improves improved improving efficient datasets dataset benchmark benchmarks https
    github com available et al furthermore however challenge challenges problem problems
    recent recently learning"""
_RESEARCH_STOPWORDS = frozenset(_RESEARCH_WORDS.split())
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]{2,}\b"


@dataclass
class Clustering:
    """Theme labels (``0..k-1`` by size, ``-1`` = Other) with what produced them."""

    labels: np.ndarray
    centroids: np.ndarray  # one L2-normalised row per theme (Other has none)
    candidates: list[tuple[int, float]] = field(default_factory=list)  # (k, silhouette) tried
    chosen_k: int = 1
    split_from: int = 0  # themes before :func:`balance` split the big ones (0: not split)
    justified: int = 0  # themes over the share kept whole because they are one topic

    @property
    def n_themes(self) -> int:
        return int(self.centroids.shape[0])

    def members(self, theme: int) -> np.ndarray:
        return np.flatnonzero(self.labels == theme)


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def min_theme_size(n: int) -> int:
    """Themes smaller than this go to Other: 3 papers, or 1% of a big week."""
    return max(3, math.ceil(n * 0.01))


def k_range(n: int) -> tuple[int, int]:
    """Candidate numbers of themes: 0.6x to 1.5x ``sqrt(n/2)``, at most 30, each theme viable."""
    root = math.sqrt(n / 2)
    hi = min(MAX_THEMES, math.ceil(root * 1.5), n // min_theme_size(n))
    lo = min(max(2, int(root * 0.6)), hi)
    return lo, hi


def cluster_papers(vectors: np.ndarray) -> Clustering:
    """Group papers into themes (see the module docstring); deterministic for the same input."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    x = normalize(np.asarray(vectors, dtype=np.float32))
    n = x.shape[0]
    if n == 0:
        return Clustering(np.zeros(0, dtype=int), np.zeros((0, x.shape[1] if x.ndim == 2 else 0)))
    lo, hi = k_range(n)
    if n < 2 * min_theme_size(n) or hi < 2:
        labels = np.zeros(n, dtype=int)
        return _finish(x, labels, [], 1, outliers=False)
    tree = linkage(x.astype(np.float64), method="ward")
    distance = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    candidates: list[tuple[int, float]] = []
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(lo, hi + 1):
        labels = fcluster(tree, k, criterion="maxclust") - 1
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(distance, labels, metric="precomputed"))
        candidates.append((k, round(score, 4)))
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    if best is None:
        return _finish(x, np.zeros(n, dtype=int), candidates, 1, outliers=False)
    return _finish(x, best[2], candidates, best[1], outliers=True)


def balance(vectors: np.ndarray, clustering: Clustering, max_share: float = MAX_SHARE) -> Clustering:
    """Split themes holding more than ``max_share`` of a week of ``BALANCE_MIN_PAPERS``+ papers.

    A theme that big is usually several topics the silhouette-chosen cut left merged
    (the seed week's "Data-Scaling LLM Test-" held 53 of 131). Its members are cut
    again with Ward into 2 to 4 parts; the split is kept when the parts separate about as
    well as the week's themes do (silhouette at least ``SPLIT_RELATIVE`` times the week's,
    and above ``SPLIT_MIN_SILHOUETTE``), else the theme is really one topic and stays
    whole, which ``clustering.justified`` records. Parts too small go to Other.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    x = normalize(np.asarray(vectors, dtype=np.float32))
    n = len(x)
    if n < BALANCE_MIN_PAPERS or clustering.n_themes == 0:
        return clustering
    labels = clustering.labels.copy()
    justified: list[int] = []
    # a split must separate about as well as the week's own themes do: text embeddings give
    # low silhouettes everywhere, and any blob cut in two scores a little above zero
    full = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    np.fill_diagonal(full, 0.0)
    kept = labels != OTHER
    week = 0.0
    if len(np.unique(labels[kept])) >= 2:
        week = float(silhouette_score(full[np.ix_(kept, kept)], labels[kept], metric="precomputed"))
    bar = max(SPLIT_MIN_SILHOUETTE, SPLIT_RELATIVE * week)
    for _ in range(4):
        sizes = {int(t): int(np.count_nonzero(labels == t)) for t in np.unique(labels) if t != OTHER}
        big = [t for t, size in sorted(sizes.items(), key=lambda kv: -kv[1]) if size > max_share * n]
        big = [t for t in big if t not in justified]
        if not big:
            break
        theme = big[0]
        idx = np.flatnonzero(labels == theme)
        sub = x[idx]
        tree = linkage(sub.astype(np.float64), method="ward")
        distance = full[np.ix_(idx, idx)]
        best: tuple[float, np.ndarray] | None = None
        for k in range(2, 5):
            parts = fcluster(tree, k, criterion="maxclust") - 1
            if len(np.unique(parts)) < 2:
                continue
            score = float(silhouette_score(distance, parts, metric="precomputed"))
            if best is None or score > best[0] + 1e-9:
                best = (score, parts)
        if best is None or best[0] < bar:
            justified.append(theme)
            continue
        top = int(labels.max()) + 1
        labels[idx] = np.where(best[1] == 0, theme, top + best[1])
    out = _finish(x, labels, clustering.candidates, clustering.chosen_k, outliers=True)
    out.split_from = clustering.n_themes
    out.justified = len(justified)
    return out


def _finish(
    x: np.ndarray, labels: np.ndarray, candidates: list[tuple[int, float]], k: int, *, outliers: bool
) -> Clustering:
    """Move outliers and small themes to Other, then renumber themes by size (largest first)."""
    labels = labels.copy()
    n = len(labels)
    if outliers:
        centroids = _centroids(x, labels)
        for theme, centroid in centroids.items():
            idx = np.flatnonzero(labels == theme)
            labels[idx[(x[idx] @ centroid) < OUTLIER_SIM]] = OTHER
        for theme in np.unique(labels[labels != OTHER]):
            if np.count_nonzero(labels == theme) < min_theme_size(n):
                labels[labels == theme] = OTHER
        if np.all(labels == OTHER):  # nothing coherent: one theme is more useful than none
            labels[:] = 0
    themes = [t for t in np.unique(labels) if t != OTHER]
    # largest first; ties by the first paper in input order, so the order is stable
    themes.sort(key=lambda t: (-np.count_nonzero(labels == t), int(np.flatnonzero(labels == t)[0])))
    remap = {old: new for new, old in enumerate(themes)}
    out = np.array([remap.get(int(t), OTHER) for t in labels], dtype=int)
    cents = _centroids(x, out)
    matrix = np.stack([cents[t] for t in range(len(themes))]) if themes else np.zeros((0, x.shape[1]))
    return Clustering(out, matrix.astype(np.float32), candidates, k)


def _centroids(x: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for theme in np.unique(labels):
        if theme == OTHER:
            continue
        mean = x[labels == theme].mean(axis=0)
        out[int(theme)] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


# --- scores ----------------------------------------------------------------------------


def centrality(vectors: np.ndarray, clustering: Clustering) -> np.ndarray:
    """Cosine of each paper to its theme's centroid (Other: to the nearest centroid)."""
    x = normalize(vectors)
    if clustering.n_themes == 0:
        return np.zeros(len(x), dtype=np.float32)
    sims = x @ clustering.centroids.T
    own = np.where(clustering.labels >= 0, clustering.labels, sims.argmax(axis=1))
    return sims[np.arange(len(x)), own]


def breadth(vectors: np.ndarray, clustering: Clustering) -> np.ndarray:
    """How close a paper also is to *other* themes: mean cosine to its two nearest other centroids.

    A paper that bridges themes is worth reading first more than one that sits in a corner.
    """
    x = normalize(vectors)
    t = clustering.n_themes
    if t < 2:
        return np.zeros(len(x), dtype=np.float32)
    sims = x @ clustering.centroids.T
    labels = clustering.labels
    rows = np.flatnonzero(labels >= 0)
    sims[rows, labels[rows]] = -np.inf
    top = np.sort(sims, axis=1)[:, ::-1][:, : min(2, t - 1)]
    top = np.where(np.isfinite(top), top, 0.0)
    return top.mean(axis=1).astype(np.float32)


# --- week over week ---------------------------------------------------------------------


def match_thresholds(vectors: np.ndarray, clustering: Clustering) -> np.ndarray:
    """Per theme, how close a paper must be to count as that theme: about as close as its own fringe members.

    The bar is the members' 5th percentile of similarity, less 0.05: a paper that
    would have been an ordinary member counts, one from a topic that is gone does not.

    Each member is compared with the centroid of the *other* members (leave one out):
    a paper always looks close to a mean it is part of, which in a small theme would
    set the bar higher than any newcomer can reach.
    """
    x = normalize(vectors)
    out = np.full(clustering.n_themes, OUTLIER_SIM, dtype=np.float32)
    for theme in range(clustering.n_themes):
        members = x[clustering.members(theme)]
        if len(members) < 2:
            continue
        others = members.sum(axis=0, keepdims=True) - members
        others /= np.clip(np.linalg.norm(others, axis=1, keepdims=True), 1e-12, None)
        sims = np.einsum("ij,ij->i", members, others)
        out[theme] = max(OUTLIER_SIM, float(np.percentile(sims, 5)) - 0.05)
    return out


def assign(vectors: np.ndarray, clustering: Clustering, thresholds: np.ndarray) -> np.ndarray:
    """Each of another window's papers to this window's nearest theme, or ``-1`` when it fits none."""
    if len(vectors) == 0 or clustering.n_themes == 0:
        return np.full(len(vectors), OTHER, dtype=int)
    sims = normalize(vectors) @ clustering.centroids.T
    best = sims.argmax(axis=1)
    ok = sims[np.arange(len(best)), best] >= thresholds[best]
    return np.where(ok, best, OTHER)


# --- keyword names -------------------------------------------------------------------


def theme_keywords(texts: list[str], labels: np.ndarray, top: int = 4) -> dict[int, list[str]]:
    """The ``top`` most distinctive terms (unigrams and bigrams) of each label, c-TF-IDF style."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = sorted({int(t) for t in labels})
    if not texts or not classes:
        return {}
    stop = ENGLISH_STOP_WORDS | _RESEARCH_STOPWORDS
    # Stop words are filtered *after* counting: removed before, "qubits and a surface" would
    # count as the bigram "qubits surface". Counting per paper keeps bigrams inside one paper.
    vectorizer = CountVectorizer(ngram_range=(1, 2), token_pattern=_TOKEN, lowercase=True)
    try:
        per_doc = vectorizer.fit_transform([_clean(t) for t in texts])
    except ValueError:  # no words at all
        return {c: [] for c in classes}
    terms = vectorizer.get_feature_names_out()
    bigram = np.array([" " in t for t in terms])
    doc_freq = np.asarray((per_doc > 0).sum(axis=0)).ravel()
    counts = np.vstack([np.asarray(per_doc[labels == c].sum(axis=0)).ravel() for c in classes]).astype(np.float64)
    stopped = np.array([any(w in stop for w in t.split()) for t in terms])
    counts[:, stopped | (bigram & (doc_freq < 2))] = 0.0  # a phrase one paper used is noise, not a theme
    # each term's share of the theme's divergence from the whole window: frequent in the theme
    # *and* over-represented there (plain c-TF-IDF lets "language" name every LLM theme)
    p_theme = counts / np.clip(counts.sum(axis=1, keepdims=True), 1.0, None)
    p_all = counts.sum(axis=0) / max(float(counts.sum()), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(p_theme > 0, p_theme * np.log(p_theme / np.clip(p_all, 1e-12, None)), 0.0)
    # a bigram that is about as distinctive as its words names the idea better ("surface code" > "surface")
    scores[:, bigram] *= 1.25
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        chosen: list[str] = []
        for j in np.argsort(-scores[row], kind="stable"):
            if scores[row, j] <= 0 or len(chosen) >= top:
                break
            term = str(terms[j])
            if _overlaps(term, chosen):
                continue
            chosen.append(term)
        out[c] = chosen
    return out


def _clean(text: str) -> str:
    return re.sub(r"\$[^$]*\$|\\[a-zA-Z]+|https?://\S+", " ", text)


def _overlaps(term: str, chosen: list[str]) -> bool:
    """Skip ``decoding`` after ``speculative decoding``, ``attacks`` after ``attack``: one idea, one keyword."""
    words = {_singular(w) for w in term.split()}
    for other in chosen:
        other_words = {_singular(w) for w in other.split()}
        if words <= other_words or other_words <= words:
            return True
    return False


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def keyword_name(keywords: list[str]) -> str:
    """A readable fallback name from keywords: ``Speculative decoding · draft model``."""
    if not keywords:
        return "Unnamed theme"
    shown = keywords[:3]
    return " · ".join([shown[0][:1].upper() + shown[0][1:], *shown[1:]])
