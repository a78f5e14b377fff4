"""Real server processes for fault tests: `safecity serve`, a private PostgreSQL cluster, a private
nats-server. Each runs on a free port in a throw-away directory and is killed by the test that started
it (the shared services on the default ports are never touched).

    with PgServer.start() as pg, ServeProcess.start(config_path, log_path) as serve: ...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexistent"))
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
START_TIMEOUT_S = 120.0


def missing(message: str) -> None:
    """CI installs everything: there a missing piece is a failure, elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def safecity_bin() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "safecity", Path(sys.executable).parent / "safecity"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("safecity")
    if not found:
        pytest.fail("the safecity command is not installed (bash scripts/install.sh)")
    return found


def run_cli(config: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    out = subprocess.run([safecity_bin(), *args, "-c", str(config)], input=stdin, capture_output=True,
                         text=True, timeout=timeout, check=False)  # fmt: skip
    assert out.returncode == 0, f"safecity {' '.join(args)}: rc={out.returncode}\n{out.stdout}{out.stderr}"
    return out.stdout


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    """A private PostgreSQL cluster (initdb in a temp dir, trust auth) that a test may stop and start.

    `start(tls=certs, password=...)`: a TLS-only server instead: ssl=on with `certs`' server certificate,
    a pg_hba that has `hostssl` lines only (a plain TCP connection finds no entry and is refused) and
    scram-sha-256 passwords; `password` is the `postgres` user's."""

    root: Path
    port: int
    password: str | None = None
    tls: Any = None  # support.certs.Certs of a TLS-only server

    @property
    def url(self) -> str:
        if self.tls is None:
            return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        return (
            f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"
            f"?sslmode=verify-full&sslrootcert={self.tls.ca}"
        )

    @classmethod
    @contextlib.contextmanager
    def start(cls, *, tls: Any = None, password: str | None = None) -> Iterator[PgServer]:
        if not (PG_BIN / "initdb").is_file():
            missing(f"PostgreSQL server binaries not found under {PG_BIN} (apt-get install postgresql)")
        if tls is not None and not password:
            raise ValueError("a TLS-only server is started with a password")
        root = Path(tempfile.mkdtemp(prefix="safecity-pg-"))
        pg = cls(root, free_port(), password, tls)
        initdb = [str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust"]
        if tls is not None:  # the server reads its key and the password file as the postgres user
            (root / "pwfile").write_text(f"{password}\n")
            shutil.copy(tls.cert, root / "server.pem")
            shutil.copy(tls.key, root / "server.key")
            (root / "server.key").chmod(0o600)
            initdb = [
                *initdb[:-2],
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={root / 'pwfile'}",
            ]
        if os.geteuid() == 0:
            for path in [root, *root.iterdir()]:
                shutil.chown(path, "postgres", "postgres")
        initdb.append("--no-sync")
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
        if tls is not None:  # TLS only: no `host` line, so a connection without TLS matches nothing
            hba = root / "data" / "pg_hba.conf"
            hba.write_text("local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        try:
            pg.up()
            yield pg
        finally:
            pg.down(mode="immediate")
            shutil.rmtree(root, ignore_errors=True)

    def _ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        if self.tls is not None:
            cert, key = self.root / "server.pem", self.root / "server.key"
            opts += f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l", str(self.root / "log")]
        cmd += ["-o", opts]
        subprocess.run(_as_postgres([*cmd, *args]), check=False, capture_output=True, timeout=60)

    def up(self) -> None:
        self._ctl("-w", "start")
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    def down(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")


@dataclass
class NatsServer:
    """A private nats-server with JetStream in a temp dir; `restart()` keeps its store."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[NatsServer]:
        if not Path(NATS_SERVER).is_file():
            missing(f"nats-server not found at {NATS_SERVER}")
        root = Path(tempfile.mkdtemp(prefix="safecity-nats-"))
        server = cls(root, free_port())
        try:
            server.up()
            yield server
        finally:
            server.down()
            shutil.rmtree(root, ignore_errors=True)

    def up(self) -> None:
        self.proc = subprocess.Popen([NATS_SERVER, "-js", "-sd", str(self.root), "-a", "127.0.0.1",
                                      "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            time.sleep(0.1)
        raise AssertionError("nats-server did not start")

    def down(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@dataclass
class ServeProcess:
    """`safecity serve -c config` on a free port, output to `log`."""

    config: Path
    log: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def launch(cls, config: Path, log: Path, *args: str, command: str = "serve") -> ServeProcess:
        port = free_port()
        extra = ["--host", "127.0.0.1", "--port", str(port)] if command == "serve" else []
        with log.open("ab") as out:
            proc = subprocess.Popen([safecity_bin(), command, "-c", str(config), *extra, *args],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=config.parent)  # fmt: skip
        return cls(config, log, port, proc)

    @classmethod
    @contextlib.contextmanager
    def start(cls, config: Path, log: Path) -> Iterator[ServeProcess]:
        svc = cls.launch(config, log)
        try:
            svc.wait_up()
            yield svc
        finally:
            svc.kill()

    def wait_up(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/healthz", timeout=2).ok:
                    return
            time.sleep(0.25)
        raise AssertionError(f"serve did not answer within {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def terminate(self, timeout: float = 60) -> bool:
        """SIGTERM, as an operator or systemd stops it; True when it shut down cleanly (uvicorn ends
        its lifespan, then exits 0 or re-raises the signal)."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        return rc in (0, -signal.SIGTERM) and "Application shutdown complete" in self.tail(20_000)


def h264_copy(video: Path, out: Path) -> Path:
    """An H.264 MP4 of `video` (keyframe every 10 frames), so that recording stores it without
    transcoding (PETS is MS-MPEG4)."""
    if not out.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-c:v", "libx264", "-preset",
                        "ultrafast", "-g", "10", "-an", str(out)], check=True, timeout=300)  # fmt: skip
    return out


def pets_camera(video: Path, camera_id: str = "pets") -> dict[str, Any]:
    """The PETS campus road, looped, with a whole-frame zone that emits an event per person entering or
    leaving (a steady stream of events to lose or not) and a line across the road."""
    return {
        "id": camera_id,
        "source": str(video),
        "fps": 5,
        "loop": True,
        "lines": [{"id": "road", "start": [550, 150], "end": [550, 470], "classes": ["person"]}],
        "zones": [
            {
                "id": "all",
                "polygon": [[0, 0], [767, 0], [767, 575], [0, 575]],
                "classes": ["person"],
                "enter_exit_events": True,
            }
        ],
    }


def write_config(path: Path, settings: dict[str, Any]) -> Path:
    # the tests sign in as admins with a password only: no second factor (docs/security.md), unless asked
    api = {"two_factor_roles": [], **settings.get("api", {})}
    path.write_text(yaml.safe_dump({**settings, "api": api}, sort_keys=False))
    return path


def published_ids(log: Path) -> list[str]:
    """The event-id log (`durability.event_log`); a torn last line (killed mid-write) is ignored."""
    if not log.exists():
        return []
    lines = log.read_text().split("\n")
    return [line for line in lines[:-1] if line]  # the part after the last newline may be torn


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
