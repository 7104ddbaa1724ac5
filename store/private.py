"""Private by default: the data dir is owner-only (0700) and its SQLite databases 0600.

The data dir holds full prompts and answers (the call log), saved conversations and
the catalog; on a shared lab server the default umask would leave them readable by
every user. Directories and databases are created private, and existing ones (from
an older paperbrief) are tightened when opened. Only the owner can change modes, so
a directory someone else owns and shares on purpose is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's side files hold the same data as the database; SQLite creates them with the
# database's own mode, but ones left by an older version are tightened too.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(mode)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700, or tighten it if it exists; returns it."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:  # new folders only: never chmod a parent the user made
        _tighten(created, DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_db(path: Path) -> Path:
    """Prepare an SQLite file at ``path``: private parent folder, the file (and side files) 0600.

    An empty file is a valid new database for SQLite, so creating it with mode 0600
    before ``sqlite3.connect`` means the data is never readable by others, not even
    for the moment between creating and tightening.
    """
    path = Path(path)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + s) for s in _SQLITE_SIDE_FILES)):
        _tighten(candidate, FILE_MODE)
    return path
