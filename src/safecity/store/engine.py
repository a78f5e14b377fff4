"""Engine creation: URL normalisation and per-dialect connection settings.

SQLite (the embedded default) gets WAL journaling (readers do not block the writer), foreign keys
and a busy timeout on every new DB-API connection. A bare `postgresql://` URL is pinned to the
psycopg 3 driver, the one the project installs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

SQLITE_BUSY_TIMEOUT_MS = 5000
SUPPORTED_DIALECTS = frozenset({"sqlite", "postgresql"})


def default_url(data_dir: Path) -> str:
    """The embedded default store: `sqlite:///<data_dir>/safecity.db`."""
    return f"sqlite:///{Path(data_dir) / 'safecity.db'}"


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, reject dialects we do not support and pick psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise ValueError(f"unsupported store URL dialect {backend!r}; use sqlite or postgresql")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(
    url: str | URL,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
) -> Engine:
    """Create an engine for `url`; for a SQLite file, create its directory if needed. The pool settings
    (None: SQLAlchemy's defaults, 5 + 10 connections, 30 s) apply to PostgreSQL and SQLite files."""
    parsed = normalize_url(url)
    pool: dict[str, Any] = {
        k: v
        for k, v in (("pool_size", pool_size), ("max_overflow", max_overflow), ("pool_timeout", pool_timeout))
        if v is not None
    }
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ImportError("PostgreSQL store needs psycopg 3: pip install 'psycopg[binary]'") from exc
        return create_engine(parsed, pool_pre_ping=True, **pool)
    db_file = _sqlite_file(parsed)
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **(pool if db_file is not None else {}))
    event.listen(engine, "connect", _on_sqlite_connect)
    return engine
