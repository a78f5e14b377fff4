"""Data files are private: the database, media and recordings of a node are readable by its own user only.

`make_private` sets the process umask to 077 (every file created from then on is 0600, every folder
0700: SQLite's database, WAL and journal, snapshots, recordings, exports) and tightens what already
exists: the data and media folders (0700) and the SQLite files (0600). An older installation whose
database was created world-readable (0644) is fixed at the next start.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE, FILE_MODE = 0o700, 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite:///...` URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def make_private(data_dir: Path, database_url: str, media_dir: Path | None = None) -> None:
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for folder in (data_dir, media_dir):
        if folder is not None and folder.is_dir():
            with contextlib.suppress(PermissionError):  # a folder owned by someone else: leave it
                folder.chmod(DIR_MODE)
    db = sqlite_path(database_url)
    if db is not None:
        for suffix in SQLITE_SUFFIXES:
            path = db.with_name(db.name + suffix)
            if path.is_file():
                with contextlib.suppress(PermissionError):
                    path.chmod(FILE_MODE)
