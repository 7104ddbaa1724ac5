"""SciFact retrieval quality: BM25, dense, RRF and the tuned hybrid default, in one run.

Fusion weights are chosen on the *train* qrels by a grid search and the winner is
reported on *test*; the shipped default (``RetrievalConfig()``) is reported too, so a
reader can see that the default is the train-chosen configuration.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.scifact import build_index, collect, evaluate, load, tune, variants
from store.config import RetrievalConfig

CACHE = Path(__file__).resolve().parent / ".cache" / "scifact"


def run(shared: Path | None) -> list[dict[str, object]]:
    if shared is None:
        return []
    data = load(shared / "data" / "scifact_beir")
    started = time.perf_counter()
    index = build_index(data, CACHE)
    built = time.perf_counter() - started
    qids = set(data.qrels["train"]) | set(data.qrels["test"])
    signals = collect(index, data.queries, qids)
    best_cfg, best_train = tune(signals, data.qrels["train"])[0]
    default = RetrievalConfig()
    rows: list[dict[str, object]] = []
    shown = {**variants(default), "hybrid default (score fusion)": default}
    for name, cfg in shown.items():
        test = evaluate(signals, data.qrels["test"], cfg)
        rows.append({"benchmark": "scifact", "setting": name, "value": test["ndcg@10"], "unit": "nDCG@10 (test)",
                     "note": f"recall@100 {test['recall@100']:.3f}"})
    rows.append({
        "benchmark": "scifact", "setting": "best on train → test", "value": evaluate(
            signals, data.qrels["test"], best_cfg)["ndcg@10"], "unit": "nDCG@10 (test)",
        "note": f"{best_cfg.fusion} bm25={best_cfg.bm25_weight} dense={best_cfg.dense_weight}"
        f"{' k=' + str(best_cfg.rrf_k) if best_cfg.fusion == 'rrf' else ''}; train nDCG@10 {best_train:.3f}",
    })
    rows.append({"benchmark": "scifact", "setting": "index build (5,183 abstracts, cached after first run)",
                 "value": built, "unit": "s"})
    return rows


if __name__ == "__main__":
    import sys

    for row in run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared")):
        print(row)
