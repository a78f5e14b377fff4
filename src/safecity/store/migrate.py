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


def head_revision() -> str:
    """The newest revision of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions found in {MIGRATIONS_DIR}")
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database on `conn` is at (None for an empty database)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade_connection(conn: Connection, revision: str = "head") -> None:
    """Run the migrations up to `revision` on an open connection (committed by the caller)."""
    cfg = alembic_config(conn.engine.url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: head)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            upgrade_connection(conn, revision)
    finally:
        engine.dispose()
