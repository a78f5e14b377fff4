"""Programmatic Alembic: the migration environment ships inside the package, no alembic.ini needed.

`upgrade(url)` brings a database to head. `upgrade_connection(conn)` does the same on a connection we
already hold (the store uses it so an in-memory SQLite database is migrated on its own connection).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

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


def head_revisions() -> set[str]:
    """The newest revisions of the packaged migrations (one per branch until a merge joins them)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if not heads:
        raise RuntimeError(f"no Alembic revisions found in {MIGRATIONS_DIR}")
    return heads


def current_revisions(conn: Connection) -> set[str]:
    """The revisions the database on `conn` is at (empty for an empty database)."""
    return set(MigrationContext.configure(conn).get_current_heads())


def upgrade_connection(conn: Connection, revision: str = "heads") -> None:
    """Run the migrations up to `revision` on an open connection (committed by the caller)."""
    cfg = alembic_config(conn.engine.url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def upgrade(url: str | URL, revision: str = "heads") -> None:
    """Bring the database at `url` up to `revision` (default: every head, so feature branches of the
    migration graph can be developed side by side until a merge revision joins them)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            upgrade_connection(conn, revision)
    finally:
        engine.dispose()
