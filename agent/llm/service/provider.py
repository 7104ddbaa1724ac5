"""The local model reached through its service: the OpenAI-compatible provider, plus crash sense.

:class:`ServiceLLM` is :class:`~agent.llm.openai_compat.OpenAICompatLLM` pointed at the
service, so the local model and OpenAI, Ollama or vLLM share one code path. What it adds
is what only a model we run ourselves allows: it starts the service on first use, gives
every call one overall deadline (a hung process is stopped, then restarted next time),
and turns "connection refused" into the real cause read from the exit record, raised as
:class:`~agent.llm.base.ModelProcessError` so front ends fall back instead of failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from agent.llm.base import LLMError, MessageLike, ModelProcessError, StreamEvent
from agent.llm.openai_compat import OpenAICompatLLM, _make_client
from agent.llm.retry import RetryPolicy
from agent.llm.service import process
from agent.llm.service.process import ServiceSpec
from agent.llm.service.state import ServiceState, cause_and_fix, pid_alive, read_exit

if TYPE_CHECKING:
    from agent.prompts import PromptRef

#: Greedy decoding as the in-process model does it: llama.cpp's server defaults to a
#: repeat penalty of 1.1, ``Llama.create_chat_completion`` to 1.0.
_SAMPLING = {"repeat_penalty": 1.0}
#: How long a failed call waits for the model process to finish dying before naming the cause: a
#: process killed by SIGILL or SIGSEGV may take seconds to go (a core handler, a loaded machine);
#: 3 s was seen to be too short once on a busy 2-core machine. SIGKILL and a hang are not delayed.
_DYING_S = 8.0


class ServiceLLM(OpenAICompatLLM):
    """A local GGUF model served by the shared model service; ``provider`` stays ``"local"``."""

    provider = "local"

    def __init__(self, spec: ServiceSpec, *, deadline_s: float) -> None:
        super().__init__(
            spec.model.stem,
            base_url="http://127.0.0.1:1/v1",  # replaced once the service is found
            # the parent's overall deadline is the local timeout; the first token may wait as long,
            # since a request queues behind other processes' calls in the one model process
            timeout_s=deadline_s,
            first_token_s=deadline_s,
            policy=RetryPolicy(attempts=1),
            context_window=spec.n_ctx,
        )
        self.spec = spec
        self.path = spec.model
        self.deadline_s = deadline_s
        self.extra_params = dict(_SAMPLING)
        self._state: ServiceState | None = None
        self._connect_lock = threading.Lock()

    @property
    def describe(self) -> str:
        return f"model {self.name} (local service)"

    def load(self) -> None:
        """Start (or find) the service now; raises :class:`ModelProcessError`."""
        self._connect()

    def _connect(self) -> ServiceState:
        with self._connect_lock:
            state = process.ensure(self.spec)
            if self._state is None or (state.pid, state.port) != (self._state.pid, self._state.port):
                self.base_url = state.base_url
                self._client = _make_client(self.base_url, None, self.deadline_s)
                self._state = state
            return state

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        state = self._connect()
        started = time.monotonic()
        events = super().stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt)
        try:  # the overall deadline is the parent's (timeout_s = deadline_s), watchdog included
            yield from events
        except LLMError as exc:
            raise self._diagnose(state, exc, time.monotonic() - started) from None
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def _diagnose(self, state: ServiceState, exc: LLMError, elapsed: float) -> ModelProcessError:
        """Name what happened to the process behind a failed call."""
        paths = self.spec.paths
        end = time.monotonic() + _DYING_S
        while pid_alive(state.pid) and time.monotonic() < end and not _timed_out(elapsed, self.deadline_s):
            time.sleep(0.02)  # a dying process may still hold its port for a moment
        if not pid_alive(state.pid):
            process.wait_for_exit_record(paths, state.pid)
            record = read_exit(paths)
            if record is not None and record.pid == state.pid:
                why = cause_and_fix(record, deadline_s=self.deadline_s, log=paths.log)
            else:
                why = "the model process stopped"
            return ModelProcessError(f"{self.describe}: {why}; the next call restarts it")
        if _timed_out(elapsed, self.deadline_s):
            process.kill_hung(paths, state, self.deadline_s)
            return ModelProcessError(
                f"{self.describe}: no answer within {self.deadline_s:g}s, so the model process was "
                "stopped (raise PAPERBRIEF_LOCAL_TIMEOUT if it is only slow); the next call restarts it"
            )
        # alive and on time, yet the call failed: still the local model, so still a fallback
        return ModelProcessError(str(exc))


def _timed_out(elapsed: float, deadline_s: float) -> bool:
    return elapsed >= deadline_s * 0.95
