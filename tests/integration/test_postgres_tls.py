"""TLS to PostgreSQL against a real server: a throw-away cluster (initdb, run as the `postgres` user when
the tests run as root, as CI does) with ssl=on, a server certificate signed by a CA the test generates
(tests/support/certs.py), a pg_hba of `hostssl` lines only and scram-sha-256 passwords. The store connects
through the project's settings (`storage.database_sslmode: verify-full`, `database_sslrootcert`, the
password from `database_password_file`), migrates and works over TLS; a plain connection, a foreign CA, a
server name the certificate does not carry and a wrong password are refused. The NATS twin of this test is
tests/integration/test_service_tls.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from safecity.config import Settings
from safecity.store import make_engine, upgrade
from support.certs import Certs, make_certs
from support.processes import PgServer

PASSWORD = "pg-tls-password-7f3a"


@pytest.fixture(scope="module")
def tls_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PgServer, Certs]]:
    certs = make_certs(tmp_path_factory.mktemp("pg-tls") / "certs")
    with PgServer.start(tls=certs, password=PASSWORD) as pg:
        yield pg, certs


def _settings(
    pg: PgServer, folder: Path, host: str = "127.0.0.1", query: str = "", **storage: Any
) -> Settings:
    secret = folder / "db-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    base = {
        "database_url": f"postgresql://postgres@{host}:{pg.port}/postgres{query}",
        "database_password_file": str(secret),
        "database_sslmode": "verify-full",
        "database_sslrootcert": str(pg.tls.ca),
    }
    return Settings.model_validate({"storage": {"data_dir": str(folder), **base, **storage}})


def _connect(settings: Settings) -> dict[str, Any]:
    """Connect as the store does and say how: TLS in use, its version, the server's `ssl` setting."""
    engine = make_engine(settings.storage.resolved_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).one()
            return {"ssl": row.ssl, "version": row.version}
    finally:
        engine.dispose()


def test_the_store_migrates_and_works_over_verified_tls(
    tls_pg: tuple[PgServer, Certs], tmp_path: Path
) -> None:
    pg, _ = tls_pg
    settings = _settings(pg, tmp_path)
    url = settings.storage.resolved_database_url
    assert PASSWORD in url and "sslmode=verify-full" in url
    upgrade(url)  # the migrations run over the same verified connection
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            ssl, version = conn.execute(
                text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).one()
    finally:
        engine.dispose()
    assert ssl is True and str(version).startswith("TLSv1.")


def test_plain_foreign_ca_wrong_name_and_wrong_password_are_refused(
    tls_pg: tuple[PgServer, Certs], tmp_path: Path
) -> None:
    pg, _ = tls_pg
    assert _connect(_settings(pg, tmp_path))["ssl"] is True  # the control: these settings connect
    foreign = make_certs(tmp_path / "foreign", "an attacker's CA").ca
    wrong_password = tmp_path / "wrong"
    wrong_password.write_text("not-the-password\n")
    refused = {
        # no TLS: the server's pg_hba has no line for an unencrypted connection
        "plain": ({"database_sslmode": "disable", "database_sslrootcert": None}, "no encryption"),
        "foreign CA": ({"database_sslrootcert": str(foreign)}, "certificate verify failed"),
        "wrong password": ({"database_password_file": str(wrong_password)}, "password authentication failed"),
    }
    for name, (change, reason) in refused.items():
        with pytest.raises(OperationalError, match=reason):
            _connect(_settings(pg, tmp_path, **change))
        print(f"{name}: refused ({reason})")
    # verify-full checks the name: the same server reached as db.example (libpq's hostaddr) is refused,
    # its certificate names localhost and 127.0.0.1 only
    with pytest.raises(OperationalError, match="does not match"):
        _connect(_settings(pg, tmp_path, host="db.example", query="?hostaddr=127.0.0.1"))
