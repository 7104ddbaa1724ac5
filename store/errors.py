"""Errors the data side raises for people to read: one line, naming the file and where."""

from __future__ import annotations


class StoreError(Exception):
    """Base for errors that end in one clear line and exit code 2, never a traceback."""


class SourceError(StoreError):
    """A file or response that cannot be parsed.

    ``location`` names the file (and line or field when known), so the message a
    person sees says exactly where to look: ``seeds/x.txt:12: date line 'Mar 32' is not a date``.
    """

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


class FetchError(StoreError):
    """A remote source that failed after every retry, or answered with an API error."""
