"""Split papers into token-sized chunks, each carrying the paper's title.

Chunks are measured in cl100k_base tokens (the same counter the agent's context
budgets use), split by LangChain's recursive splitter so cuts fall on paragraph and
sentence boundaries. The title is prepended to every chunk because a chunk from the
middle of an abstract is rarely findable, or citable, without it. Chunk ids are
``<paper_id>#<seq>`` so re-ingesting the same text produces the same ids and upserts
replace rather than duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from store.papers import Paper
from store.tokens import count_tokens, ensure_offline_tiktoken

_MIN_BODY_TOKENS = 64


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a paper: the unit of BM25 and dense search."""

    id: str
    paper_id: str
    seq: int
    text: str


def chunk_id(paper_id: str, seq: int) -> str:
    return f"{paper_id}#{seq}"


@lru_cache(maxsize=16)
def _splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    ensure_offline_tiktoken()
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name="cl100k_base",
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )


def chunk_paper(paper: Paper, *, size: int, overlap: int) -> list[Chunk]:
    """Chunks of ``title + abstract``; most abstracts fit in one.

    The body budget is ``size`` minus the title's tokens, so every chunk including
    its title stays within ``size`` (with a floor so a very long title still leaves
    room for text).
    """
    title = paper.title.strip()
    body = paper.abstract.strip()
    if not body:
        return [Chunk(chunk_id(paper.id, 0), paper.id, 0, title)]
    body_size = max(_MIN_BODY_TOKENS, size - count_tokens(title) - 2)
    # Most abstracts fit: one encode of the body instead of the splitter's one per sentence (it
    # sums its pieces' counts, which overshoot the whole by about a token a piece) was half of a
    # 75k-paper lexical ingest's CPU.
    fits = count_tokens(body) <= body_size
    pieces = [body] if fits else _splitter(body_size, overlap).split_text(body) or [body]
    return [
        Chunk(chunk_id(paper.id, seq), paper.id, seq, f"{title}\n\n{piece.strip()}")
        for seq, piece in enumerate(pieces)
    ]
