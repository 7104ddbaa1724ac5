"""A dozen small papers written for these tests, on clearly different topics.

Written by us (not copied from anywhere) so tests can state exactly which paper a
question should find, and so the suite runs on a bare clone without ../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

PAPERS: list[dict[str, object]] = [
    {
        "id": "2501.00001",
        "title": "Tile-Based Contrastive Loss for Near-Unlimited Batch Sizes",
        "abstract": "Contrastive representation learning benefits from large batches, but the similarity "
        "matrix grows quadratically in GPU memory. We partition the loss computation into small tiles "
        "so the full matrix is never materialised, reaching batch sizes of four million on eight GPUs "
        "with no loss in accuracy.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "date": "2025-03-10",
    },
    {
        "id": "2501.00002",
        "title": "Speculative Decoding with Tiny Draft Models",
        "abstract": "Large language model inference is memory bound. A small draft model proposes several "
        "tokens that the large model verifies in one forward pass, which speeds up generation 2.8 times "
        "on a chat benchmark while producing exactly the same outputs.",
        "authors": ["Grace Hopper"],
        "date": "2025-03-10",
    },
    {
        "id": "2501.00003",
        "title": "Coral Reef Bleaching Forecasts from Satellite Sea Temperatures",
        "abstract": "We forecast coral bleaching events two months ahead from satellite sea surface "
        "temperature anomalies with a gradient boosted model, evaluated on reefs of the Pacific and "
        "Indian oceans.",
        "authors": ["Rachel Carson"],
        "date": "2025-03-11",
    },
    {
        "id": "2501.00004",
        "title": "Retrieval-Augmented Generation Reduces Hallucinated Citations",
        "abstract": "Language models invent references. Grounding answers in retrieved abstracts and checking "
        "every citation against the retrieved set cut fabricated citations from 31% to 2% in our study "
        "of scientific question answering.",
        "authors": ["Karen Sparck Jones"],
        "date": "2025-03-11",
    },
    {
        "id": "2501.00005",
        "title": "Quantum Error Correction with Surface Codes at Scale",
        "abstract": "Logical qubits protected by surface codes on a superconducting processor show error "
        "rates that fall exponentially with code distance, crossing the fault-tolerance threshold.",
        "authors": ["Richard Feynman"],
        "date": "2025-03-12",
    },
    {
        "id": "2501.00006",
        "title": "Robotic Grasping of Transparent Objects via Depth Completion",
        "abstract": "Depth sensors fail on glass and clear plastic. We complete missing depth with a network "
        "trained on synthetic scenes, raising grasp success on transparent objects from 41% to 86% on "
        "a real robot arm.",
        "authors": ["Rodney Brooks"],
        "date": "2025-03-12",
    },
    {
        "id": "2501.00007",
        "title": "A Benchmark for Multilingual Speech Recognition in Low-Resource Languages",
        "abstract": "We release 1,200 hours of transcribed speech in 40 under-served languages and evaluate "
        "automatic speech recognition systems, finding word error rates above 50% for half of them.",
        "authors": ["Noam Chomsky"],
        "date": "2025-03-13",
    },
    {
        "id": "2501.00008",
        "title": "Protein Structure Prediction Without Multiple Sequence Alignments",
        "abstract": "A single-sequence language model over amino acids predicts protein folds nearly as "
        "accurately as alignment-based methods while running sixty times faster.",
        "authors": ["Rosalind Franklin"],
        "date": "2025-03-13",
    },
]


def write_jsonl(path: Path, papers: list[dict[str, object]] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for paper in papers if papers is not None else PAPERS:
            fh.write(json.dumps(paper) + "\n")
    return path
