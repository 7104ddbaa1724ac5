"""paperbrief's one error model, rooted on the data side so that both sides share it.

Every error meant for people is a :class:`PaperbriefError`: its ``str`` is one line, and
its class says what kind of failure it is and so how a front end reports it:

* :class:`UserError` – bad input or configuration; the user must change something (exit 2);
* :class:`ServiceError` – a server, child process or the disk kept failing (exit 1).

Each class also carries a short ``title`` and a ``hint`` (the next step), which the CLI and
the TUI show without knowing every subclass. ``agent.errors`` re-exports these; the data
side lives here because ``store`` never imports ``agent``.
"""

from __future__ import annotations


class PaperbriefError(Exception):
    """Base of every error that ends in one clear line, never a traceback."""

    exit_code: int = 1
    title: str = "Error"
    hint: str = ""

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(str(message))
        if hint is not None:
            self.hint = hint


class UserError(PaperbriefError):
    """Bad input or configuration: the user must change something (exit code 2)."""

    exit_code = 2
    title = "Cannot do that"


class ServiceError(PaperbriefError):
    """A server, child process or the disk that failed after every retry (exit code 1)."""

    exit_code = 1
    title = "Service problem"


class StoreError(UserError):
    """The index or its configuration cannot be used as asked."""

    title = "Index problem"
    hint = "check PAPERBRIEF_DATA_DIR / CHROMA_HOST, then retry"


class SourceError(StoreError):
    """A file or response that cannot be parsed.

    ``location`` names the file (and line or field when known), so the message a
    person sees says exactly where to look: ``seeds/x.txt:12: date line 'Mar 32' is not a date``.
    """

    title = "Unreadable file"
    hint = "fix or remove that file, then ingest again"

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


class FetchError(ServiceError):
    """A remote source that failed after every retry, or answered with an API error."""

    title = "Fetch failed"
    hint = "check the network or the date, then try again"


class IndexUnavailable(ServiceError):
    """The Chroma server (or the embedded store) stopped answering or went away."""

    title = "Index unavailable"
    hint = "check that the Chroma server is running (`chroma run`) and CHROMA_HOST/CHROMA_PORT, then retry"


class DatabaseBusy(ServiceError):
    """A SQLite file in the data dir stayed locked by another process past the busy timeout."""

    title = "Database busy"
    hint = "another paperbrief process is writing; wait for it, or raise PAPERBRIEF_DB_BUSY_TIMEOUT"
