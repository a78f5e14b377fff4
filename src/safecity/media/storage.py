"""Media storage: snapshots, clips and recordings, by key, behind the `MediaStorage` protocol.

A key is a relative POSIX path such as `snapshots/cam1/2025-01-31/<id>.jpg`. The local backend maps
it under a root directory and writes atomically (temporary file in the same directory, fsync,
`os.replace`), so a reader never sees half a JPEG. Keys that could leave the root are rejected.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable


class MediaNotFoundError(FileNotFoundError):
    """No object is stored under this key."""


@runtime_checkable
class MediaStorage(Protocol):
    """Blob storage by key: local directory by default, S3-compatible at scale."""

    def put(self, key: str, data: bytes) -> str:
        """Store `data` under `key` (replacing any previous object); return the normalised key."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; `MediaNotFoundError` if there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def path_for(self, key: str) -> Path | None:
        """A local file path for `key` (for serving it directly), or None for remote backends."""
        ...


def normalize_key(key: str) -> str:
    """Validate a storage key and return it normalised; ValueError if it is unsafe.

    Rejected: empty keys, absolute paths, backslashes, NUL, `.` / `..` / empty segments.
    """
    if not key or "\x00" in key or "\\" in key:
        raise ValueError(f"invalid media key {key!r}")
    path = PurePosixPath(key)
    if path.is_absolute() or key.startswith("/"):
        raise ValueError(f"media key must be relative, got {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"media key has an empty, '.' or '..' segment: {key!r}")
    if ":" in parts[0] and len(parts[0]) == 2:  # Windows drive letter, e.g. "C:"
        raise ValueError(f"media key must be relative, got {key!r}")
    return "/".join(parts)


class LocalMediaStorage:
    """`MediaStorage` on a local directory. Files are created owner-read/write only (snapshots are
    personal data)."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()
        self._root.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, key: str) -> Path:
        path = self._root.joinpath(*normalize_key(key).split("/"))
        # A symlink inside the root must not lead outside it either.
        if not path.resolve().is_relative_to(self._root):
            raise ValueError(f"media key {key!r} resolves outside the storage root")
        return path

    def put(self, key: str, data: bytes) -> str:
        normalized = normalize_key(key)
        path = self._path(normalized)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)
        return normalized

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise MediaNotFoundError(f"no media stored under {key!r}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def path_for(self, key: str) -> Path | None:
        """Where `key` is (or would be) stored; the file may not exist yet."""
        return self._path(key)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
