"""TLS and credentials to the services, against locally generated certificates: our own nats-server on a
free port with TLS and a user/password; events travel through the real NatsBus over it, and a wrong CA, a
wrong password or plain TCP are refused. PostgreSQL: the sslmode/sslrootcert settings and the password
file are merged into the URL the store connects with (docs/security.md)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from safecity.bus.config import BusConfig
from safecity.bus.nats_loop import LoopThread, connect
from safecity.bus.nats_security import SecretFileError, connect_options
from safecity.config import Settings
from support.certs import Certs, make_certs

pytestmark = [pytest.mark.nats]
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
PASSWORD = "s3cret-nats-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Certs, Path]]:
    if not Path(NATS_SERVER).is_file():
        pytest.skip(f"{NATS_SERVER} not installed (Debian package nats-server)")
    tmp = tmp_path_factory.mktemp("nats-tls")
    certs = make_certs(tmp / "certs")
    port = _free_port()
    conf = tmp / "nats.conf"
    conf.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{tmp / "js"}" }}\n'
        f'tls {{ cert_file: "{certs.cert}", key_file: "{certs.key}", timeout: 2 }}\n'
        f'authorization {{ user: "safecity", password: "{PASSWORD}" }}\n'
    )
    proc = subprocess.Popen([NATS_SERVER, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        secret = tmp / "nats-password"
        secret.write_text(PASSWORD + "\n")
        secret.chmod(0o600)
        yield f"tls://127.0.0.1:{port}", certs, secret
    finally:
        proc.terminate()
        proc.wait(10)


def _try(cfg: BusConfig) -> None:
    loop = LoopThread("tls-test")
    try:
        nc = loop.call(connect(cfg.url, "tls-test", 3.0, connect_options(cfg)), 10.0)
        loop.call(nc.close(), 5.0)
    finally:
        loop.stop()


def test_events_travel_over_tls_with_a_password_from_a_file(tls_nats: tuple[str, Certs, Path]) -> None:
    from safecity.bus.nats import NatsBus
    from safecity.types import Event, EventKind

    url, certs, secret = tls_nats
    settings = {"type": "nats", "url": url, "tls": {"ca_file": str(certs.ca)}, "user": "safecity",
                "password_file": str(secret), "stream": f"TLS_{int(time.time())}",
                "subject_prefix": "tls.events"}  # fmt: skip
    cfg = BusConfig.model_validate(settings)
    got: list[Event] = []
    bus = NatsBus(cfg, name="tls-test")
    try:
        bus.subscribe(got.append)
        now = datetime.now(UTC)
        bus.publish(Event(camera_id="gate", kind=EventKind.LINE_CROSSING, start=now, end=now, label="person"))
        deadline = time.monotonic() + 15
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        bus.close()
    assert [e.camera_id for e in got] == ["gate"]


def test_wrong_ca_wrong_password_and_plain_tcp_are_refused(
    tls_nats: tuple[str, Certs, Path], tmp_path: Path
) -> None:
    url, certs, secret = tls_nats
    good = {"url": url, "tls": {"ca_file": str(certs.ca)}, "user": "safecity", "password_file": str(secret)}
    _try(BusConfig.model_validate(good))  # the control: these settings connect
    other_ca = make_certs(tmp_path / "other", "an attacker's CA").ca
    wrong_ca = {**good, "tls": {"ca_file": str(other_ca)}}
    wrong_password = {**good, "password_file": None, "password": "nope"}
    no_tls_settings = {**good, "tls": None, "url": url.replace("tls://", "nats://")}
    for bad in (wrong_ca, wrong_password, no_tls_settings):
        with pytest.raises(ConnectionError):
            _try(BusConfig.model_validate(bad))
    with pytest.raises(SecretFileError, match=r"bus\.password_file"):
        connect_options(BusConfig.model_validate({**good, "password_file": str(tmp_path / "missing")}))


def test_postgres_tls_settings_and_password_file_reach_the_url(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    secret = tmp_path / "pg-password"
    secret.write_text("p@ss:word/with?chars\n")
    s = Settings.model_validate({"storage": {
        "database_url": "postgresql://safecity@db.example:5432/safecity",
        "database_password_file": str(secret), "database_sslmode": "verify-full",
        "database_sslrootcert": str(certs.ca)}})  # fmt: skip
    url = make_url(s.storage.resolved_database_url)
    assert url.password == "p@ss:word/with?chars" and url.host == "db.example"
    assert url.query["sslmode"] == "verify-full" and url.query["sslrootcert"] == str(certs.ca)
    plain = Settings.model_validate({"storage": {"database_url": "postgresql://u@h/d"}})
    assert plain.storage.resolved_database_url == "postgresql://u@h/d"  # nothing added when not asked
    with pytest.raises(ValueError, match=r"database_sslmode: only with a postgresql"):
        Settings.model_validate(
            {"storage": {"database_url": "sqlite:///x.db", "database_sslmode": "require"}}
        )
