"""Media storage: snapshots, clips and recordings, by key, behind the `MediaStorage` protocol.

A key is a relative POSIX path such as `snapshots/cam1/2025-01-31/<id>.jpg`. The local backend maps
it under a root directory and writes atomically (temporary file in the same directory, fsync,
`os.replace`), so a reader never sees half a JPEG. Keys that could leave the root are rejected.

`MediaStorage` is what the camera workers need (put/get/exists/path_for). `ManagedStorage` adds what the
data center needs (recordings, clips, retention): move a finished local file in, list by prefix with
sizes and times, delete, and a local file to read from. Both backends implement it: this local one and
`safecity.media.s3.S3MediaStorage`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True, slots=True)
class MediaObject:
    """One stored object: its key, size in bytes and last modification time (UTC)."""

    key: str
    size: int
    modified: datetime


@runtime_checkable
class ManagedStorage(MediaStorage, Protocol):
    """`MediaStorage` plus what recordings, clips and retention need."""

    def put_file(self, key: str, source: Path) -> int:
        """Move the finished local file `source` into storage under `key`; its size in bytes.

        `source` is gone afterwards (renamed, or copied then removed)."""
        ...

    def delete(self, key: str) -> bool:
        """Remove `key`; False if nothing was stored there."""
        ...

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key (missing ones are fine); the number of keys processed."""
        ...

    def list_objects(self, prefix: str) -> Iterator[MediaObject]:
        """Every object whose key starts with the directory `prefix` (e.g. `recordings/cam1`)."""
        ...

    def local_file(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A context giving a local path with the object's bytes (the file itself, or a temporary copy)."""
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

    def put_file(self, key: str, source: Path) -> int:
        """Rename `source` into place (same file system), else copy it atomically and remove it."""
        path = self._path(normalize_key(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        size = source.stat().st_size
        try:
            os.replace(source, path)
        except OSError:  # another file system: copy to a temporary name, then rename
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as tmp, source.open("rb") as src:
                    shutil.copyfileobj(src, tmp, 1 << 20)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                os.replace(tmp_name, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
                raise
            source.unlink()
        os.chmod(path, 0o600)
        _fsync_dir(path.parent)
        return size

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except (FileNotFoundError, IsADirectoryError):
            return False
        return True

    def delete_many(self, keys: Iterable[str]) -> int:
        """Unlink each key; a directory's symlink check is done once for all the keys in it (retention
        deletes many files per day directory). Unlinking never follows a symlink in the last segment."""
        safe_dirs: dict[tuple[str, ...], Path] = {}
        n = 0
        for key in keys:
            parts = normalize_key(key).split("/")
            directory = safe_dirs.get(tuple(parts[:-1]))
            if directory is None:
                directory = self._root.joinpath(*parts[:-1])
                if not directory.resolve().is_relative_to(self._root):
                    raise ValueError(f"media key {key!r} resolves outside the storage root")
                safe_dirs[tuple(parts[:-1])] = directory
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                (directory / parts[-1]).unlink()
            n += 1
        self._prune(sorted(safe_dirs, key=len, reverse=True))
        return n

    def _prune(self, directories: list[tuple[str, ...]]) -> None:
        """Remove directories left empty (old day folders), and their emptied parents, never the root."""
        for parts in directories:
            for depth in range(len(parts), 0, -1):
                try:
                    self._root.joinpath(*parts[:depth]).rmdir()
                except OSError:  # not empty (or gone): its parents are not empty either
                    break

    def list_objects(self, prefix: str) -> Iterator[MediaObject]:
        """Objects under the directory `prefix`, in no particular order; temporary files are skipped."""
        base = self._path(prefix)
        if not base.is_dir():
            return
        stack = [base]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                        st = entry.stat(follow_symlinks=False)
                        key = Path(entry.path).relative_to(self._root).as_posix()
                        yield MediaObject(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise MediaNotFoundError(f"no media stored under {key!r}")
        yield path


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
