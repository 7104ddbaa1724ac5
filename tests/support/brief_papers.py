"""Fixture papers for brief tests: two weeks of listings on clearly separated topics.

Written for these tests (combinations of our own phrases), so the expected themes
and week-over-week counts are known exactly:

=========================  ============  ==============
topic                      2025-W10      2025-W11
=========================  ============  ==============
quantum error correction   3             6  (grew)
speculative decoding       0             6  (new)
coral reefs                7             4  (shrank)
protein structure          0             5  (new)
robot grasping             4             0  (gone)
sourdough (an outlier)     0             1  (Other)
=========================  ============  ==============
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.support.papers_fixture import write_jsonl

PREVIOUS_MONDAY = date(2025, 3, 3)  # 2025-W10
CURRENT_MONDAY = date(2025, 3, 10)  # 2025-W11

TOPICS: dict[str, dict[str, list[str]]] = {
    "quantum": {
        "aspects": ["Surface code decoding", "Logical qubit memory", "Lattice surgery", "Leakage reduction"],
        "settings": ["on superconducting processors", "with neural network decoders", "below threshold"],
        "facts": [
            "Logical error rates of the surface code fall exponentially as the code distance grows.",
            "Syndrome measurements on the superconducting quantum processor are decoded in real time.",
            "Quantum error correction keeps logical qubits coherent longer than any physical qubit.",
            "Bit-flip and phase-flip errors of transmon qubits are corrected by stabilizer measurements.",
            "The fault-tolerance threshold is crossed with a distance-seven surface code on the quantum chip.",
            "Correlated qubit errors from cosmic rays are detected and removed by the decoder.",
        ],
    },
    "decoding": {
        "aspects": ["Speculative decoding", "Draft model selection", "Token tree verification", "Early exit drafting"],
        "settings": ["for large language model inference", "with tiny draft models", "on long contexts"],
        "facts": [
            "A small draft language model proposes several tokens that the large model verifies in one pass.",
            "Speculative decoding speeds up large language model inference without changing the outputs.",
            "Token acceptance rates of the draft model decide how much generation latency is saved.",
            "Verification of drafted token trees reuses the key-value cache of the target language model.",
            "Memory-bound autoregressive decoding of LLMs becomes up to three times faster with drafting.",
            "The draft model is distilled from the target LLM so its next-token predictions agree more often.",
        ],
    },
    "coral": {
        "aspects": [
            "Coral bleaching forecasts", "Reef heat stress mapping", "Marine heatwave detection", "Coral cover",
        ],
        "settings": ["from satellite sea temperatures", "across Pacific reefs", "with ocean buoy data"],
        "facts": [
            "Coral bleaching on tropical reefs follows marine heatwaves in sea surface temperature records.",
            "Satellite sea surface temperature anomalies forecast reef bleaching two months ahead.",
            "Degree heating weeks measured by ocean buoys predict coral mortality on the Great Barrier Reef.",
            "Reef surveys by divers confirm the bleaching maps derived from satellite ocean data.",
            "Warming oceans reduce live coral cover and the fish that shelter on coral reefs.",
            "Heat-tolerant coral colonies recover from bleaching faster on well-protected reefs.",
        ],
    },
    "protein": {
        "aspects": ["Protein structure prediction", "Protein folding", "Enzyme binding site design", "Protein docking"],
        "settings": ["from single amino acid sequences", "with molecular dynamics", "for antibody design"],
        "facts": [
            "The three-dimensional structure of a protein is predicted from its amino acid sequence alone.",
            "Molecular dynamics simulations refine predicted protein folds toward their native structure.",
            "Enzyme active sites and ligand binding pockets are designed residue by residue.",
            "Predicted protein structures match crystallography models within two angstroms of backbone error.",
            "Protein language models embed amino acid sequences to guide folding and binding predictions.",
            "Antibody-antigen docking poses are ranked by a learned protein interface energy.",
        ],
    },
    "grasping": {
        "aspects": ["Robotic grasping", "Tactile manipulation", "Soft gripper control", "Grasp pose detection"],
        "settings": ["of transparent objects", "with multi-fingered robot hands", "in cluttered bins"],
        "facts": [
            "A robot hand with tactile sensors grasps fragile objects without crushing them.",
            "Grasp poses for a parallel-jaw gripper are predicted from depth camera images.",
            "Soft robotic fingers adapt their grip force to slippery and deformable objects.",
            "The manipulation policy picks items from cluttered warehouse bins with a robotic arm.",
            "Tactile feedback lets the multi-fingered robot hand regrasp objects that begin to slip.",
            "Transparent glass objects are grasped by the robot after depth completion of camera images.",
        ],
    },
}

OUTLIER = {
    "title": "Wild Yeast Fermentation Schedules for Sourdough Bread",
    "abstract": "Sourdough bread rises through fermentation by wild yeast and lactic acid bacteria. We bake "
    "loaves with starter cultures kept at different kitchen temperatures and measure crumb, crust and sour "
    "flavour. Longer cold proofing of the dough gives a more open crumb and a tangier taste.",
}

#: (topic, papers in W10, papers in W11)
PLAN = [("quantum", 3, 6), ("decoding", 0, 6), ("coral", 7, 4), ("protein", 0, 5), ("grasping", 4, 0)]


def topic_paper(topic: str, k: int, day: date) -> dict[str, object]:
    """The ``k``-th paper of ``topic``: a title and a three-sentence abstract from the topic's phrases."""
    spec = TOPICS[topic]
    aspects, settings, facts = spec["aspects"], spec["settings"], spec["facts"]
    aspect = aspects[k % len(aspects)]
    setting = settings[(k // len(aspects)) % len(settings)]
    title = f"{aspect} {setting}"
    body = " ".join(facts[(k + j * 2) % len(facts)] for j in range(3))
    abstract = f"We study {aspect.lower()} {setting}. {body}"
    return {
        "id": _id(topic, k),
        "title": title,
        "abstract": abstract,
        "authors": [f"{topic.title()} Author {k}"],
        "date": day.isoformat(),
    }


def _id(topic: str, k: int) -> str:
    index = [name for name, _, _ in PLAN].index(topic)
    return f"2503.{index + 1}{k:04d}"


def week_papers() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(previous week, current week) fixture papers; a topic's papers continue its numbering."""
    previous: list[dict[str, object]] = []
    current: list[dict[str, object]] = []
    for topic, before, now in PLAN:
        for k in range(before):
            previous.append(topic_paper(topic, k, PREVIOUS_MONDAY + timedelta(days=k % 5)))
        for k in range(before, before + now):
            current.append(topic_paper(topic, k, CURRENT_MONDAY + timedelta(days=k % 5)))
    current.append({**OUTLIER, "id": "2503.99999", "authors": ["Baker"], "date": CURRENT_MONDAY.isoformat()})
    return previous, current


def topic_of(paper_id: str) -> str:
    """The topic a fixture paper id was generated from (``outlier`` for the sourdough paper)."""
    if paper_id == "2503.99999":
        return "outlier"
    return PLAN[int(paper_id[5]) - 1][0]


def write_weeks(folder: Path) -> Path:
    previous, current = week_papers()
    return write_jsonl(folder / "brief_weeks.jsonl", previous + current)
