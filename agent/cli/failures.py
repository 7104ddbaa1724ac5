"""Every way a command can fail, turned into one line and an exit code.

Known errors already are one line (:mod:`agent.errors`). The rest reach here too: a SQLite
file locked past the busy timeout, a disk error, or a plain bug. None of them may end in a
traceback (a cron mail of 100 lines helps nobody); ``--debug`` shows it for a bug report.
"""

from __future__ import annotations

import sqlite3

from agent.errors import PaperbriefError, ServiceError
from store.errors import DatabaseBusy


class InternalError(ServiceError):
    """An exception nothing expected: a bug. One line, and how to get the traceback."""

    title = "Internal error"
    hint = "rerun with --debug and report the traceback"


def as_error(exc: BaseException) -> PaperbriefError:
    """The error-model equivalent of any exception a command raised."""
    if isinstance(exc, PaperbriefError):
        return exc
    text = _one_line(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return DatabaseBusy(
            f"a database in the data dir stayed locked by another paperbrief process ({text}); "
            "wait for it to finish or raise PAPERBRIEF_DB_BUSY_TIMEOUT"
        )
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return ServiceError(
            f"{exc.strerror}{where}; check the path, its permissions and free disk space"
        )
    return InternalError(f"internal error: {type(exc).__name__}: {text}; rerun with --debug for the traceback")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
