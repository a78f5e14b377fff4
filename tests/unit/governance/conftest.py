"""Fixtures of the audit tests: a migrated store on SQLite and on PostgreSQL (a fresh schema), with the
audit key and witness installed as the app installs them."""

from __future__ import annotations

import os
import uuid
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
from support.biometrics_fixtures import pg_unreachable


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'safecity.db'}"
        upgrade(url)
        yield url
        return
    reason = pg_unreachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    schema = f"audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host="127.0.0.1", port=5432, dbname="test", user="postgres", autocommit=True
    ) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
            upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


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
