"""Retrieval quality on SciFact (BEIR layout): BM25 alone, dense alone, and fused.

The corpus is indexed once through the real ingest path (catalog, chunks, Chroma,
BM25) into a cached data dir; each query's BM25 and dense candidates are collected
once, and every fusion variant is scored offline from those signals. Fusion
weights are *chosen* on the train qrels (``tune``) and only *reported* on test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from store.config import RetrievalConfig, StoreConfig
from store.index import Index
from store.ingest import ingest_papers
from store.papers import Paper
from store.retrieve import Signal, bm25_signal, dense_signal, fuse

CANDIDATES = 100


@dataclass
class SciFact:
    corpus: list[Paper]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]  # split -> query id -> paper id -> grade


def load(root: Path) -> SciFact:
    corpus = []
    with (root / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            corpus.append(Paper(id=f"sf{row['_id']}", title=row.get("title") or "", abstract=row["text"]))
    queries = {}
    with (root / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for split in ("train", "test"):
        table: dict[str, dict[str, int]] = {}
        for i, line in enumerate((root / "qrels" / f"{split}.tsv").read_text().splitlines()):
            parts = line.split("\t")
            if i == 0 and not parts[-1].strip().lstrip("-").isdigit():
                continue
            qid, did, grade = parts[0], parts[1], int(parts[2])
            if grade > 0:
                table.setdefault(qid, {})[f"sf{did}"] = grade
        qrels[split] = table
    return SciFact(corpus, queries, qrels)


def build_index(data: SciFact, data_dir: Path, config: StoreConfig | None = None) -> Index:
    cfg = config or StoreConfig(data_dir=data_dir)
    index = Index(cfg)
    if index.catalog.count_papers() != len(data.corpus):
        ingest_papers(index, data.corpus)
    return index


@dataclass
class Signals:
    bm25: dict[str, Signal]
    dense: dict[str, Signal]


def collect(index: Index, queries: dict[str, str], qids: Iterable[str]) -> Signals:
    bm: dict[str, Signal] = {}
    de: dict[str, Signal] = {}
    for qid in qids:
        bm[qid] = bm25_signal(index, queries[qid], CANDIDATES, None)
        de[qid] = dense_signal(index, queries[qid], CANDIDATES, None)
    return Signals(bm, de)


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(
        (2 ** relevant.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k])
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def evaluate(signals: Signals, qrels: dict[str, dict[str, int]], cfg: RetrievalConfig | None) -> dict[str, float]:
    """nDCG@10 and recall@100 of one variant: ``cfg=None`` with only one signal means that signal."""
    nd, rc = [], []
    for qid, rel in qrels.items():
        if cfg is None:
            raise ValueError("pass a RetrievalConfig")
        ranked = [pid for pid, _ in fuse(signals.bm25.get(qid, {}), signals.dense.get(qid, {}), cfg)]
        nd.append(ndcg_at(ranked, rel))
        rc.append(recall_at(ranked, rel))
    return {"ndcg@10": sum(nd) / len(nd), "recall@100": sum(rc) / len(rc)}


def variants(base: RetrievalConfig) -> dict[str, RetrievalConfig]:
    return {
        "bm25 only": replace(base, fusion="score", bm25_weight=1.0, dense_weight=0.0),
        "dense only": replace(base, fusion="score", bm25_weight=0.0, dense_weight=1.0),
        "rrf (k=60, equal weights)": replace(base, fusion="rrf", bm25_weight=1.0, dense_weight=1.0, rrf_k=60),
    }


def tune(signals: Signals, qrels: dict[str, dict[str, int]]) -> list[tuple[RetrievalConfig, float]]:
    """Grid over fusion method, weights and RRF k on *train* qrels; best first."""
    grid: list[RetrievalConfig] = []
    for w in [x / 20 for x in range(1, 20)]:
        grid.append(RetrievalConfig(fusion="score", bm25_weight=round(w, 2), dense_weight=round(1 - w, 2)))
        for k in (10, 30, 60, 100):
            grid.append(RetrievalConfig(fusion="rrf", bm25_weight=round(w, 2), dense_weight=round(1 - w, 2), rrf_k=k))
    scored = [(cfg, evaluate(signals, qrels, cfg)["ndcg@10"]) for cfg in grid]
    return sorted(scored, key=lambda kv: -kv[1])
