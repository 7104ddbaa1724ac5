"""Theme labels that read like section headings: the cluster's own key phrases, never a cut-off one.

Labels are class-based TF-IDF key phrases, the way BERTopic names topics: all the
papers of a theme are one class document, and each candidate phrase is scored by
its share of the theme's divergence from the window (``p_theme * log(p_theme /
p_window)``), so a phrase frequent in the theme *and* rare elsewhere wins; plain
c-TF-IDF lets a phrase every theme uses ("natural language") name one of them. Candidates are
2- and 3-word phrases (a phrase names an idea; "data" or "scaling" alone do not)
that neither start nor end on a stop word, used by at least two papers; single
words are the fallback when a theme has no shared phrase.

:func:`valid_label` is the one check every label passes, whoever wrote it (these
phrases, or a model asked to rewrite them): a label ending in a preposition, an
article, a conjunction or a hyphen, or one that ends mid-word, is rejected.
"""

from __future__ import annotations

import re

import numpy as np

#: Words a heading may not end on: a label ending in one was cut mid-phrase.
_DANGLING_WORDS = """a an the of for to in on at by with from into onto over under via and or but nor as than
    versus vs towards toward about across between through without within per its their our your
    this that these those is are be"""
_DANGLING = frozenset(_DANGLING_WORDS.split())
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]{1,}\b"
_EDGE_WORDS = """paper propose proposed proposes method approach results show using use used based novel new
    existing work framework achieve achieves demonstrate study model models significant significantly
    effective extensive experiments various address introduce introduces present presents outperforms
    improve improves efficient https github com available et al however recent recently including
    large high low better best different specific given multiple single key able"""
_EDGE_STOP_EXTRA = frozenset(_EDGE_WORDS.split())
MAX_LABEL_WORDS = 8


def valid_label(label: str) -> bool:
    """Is ``label`` a whole heading? No dangling preposition/article/hyphen, no cut-off last word."""
    text = label.strip()
    words = text.replace("·", " ").split()
    if not words or len(words) > MAX_LABEL_WORDS or len(text) > 80:
        return False
    last = words[-1].strip(".,;:!?\"'”’)").lower()
    if text.endswith(("-", "–", "—", "/", "&", ",", ":", "(")) or last in _DANGLING:
        return False
    # a last word of one or two letters that is not an acronym ("Ab", "th") was cut mid-word
    return not (len(last) <= 2 and not words[-1].isupper() and not words[-1][:1].isdigit())


def key_phrases(texts: list[str], labels: np.ndarray, top: int = 3) -> dict[int, list[str]]:
    """Each label's ``top`` key phrases (multi-word first), class-based TF-IDF."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = sorted({int(t) for t in labels})
    if not texts or not classes:
        return {}
    stop = ENGLISH_STOP_WORDS | _EDGE_STOP_EXTRA | _DANGLING
    vectorizer = CountVectorizer(ngram_range=(1, 3), token_pattern=_TOKEN, lowercase=True)
    try:
        per_doc = vectorizer.fit_transform([_clean(t) for t in texts])
    except ValueError:
        return {c: [] for c in classes}
    terms = vectorizer.get_feature_names_out()
    parts = [str(t).split() for t in terms]
    size = np.array([len(p) for p in parts])
    # a phrase may hold "of" inside ("mixture of experts") but not start or end on a stop word
    edge_stopped = np.array([p[0] in stop or p[-1] in stop or len(p[-1]) < 3 for p in parts])
    doc_freq = np.asarray((per_doc > 0).sum(axis=0)).ravel()
    tf = np.vstack([np.asarray(per_doc[labels == c].sum(axis=0)).ravel() for c in classes]).astype(np.float64)
    tf[:, edge_stopped | (doc_freq < 2)] = 0.0
    # each phrase's share of the theme's divergence from the whole window: frequent in the
    # theme *and* over-represented there ("natural language" is frequent everywhere)
    p_theme = tf / np.clip(tf.sum(axis=1, keepdims=True), 1.0, None)
    p_all = tf.sum(axis=0) / max(float(tf.sum()), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(p_theme > 0, p_theme * np.log(p_theme / np.clip(p_all, 1e-12, None)), 0.0)
    acronyms = _acronyms(texts)
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        phrases = _best(terms, scores[row], size >= 2, top)
        words = _best(terms, scores[row], size == 1, top)
        chosen = (phrases + [w for w in words if not _covered(w, phrases)])[:top]
        out[c] = [" ".join(acronyms.get(w, w) for w in term.split()) for term in chosen]
    return out


def _acronyms(texts: list[str]) -> dict[str, str]:
    """Words the papers write in capitals (``LLM``, ``RLHF``), so labels keep them so."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(re.findall(r"\b[A-Z][A-Z0-9]{1,5}s?\b", text)):
            counts[word] = counts.get(word, 0) + 1
    out: dict[str, str] = {}
    for word, n in counts.items():
        if n >= 2:
            out[word.lower()] = word
    return out


def theme_label(phrases: list[str]) -> str:
    """A heading from key phrases: the best one, plus a second when there are two ideas."""
    usable = [p for p in phrases if valid_label(p)]
    if not usable:
        return "Unnamed theme"
    multi = [p for p in usable if " " in p] or usable
    shown = multi[:2] if len(multi) > 1 and len(multi[0].split()) < 3 else multi[:1]
    label = " · ".join(shown)
    return label[:1].upper() + label[1:]


def _best(terms: np.ndarray, scores: np.ndarray, mask: np.ndarray, top: int) -> list[str]:
    chosen: list[str] = []
    for j in np.argsort(-np.where(mask, scores, 0.0), kind="stable"):
        if scores[j] <= 0 or not mask[j] or len(chosen) >= top:
            break
        term = str(terms[j])
        if not _covered(term, chosen) and valid_label(term):
            chosen.append(term)
    return chosen


def _covered(term: str, chosen: list[str]) -> bool:
    """One idea, one phrase: skip a phrase sharing its words with one already chosen."""
    words = {_stem(w) for w in term.split()}
    for other in chosen:
        theirs = {_stem(w) for w in other.split()}
        if words <= theirs or theirs <= words:
            return True
    return False


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _clean(text: str) -> str:
    return re.sub(r"\$[^$]*\$|\\[a-zA-Z]+|https?://\S+", " ", text)
