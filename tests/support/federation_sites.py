"""Real federated sites for the federation tests and bench: one nats-server per site (leaf nodes,
JetStream domains, the city's CITY/FED accounts from safecity.federation.natsconf) and one PostgreSQL
database per site in the shared server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from safecity.federation.config import FederationConfig, SiteConfig, SourceConfig
from safecity.federation.messages import CameraHealth
from safecity.federation.natsconf import Credentials, city_conf, national_conf
from safecity.store.engine import make_engine
from safecity.store.migrate import upgrade
from safecity.types import Event, EventKind

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CITY_USER, FED_USER = Credentials("city", "city-secret"), Credentials("fed", "fed-secret")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_services() -> None:
    """Fail under CI, skip elsewhere, when nats-server or PostgreSQL is missing."""
    why = None
    if not Path(NATS_SERVER).exists():
        why = f"nats-server not found at {NATS_SERVER}"
    else:
        try:
            socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        except OSError as exc:
            why = f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}"
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


class NatsProc:
    def __init__(self, name: str, conf: str, root: Path, port: int) -> None:
        self.name, self.port, self.conf_path = name, port, root / f"{name}.conf"
        self.log_path = root / f"{name}.log"
        self.conf_path.write_text(conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.conf_path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server {self.name} did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (migrated) in the shared server; dropped afterwards."""
    import psycopg

    name = f"fed_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    id: str
    nats: NatsProc
    cfg: FederationConfig
    db_url: str
    engine: Engine
    store_dir: Path = field(default_factory=Path)

    @property
    def city_url(self) -> str:  # the city's own account (its event bus)
        return f"nats://{CITY_USER.user}:{CITY_USER.password}@127.0.0.1:{self.nats.port}"


@contextmanager
def federation(root: Path, cities: tuple[str, ...]) -> Iterator[dict[str, Site]]:
    """A national site and `cities`, each with its nats-server and database; all stopped and dropped
    at the end."""
    sites: dict[str, Site] = {}
    root.mkdir(parents=True, exist_ok=True)
    with _databases(len(cities) + 1) as urls:
        nat_port, leaf_port = free_port(), free_port()
        nat_dir = root / "national-js"
        nat_conf = national_conf(
            domain="national", host="127.0.0.1", port=nat_port, leaf_port=leaf_port, store_dir=str(nat_dir)
        )
        sources = tuple(SourceConfig(site=c, domain=c) for c in cities)
        ncfg = FederationConfig(
            mode="national",
            url=f"nats://127.0.0.1:{nat_port}",
            sources=sources,
            site=SiteConfig(id="national", name="Italia", level="country"),
        )
        sites["national"] = Site(
            "national",
            NatsProc("national", nat_conf, root, nat_port),
            ncfg,
            urls[0],
            make_engine(urls[0]),
            store_dir=nat_dir,
        )
        for i, c in enumerate(cities):
            port = free_port()
            leaf = f"nats-leaf://127.0.0.1:{leaf_port}"
            conf = city_conf(
                domain=c,
                host="127.0.0.1",
                port=port,
                store_dir=str(root / f"{c}-js"),
                parent_leaf_url=leaf,
                city=CITY_USER,
                fed=FED_USER,
            )
            cfg = FederationConfig(
                mode="city",
                url=f"nats://{FED_USER.user}:{FED_USER.password}@127.0.0.1:{port}",
                parent_domain="national",
                sync_every_s=0.5,
                aggregates_every_s=1.0,
                site=SiteConfig(
                    id=c,
                    name=c.title(),
                    parent="national",
                    lat=41.9 + i,
                    lon=12.5 - i,
                    ui_url=f"https://{c}.example.org",
                ),
            )
            sites[c] = Site(c, NatsProc(c, conf, root, port), cfg, urls[i + 1], make_engine(urls[i + 1]))
        try:
            sites["national"].nats.start()
            for s in sites.values():
                if s.id != "national":
                    s.nats.start()
            yield sites
        finally:
            for s in sites.values():
                s.nats.stop()
                s.engine.dispose()


@contextmanager
def _databases(n: int) -> Iterator[list[str]]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield [stack.enter_context(pg_database()) for _ in range(n)]


@dataclass
class CityRuntime:
    """What a city runs that federation touches: its bus (CITY account), store writer, alert engine and
    federation agent, all against the city's own database."""

    bus: object
    writer: object
    alerts: object
    agent: object
    closers: list[object]

    def close(self) -> None:
        for c in reversed(self.closers):
            c()  # type: ignore[operator]


def start_city(site: Site, health: object = None, stream: str = "SAFECITY_EVENTS") -> CityRuntime:
    from sqlalchemy.orm import Session

    from safecity.app import StoreWriter
    from safecity.bus.config import BusConfig
    from safecity.bus.nats import NatsBus
    from safecity.federation.city import CityAgent
    from safecity.operations.alerts import ensure_default_rules
    from safecity.operations.engine import AlertEngine
    from safecity.operations.live import NullLive
    from safecity.operations.rules import DEFAULT_RULES
    from safecity.store.repository import open_store

    with Session(site.engine) as db:
        ensure_default_rules(db, DEFAULT_RULES)
        db.commit()
    bus = NatsBus(BusConfig(type="nats", url=site.city_url, stream=stream, fetch_batch=200), name=site.id)
    store = open_store(site.db_url)
    writer = StoreWriter(store)
    bus.subscribe(writer, durable="store")
    engine = AlertEngine(lambda: Session(site.engine, expire_on_commit=False), NullLive())
    bus.subscribe(engine, durable="alerts")
    agent = CityAgent(site.cfg, site.engine, bus, health)  # type: ignore[arg-type]
    return CityRuntime(bus, writer, engine, agent, [store.close, bus.close, agent.close])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def events_for(city: str, n: int) -> list[Event]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        at = now - timedelta(seconds=n - i)
        kind = (EventKind.LINE_CROSSING, EventKind.ZONE_ENTER, EventKind.CROWDING)[i % 3]
        out.append(
            Event(
                camera_id=f"{city}-cam{i % 2}",
                kind=kind,
                start=at,
                end=at,
                label="person",
                track_id=1000 + i,
                line_id="gate" if kind == EventKind.LINE_CROSSING else None,
                zone_id="piazza" if kind != EventKind.LINE_CROSSING else None,
                direction="in" if kind == EventKind.LINE_CROSSING else None,
                count=40 if kind == EventKind.CROWDING else None,
                snapshot=f"snapshots/{city}/{i}.jpg",
            )
        )
    return out


def count(site: Site, model: object, *where: object) -> int:
    with Session(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def health_of(city: str) -> Callable[[], list[CameraHealth]]:
    return lambda: [
        CameraHealth(camera_id=f"{city}-cam0", status="ok", fps=5.0),
        CameraHealth(camera_id=f"{city}-cam1", status="dark"),
    ]
