"""Run every check, each under its own deadline, and never let one take doctor down.

A check runs in a daemon thread: when it overruns its deadline doctor reports it as
failed and moves on (the thread is abandoned and dies with the process). Checks that
talk to a server or a child process also pass a shorter timeout of their own, so the
thread rarely outlives its deadline. An exception inside a check becomes a ``fail``
naming it, never a traceback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from agent.doctor.result import Result, fail

CheckFn = Callable[[], Result]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFn
    deadline_s: float


def run_one(check: Check) -> Result:
    box: list[Result] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(check.run())
        except BaseException as exc:
            errors.append(exc)

    started = time.perf_counter()
    thread = threading.Thread(target=target, name=f"doctor-{check.name}", daemon=True)
    thread.start()
    thread.join(check.deadline_s)
    elapsed = time.perf_counter() - started
    if thread.is_alive():
        return fail(check.name, f"no answer within {check.deadline_s:g} s",
                    "something it depends on hangs: run `paperbrief doctor --json` again, or check that part alone")
    if errors:
        exc = errors[0]
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return replace(fail(check.name, f"the check itself failed: {line}",
                            "report this with `paperbrief doctor --json` output"), seconds=elapsed)
    return replace(box[0], name=check.name, seconds=elapsed)


def run_all(checks: list[Check]) -> Iterator[Result]:
    """Results in order, as each finishes (the CLI prints them as they come)."""
    for check in checks:
        yield run_one(check)
