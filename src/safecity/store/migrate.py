"""Programmatic Alembic: the migration environment ships inside the package, no alembic.ini needed.

One linear history (a test keeps it one head). `upgrade(url)` brings a database to head.
`upgrade_engine(engine)` does the same on an engine we already hold (the store uses it so an in-memory
SQLite database is migrated on its own connection). Nodes starting at once take turns (see `upgrade`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from safecity.store.engine import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic `Config` pointing at the packaged migrations, with `sqlalchemy.url` set from `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalize_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))  # configparser interpolation
    return cfg


# Wave 1 grew six branches from 0001 (two named 0005) and upgraded to every head. They are one line now;
# a database upgraded then holds one `alembic_version` row per old head, i.e. every old revision applied,
# which is the linear line up to LEGACY_HEAD.
LEGACY_BRANCH_HEADS = frozenset(
    {"0002_accounts", "0003_operations", "0004_media", "0005_analytics", "0005_audit", "0006_biometrics"}
)
LEGACY_HEAD = "0007_biometrics"


def head_revisions() -> set[str]:
    """The newest revision of the packaged migrations (a set for callers that compare with the database)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if not heads:
        raise RuntimeError(f"no Alembic revisions found in {MIGRATIONS_DIR}")
    return heads


def _collapse_legacy_branches(conn: Connection) -> None:
    """Rewrite a wave-1 branched `alembic_version` (all six old heads) into the one linear revision."""
    rows = current_revisions(conn)
    if len(rows) > 1 and rows <= LEGACY_BRANCH_HEADS:
        if rows != LEGACY_BRANCH_HEADS:
            raise RuntimeError(
                f"database is at a partial wave-1 migration set {sorted(rows)}; upgrade it with wave 1 first"
            )
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": LEGACY_HEAD})


def current_revisions(conn: Connection) -> set[str]:
    """The revisions the database on `conn` is at (empty for an empty database)."""
    return set(MigrationContext.configure(conn).get_current_heads())


def upgrade_connection(conn: Connection, revision: str = "head") -> None:
    """Run the migrations up to `revision` on an open connection (committed by the caller)."""
    _collapse_legacy_branches(conn)
    cfg = alembic_config(conn.engine.url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


MIGRATION_LOCK = 0x5AFEC17  # PostgreSQL advisory lock key: one node migrates at a time
SQLITE_ATTEMPTS = 5


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the head of the one linear history).

    Several nodes may start at once: on PostgreSQL they queue on an advisory lock; on SQLite (one host)
    a process that loses the race to another migrating the same file retries once that one is done."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """`upgrade` on an engine we already hold (the store's own, so an in-memory SQLite database is
    migrated on its one connection); the same locking and retries."""
    with _sqlite_file_lock(engine.url):
        _upgrade_with_retries(engine, revision)


@contextlib.contextmanager
def _sqlite_file_lock(url: URL) -> Iterator[None]:
    """Processes on one host migrating one SQLite file take turns: the pysqlite driver runs DDL
    outside a transaction, so a second migrator would otherwise see (and trip over) a half-migrated schema."""
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        yield
        return
    lock = Path(db).with_name(Path(db).name + ".migrate-lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed, also if this process dies
        yield
    finally:
        os.close(fd)


def _upgrade_with_retries(engine: Engine, revision: str) -> None:
    for attempt in range(SQLITE_ATTEMPTS):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
                upgrade_connection(conn, revision)
            return
        except OperationalError:
            if engine.dialect.name != "sqlite" or attempt == SQLITE_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
