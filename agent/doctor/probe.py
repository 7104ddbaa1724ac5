"""The child process doctor runs to try one real generation: ``python -m agent.doctor.probe GGUF``.

It loads the model exactly as the local provider does and generates a few tokens from a
multi-token prompt (AMX faults need 2+ tokens), then prints one JSON line of timings. It runs
apart from doctor so that SIGILL, SIGSEGV or an OOM kill ends this process, not the report.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

PROMPT = "In one short sentence: what is a citation?"
MAX_TOKENS = 8


def main(argv: list[str]) -> int:
    from agent.llm.base import ChatMessage
    from agent.llm.local import LocalLLM

    started = time.perf_counter()
    llm = LocalLLM(Path(argv[0]), context_window=512)
    llm.load()
    loaded = time.perf_counter()
    _text, usage = llm.complete([ChatMessage("user", PROMPT)], max_tokens=MAX_TOKENS)
    done = time.perf_counter()
    tokens = usage.completion_tokens
    print(json.dumps({"load_s": loaded - started, "generate_s": done - loaded, "tokens": tokens}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
