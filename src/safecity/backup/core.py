"""A consistent, verifiable backup of one deployment, and its restore into an empty one.

Layout of a backup folder:
    manifest.json        what was taken, when, row counts, and the SHA-256 and size of every file below
    database.sqlite      SQLite: the online backup API (a consistent copy while `serve` writes)
    database.pgdump      PostgreSQL: `pg_dump -Fc` (one transaction, so consistent too)
    outbox.sqlite        events not yet stored (held while the database was down), if any
    media/...            the local media store: snapshots, clips, recording segments (the index is in
                         the database; it is copied first, so every indexed segment is in media/)
    audit-witness/       the audit log's witness (audit.witness_dir); the signing key is NOT copied: keep it
                         in your secret store and put it back at audit.key_file (docs/operations.md)
    extra/<name>         `backup.extra_paths`
Restore checks every checksum first, refuses a deployment that already has data, then puts the
database, media and extras back and migrates the database to this version's head.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, make_url, text

from safecity.config.models import Settings
from safecity.store import make_engine, upgrade
from safecity.store.writer import outbox_path

MANIFEST = "manifest.json"
FORMAT = 1
COUNTED_TABLES = ("events", "incidents", "alerts", "users", "recording_segments", "media_clips", "audit_log")


class BackupError(RuntimeError):
    """A backup or restore that cannot proceed; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    counts: dict[str, int]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"storage.database_url {url!r} is not a SQLite file")
    return Path(database)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(settings: Settings, name: str) -> str:
    folders = [settings.backup.pg_bin_dir] if settings.backup.pg_bin_dir else []
    found = shutil.which(name)
    if found and not folders:
        return found
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in folders:
        if (folder / name).is_file():
            return str(folder / name)
    raise BackupError(f"{name} not found: install postgresql-client or set backup.pg_bin_dir")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while another process writes."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    target.chmod(0o600)


def _counts_on(conn: Connection) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    return {
        t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
        for t in COUNTED_TABLES
        if t in present
    }


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _counts_on(conn)
    finally:
        engine.dispose()


def _dump_database(settings: Settings, out: Path) -> tuple[str, dict[str, int]]:
    """The database into `out`, and its row counts as of that same copy."""
    url = settings.storage.resolved_database_url
    if _is_sqlite(url):
        copy = out / "database.sqlite"
        _sqlite_copy(_sqlite_file(url), copy)
        return "sqlite", _counts(f"sqlite:///{copy.resolve()}")
    target = out / "database.pgdump"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            # one exported snapshot for the counts and pg_dump: they describe the same instant
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = _counts_on(conn)
            cmd = [
                _pg_tool(settings, "pg_dump"),
                "-Fc",
                "--no-owner",
                f"--snapshot={snapshot}",
                "-f",
                str(target),
            ]
            done = subprocess.run([*cmd, _libpq_url(url)], capture_output=True, text=True, check=False)
            conn.rollback()
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    target.chmod(0o600)
    return "postgresql", counts


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.part", "*.tmp"))
    elif source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _extra_names(settings: Settings) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in settings.backup.extra_paths:
        if path.name in names:
            raise BackupError(f"backup.extra_paths: two entries are named {path.name!r}")
        names[path.name] = path
    return names


def backup(settings: Settings, out: Path) -> BackupResult:
    """Write a backup of the deployment `settings` describes into the empty or new folder `out`."""
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: back up into a new folder")
    if settings.media.type != "local":
        raise BackupError("media.type s3: back the bucket up with the object store's own tools; not copied")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = datetime.now(UTC)
    # the audit witness before the database: it may then lag the dump (entries not witnessed yet, as in
    # the second after any append) but never be ahead of it, which `verify` would call a truncation
    witness = settings.audit.resolved_witness_dir(settings.storage.data_dir)
    if witness.is_dir():  # the private signing key is never copied (docs/operations.md)
        _copy_tree(witness, out / "audit-witness")
    kind, counts = _dump_database(settings, out)  # then: every segment it indexes is in media/ below
    box = outbox_path(settings)
    if box.is_file():
        _sqlite_copy(box, out / "outbox.sqlite")
    _copy_tree(settings.storage.resolved_media_dir, out / "media")
    for name, path in _extra_names(settings).items():
        _copy_tree(path, out / "extra" / name)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    entries: dict[str, dict[str, Any]] = {
        str(p.relative_to(out)): {"sha256": _sha256(p), "size": p.stat().st_size} for p in files
    }
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "database": kind,
        "counts": counts,
        "extras": sorted(_extra_names(settings)),
        "files": entries,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return BackupResult(out, len(entries), sum(int(e["size"]) for e in entries.values()), counts)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its checksum (BackupError otherwise)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: not a safecity backup")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    for name, entry in manifest["files"].items():
        file = folder / name
        if not file.is_file():
            raise BackupError(f"backup file {name} is missing")
        if file.stat().st_size != entry["size"] or _sha256(file) != entry["sha256"]:
            raise BackupError(f"backup file {name} does not match its checksum: the backup is damaged")
    return manifest


def _ensure_empty(settings: Settings) -> None:
    url = settings.storage.resolved_database_url
    if _is_sqlite(url):
        if _sqlite_file(url).exists():
            raise BackupError(f"{_sqlite_file(url)} exists: restore into an empty deployment")
    else:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise BackupError(f"the database has {len(tables)} table(s): restore into an empty database")
    media = settings.storage.resolved_media_dir
    if media.is_dir() and any(media.iterdir()):
        raise BackupError(f"{media} is not empty: restore into an empty deployment")


def _restore_database(settings: Settings, folder: Path, kind: str) -> None:
    url = settings.storage.resolved_database_url
    if (kind == "sqlite") != _is_sqlite(url):
        raise BackupError(
            f"the backup holds a {kind} database; storage.database_url is {make_url(url).get_backend_name()}"
        )
    if kind == "sqlite":
        target = _sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(folder / "database.sqlite", target)
        return
    cmd = [_pg_tool(settings, "pg_restore"), "--no-owner", "--exit-on-error", "-d", _libpq_url(url)]
    done = subprocess.run(
        [*cmd, str(folder / "database.pgdump")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def restore(settings: Settings, folder: Path) -> dict[str, Any]:
    """Put the backup in `folder` into the empty deployment `settings` describes; the manifest."""
    manifest = read_manifest(folder)
    _ensure_empty(settings)
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _restore_database(settings, folder, str(manifest["database"]))
    upgrade(settings.storage.resolved_database_url)  # a backup from an older version
    if (folder / "outbox.sqlite").is_file():
        _sqlite_copy(folder / "outbox.sqlite", outbox_path(settings))  # held events: stored at start
    _copy_tree(folder / "media", settings.storage.resolved_media_dir)
    if (folder / "audit-witness").is_dir():
        witness = settings.audit.resolved_witness_dir(settings.storage.data_dir)
        if witness.exists() and any(witness.iterdir()):
            raise BackupError(f"{witness} is not empty: restore into an empty deployment")
        _copy_tree(folder / "audit-witness", witness)
    targets = _extra_names(settings)
    for name in manifest.get("extras", []):
        if name not in targets:
            raise BackupError(
                f"the backup has the extra {name!r}: list a path with that name in backup.extra_paths"
            )
        if targets[name].exists():
            raise BackupError(f"{targets[name]} exists: restore into an empty deployment")
        _copy_tree(folder / "extra" / name, targets[name])
    os.sync()
    return manifest
