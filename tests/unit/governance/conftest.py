"""Fixtures of the audit tests: a migrated store (SQLite; PostgreSQL in CI's `db` pass, or locally with
SAFECITY_TEST_DATABASE_URL set), with the audit key and witness installed as the app installs them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from safecity.governance import audit
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_witness import Sealer, install
from safecity.store import make_engine
from safecity.store.migrate import upgrade


@pytest.fixture
def store_url(database_url: str) -> str:
    """A fresh, migrated store: SQLite, or PostgreSQL in CI's `db` pass (conftest `database_url`)."""
    upgrade(database_url)
    return database_url


@dataclass
class Sealed:
    url: str
    engine: Engine
    sealer: Sealer
    config: AuditConfig
    data_dir: Path

    def write(self, n: int) -> None:
        for i in range(n):
            with self.engine.begin() as conn:
                audit.append(conn, f"user{i % 3}", "test.act", f"thing:{i}", {"i": i})
        self.sealer.sync()

    def verify(self) -> audit.VerifyResult:
        with self.engine.connect() as conn:
            return audit.verify(conn)

    def kinds(self) -> set[str]:
        return {f.kind for f in self.verify().findings}


@pytest.fixture
def sealed(store_url: str, tmp_path: Path) -> Iterator[Sealed]:
    config = AuditConfig(key_file=tmp_path / "keys" / "audit.pem", witness_dir=tmp_path / "witness")
    sealer = install(store_url, config, tmp_path, follow=False)
    engine = make_engine(store_url)
    try:
        yield Sealed(store_url, engine, sealer, config, tmp_path)
    finally:
        sealer.close()
        engine.dispose()


def unguard(conn: sa.Connection) -> None:
    """What an insider with full database rights does first: take the append-only triggers away."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
