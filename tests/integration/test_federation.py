"""Federated sites on real servers: three cities and a national site, each with its own nats-server
(leaf nodes, JetStream domains) and its own PostgreSQL database (safecity.federation, docs/federation.md)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.federation.models import (
    FedAggregateRow,
    FedAlertRow,
    FedCameraRow,
    FedEventRow,
    FedMessageRow,
    FedSiteRow,
)
from safecity.federation.national import NationalSite
from safecity.store.models import EventRow
from safecity.types import Event
from support.federation_sites import (
    CityRuntime,
    Site,
    count,
    events_for,
    federation,
    health_of,
    require_services,
    start_city,
    wait_for,
)

CITIES = ("rome", "milan", "naples")
pytestmark = pytest.mark.federation


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, Site]]:
    require_services()
    with federation(tmp_path, CITIES) as s:
        yield s


def test_events_alerts_and_aggregates_of_three_cities_reach_the_national_store(
    sites: dict[str, Site],
) -> None:
    national = NationalSite(sites["national"].cfg, sites["national"].engine)
    cities: dict[str, CityRuntime] = {}
    try:
        for c in CITIES:
            cities[c] = start_city(sites[c], health_of(c))
        sent = {c: events_for(c, 30) for c in CITIES}
        for c, evs in sent.items():
            for e in evs:
                cities[c].bus.publish(e)  # type: ignore[attr-defined]
        nat = sites["national"]
        wait_for(lambda: count(nat, FedEventRow) == 90, 60, "90 events at the national site")
        for c in CITIES:
            with Session(nat.engine) as db:
                ids = set(db.scalars(select(FedEventRow.event_id).where(FedEventRow.site == c)))
            assert ids == {e.id for e in sent[c]}
        wait_for(
            lambda: all(count(nat, FedAlertRow, FedAlertRow.site == c) >= 1 for c in CITIES),
            60,
            "a crowding alert from every city",
        )
        wait_for(lambda: count(nat, FedAggregateRow) >= 3 * 3, 60, "hourly aggregates of every city")
        wait_for(
            lambda: count(nat, FedCameraRow) == 6 and count(nat, FedSiteRow) == 3, 30, "health and sites"
        )
        with Session(nat.engine) as db:
            alert = db.scalars(select(FedAlertRow).where(FedAlertRow.site == "rome")).first()
            assert alert is not None and alert.severity == "high" and alert.zone_id == "piazza"
            site = db.get(FedSiteRow, "naples")
            assert (
                site is not None and site.parent == "national" and site.ui_url == "https://naples.example.org"
            )
            footfall = db.scalars(
                select(FedAggregateRow).where(
                    FedAggregateRow.site == "rome", FedAggregateRow.metric == "footfall"
                )
            ).all()
            assert sum(a.value for a in footfall) == 10  # 30 events, every third a zone entry
    finally:
        for rt in cities.values():
            rt.close()
        national.close()


def test_national_site_cannot_reach_a_citys_own_streams(sites: dict[str, Site]) -> None:
    """The leaf node binds the city's FED account only: through the city's JetStream domain the national
    server sees the federation streams, never the city's event stream (with track ids, snapshot keys)."""
    rt = start_city(sites["rome"])
    try:
        rt.bus.publish(events_for("rome", 1)[0])  # type: ignore[attr-defined]
        assert rt.bus.drain(10)  # type: ignore[attr-defined]
        assert rt.bus.stream_info().state.messages == 1  # type: ignore[attr-defined]

        async def probe() -> tuple[list[str], list[bytes], str]:
            import nats
            from nats.js.errors import NotFoundError

            nc = await nats.connect(sites["national"].cfg.url)
            got: list[bytes] = []

            async def keep(m: Any) -> None:
                got.append(m.data)

            await nc.subscribe("safecity.events.>", cb=keep)
            js = nc.jetstream(domain="rome", timeout=3)
            names = [info.config.name for info in await js.streams_info()]
            try:  # the attack: read the city's raw event stream through its JetStream domain
                await js.get_msg("SAFECITY_EVENTS", 1)
                outcome = "read"
            except NotFoundError:
                outcome = "not found"
            rt.bus.publish(events_for("rome", 1)[0])  # type: ignore[attr-defined]
            await asyncio.sleep(1.5)
            await nc.close()
            return names, got, outcome

        names, raw, outcome = asyncio.run(probe())
        assert "SAFECITY_FED_OUT" in names  # the national side does reach the city's FED account ...
        assert "SAFECITY_EVENTS" not in names and outcome == "not found"  # ... and nothing else
        assert raw == []  # live event subjects of the city do not cross the leaf node
    finally:
        rt.close()


PARTITION_S = float(os.environ.get("SAFECITY_FED_PARTITION_S", "8"))  # the 60 s: set it to 60


def test_partition_of_one_city_loses_nothing_and_duplicates_nothing(sites: dict[str, Site]) -> None:
    """Cut milan's link (stop the national nats-server: a leaf node learns the hub's own address, so a
    proxy on the link cannot hold it down) while milan keeps producing; milan's own store and stream keep
    up during the partition; after the link returns every event id is in the national store exactly
    once, in milan's order."""
    nat, milan = sites["national"], sites["milan"]
    national = NationalSite(nat.cfg, nat.engine)
    rt = start_city(milan)
    produced: list[Event] = []

    def produce(n: int) -> None:
        batch = events_for("milan", n)
        produced.extend(batch)
        for e in batch:
            rt.bus.publish(e)  # type: ignore[attr-defined]

    def national_events() -> int:
        return count(nat, FedEventRow, FedEventRow.site == "milan")

    def local_events() -> int:
        return count(milan, EventRow)

    try:
        produce(50)
        wait_for(lambda: national_events() == 50, 60, "the first 50 events at the national site")
        nat.nats.stop()
        deadline = time.monotonic() + PARTITION_S
        while time.monotonic() < deadline:
            produce(10)
            time.sleep(0.5)
        during = len(produced)
        wait_for(lambda: local_events() == during, 30, "milan storing its own events while cut off")
        assert national_events() == 50  # nothing reached the national store meanwhile
        out = rt.agent.link._loop.call(rt.agent.link.js.stream_info("SAFECITY_FED_OUT"), 10)  # type: ignore[attr-defined]
        assert out.state.messages >= during  # the agent went on publishing into milan's own stream
        nat.nats.start()  # same store directory: the sourced stream and the durable consumer survive
        produce(20)
        wait_for(lambda: national_events() == len(produced), 120, "every milan event after the partition")
        with Session(nat.engine) as db:
            ledger = db.execute(
                select(FedMessageRow.msg_id, FedMessageRow.stream_seq)
                .where(FedMessageRow.site == "milan", FedMessageRow.kind == "event")
                .order_by(FedMessageRow.stream_seq)
            ).all()
        ids = [m.removeprefix("milan.ev.") for m, _ in ledger]
        assert len(ids) == len(set(ids)) == len(produced)  # exactly once
        assert ids == [e.id for e in produced]  # in milan's order
    finally:
        rt.close()
        national.close()


class _NationalThreads(logging.Filter):
    """Log records written by the national site's threads (its NATS loop and its consumer)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName.startswith("fed-national")


def _face_matching_in(site: Site) -> None:
    """An active watchlist (two templates) under an authorization, and a recorded match with its crop."""
    import uuid

    from safecity.biometrics import watchlists as wl
    from safecity.biometrics.matches import NewMatch, record_match
    from support.biometrics_fixtures import ALICE, authorization, reviewed_watchlist, template

    cams = ["rome-cam0"]
    with Session(site.engine) as db, db.begin():
        auth = authorization(db, cams, reference=f"RG {uuid.uuid4().hex[:8]}/2026")
        row = reviewed_watchlist(db, cams, [template(1), template(2)])
        wl.activate(db, row.id, auth.id, ALICE)
        entry = wl.live_entries(db, row.id)[0]
        crop = f"biometrics/matches/rome-cam0/{uuid.uuid4().hex}.jpg"
        record_match(db, NewMatch(row.id, entry.id, "rome-cam0", 7, datetime.now(UTC), 0.8, 0.6, crop))


def test_leak_scan_finds_nothing_after_a_run_with_face_matching_and_catches_an_injected_leak(
    sites: dict[str, Site], tmp_path: Path
) -> None:
    import base64

    import nats

    from safecity.federation.leaks import city_secrets, scan_database, scan_files
    from safecity.federation.models import FedIncidentRow
    from safecity.operations.domain import Actor
    from safecity.operations.incident_schemas import IncidentCreate
    from safecity.operations.incidents import create_incident

    nat, rome = sites["national"], sites["rome"]
    log_file = tmp_path / "national-site.log"
    handler = logging.FileHandler(log_file)
    handler.addFilter(_NationalThreads())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    national = NationalSite(nat.cfg, nat.engine)
    rt = start_city(rome, health_of("rome"))
    try:
        _face_matching_in(rome)
        needles = city_secrets(rome.engine)
        kinds = {k for k, _ in needles.items}
        assert {"face template", "watchlist name", "match crop key", "watchlist entry label"} <= kinds
        for e in events_for("rome", 30):
            rt.bus.publish(e)  # type: ignore[attr-defined]
        with Session(rome.engine) as db, db.begin():
            create_incident(
                db, IncidentCreate(title="Crowd at the fountain", type="crowding"), Actor(1, "op")
            )
        wait_for(lambda: count(nat, FedEventRow) == 30 and count(nat, FedIncidentRow) == 1, 60, "rome's run")

        # a message outside the allow-list on an allowed subject (a publisher that bypassed the types):
        # the national consumer refuses it and erases it from its stream storage
        template_b64 = base64.b64encode(
            needles.items[[k for k, _ in needles.items].index("face template")][1]
        )
        raw = (
            b'{"v":1,"site":"rome","sent_at":"2026-01-01T00:00:00Z","body":{"kind":"face_template",'
            b'"template":"' + template_b64 + b'"}}'
        )

        async def smuggle() -> None:
            nc = await nats.connect(rome.cfg.url)  # the city's FED account, as the agent
            await nc.jetstream().publish("safecity.fed.rome.alert", raw)
            await nc.close()

        asyncio.run(smuggle())
        wait_for(
            lambda: national.link.rejected == 1, 30, "the national consumer to reject the smuggled message"
        )
        time.sleep(1.0)  # the erase follows the rejection
        nat.nats.stop()  # flush the stream files as they are on disk; scan them as they stay
        places = [nat.store_dir, nat.nats.log_path, log_file]
        assert log_file.stat().st_size > 0  # the national threads did log (so the log scan means something)
        assert scan_database(nat.engine, needles) == []
        assert scan_files(places, needles) == []

        # an injected leak in each place is caught
        label = next(v for k, v in needles.items if k == "watchlist entry label").decode()
        crop = next(v for k, v in needles.items if k == "match crop key").decode()
        with Session(nat.engine) as db, db.begin():
            db.add(
                FedAlertRow(
                    site="rome",
                    alert_id=999,
                    alert_kind="face_match",
                    severity="high",
                    status="new",
                    title=f"match: {label}",
                    occurrences=1,
                    first_seen=datetime.now(UTC),
                    last_seen=datetime.now(UTC),
                )
            )
        (nat.store_dir / "leak.blk").write_bytes(b"\x00" + template_b64 + b"\x00")
        with log_file.open("a") as f:
            f.write(f"leaked {crop}\n")
        found_db = scan_database(nat.engine, needles)
        found_files = scan_files(places, needles)
        assert [(f.kind, f.where) for f in found_db] == [
            ("watchlist entry label", "database table fed_alerts")
        ]
        assert {(f.kind, Path(f.where.removeprefix("file ")).name) for f in found_files} == {
            ("face template", "leak.blk"),
            ("match crop key", "national-site.log"),
        }
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        rt.close()
        national.close()


def _actions(site: Site) -> list[str]:
    from safecity.governance import audit

    with site.engine.connect() as conn:
        assert audit.verify(conn).ok
        return [r.action for r in audit.entries(conn, limit=1000)]


def test_incident_handoff_between_cities_and_a_national_media_request(sites: dict[str, Site]) -> None:
    from safecity.federation.models import FedHandoffRow, FedIncidentRow, FedMediaRequestRow
    from safecity.operations.domain import Actor
    from safecity.operations.incident_schemas import IncidentCreate
    from safecity.operations.incidents import create_incident
    from safecity.operations.models import IncidentRow, TimelineRow

    nat, rome, milan = sites["national"], sites["rome"], sites["milan"]
    national = NationalSite(nat.cfg, nat.engine)
    rts = {c: start_city(sites[c]) for c in ("rome", "milan")}
    try:
        with Session(rome.engine) as db, db.begin():
            inc = create_incident(
                db, IncidentCreate(title="Stolen van heading north on A1", type="theft"), Actor(1, "rome-op")
            )
            rome_incident = inc.id
        rome_inbox = rts["rome"].agent.inbox  # type: ignore[attr-defined]
        milan_inbox = rts["milan"].agent.inbox  # type: ignore[attr-defined]
        hid = rome_inbox.request_handoff(
            rome_incident, "milan", "van seen at the toll gate", Actor(1, "rome-op")
        )

        def handoff(site: Site) -> FedHandoffRow | None:
            with Session(site.engine) as db:
                return db.get(FedHandoffRow, hid)

        wait_for(lambda: handoff(milan) is not None, 60, "the request in milan's queue")
        assert "federation.handoff_received" in _actions(milan)
        milan_incident = milan_inbox.answer_handoff(hid, True, Actor(5, "milan-sup"), "units on the A1")
        assert milan_incident is not None
        with Session(milan.engine) as db:
            row = db.get(IncidentRow, milan_incident)
            assert row is not None and row.source == "federation" and row.type == "theft"
        wait_for(lambda: (h := handoff(rome)) is not None and h.state == "accepted", 60, "the answer in rome")
        wait_for(
            lambda: (h := handoff(nat)) is not None and h.state == "accepted", 60, "the handoff nationally"
        )
        wait_for(
            lambda: count(nat, FedIncidentRow, FedIncidentRow.site == "milan") == 1,
            60,
            "milan's new incident on the national map",
        )
        h = handoff(nat)
        assert h is not None and (h.from_site, h.to_site, h.incident_id, h.remote_incident_id) == (
            "rome",
            "milan",
            rome_incident,
            milan_incident,
        )
        with Session(rome.engine) as db:
            notes = list(
                db.scalars(select(TimelineRow.message).where(TimelineRow.incident_id == rome_incident))
            )
        assert any("requested" in n for n in notes) and any(f"#{milan_incident}" in n for n in notes)
        assert {"federation.handoff_request", "federation.handoff_accepted"} <= set(_actions(rome))
        with pytest.raises(Exception, match="already accepted"):
            milan_inbox.answer_handoff(hid, False, Actor(5, "milan-sup"))

        # the national site asks rome for media twice: rome refuses one, approves the other
        refused = national.request_media("rome", rome_incident, "clip", "press enquiry", "nat-op")
        approved = national.request_media("rome", rome_incident, "snapshot", "identify the van", "nat-op")

        def pending_in_rome() -> set[str]:
            return {r.request_id for r in rome_inbox.pending_media()}

        wait_for(lambda: pending_in_rome() == {refused, approved}, 60, "both requests in rome")
        rome_inbox.decide_media(refused, False, Actor(2, "rome-sup"), "not proportionate")
        rome_inbox.decide_media(approved, True, Actor(2, "rome-sup"))

        def status(rid: str) -> str | None:
            with Session(nat.engine) as db:
                row = db.get(FedMediaRequestRow, rid)
                return row.status if row else None

        wait_for(lambda: status(refused) == "refused" and status(approved) == "approved", 60, "answers")
        with Session(nat.engine) as db:
            row = db.get(FedMediaRequestRow, approved)
            assert row is not None and row.redacted_url is not None
            assert (
                row.redacted_url.startswith("https://rome.example.org/") and "redacted=1" in row.redacted_url
            )
            assert row.decided_by == "rome-sup@rome"
        nat_actions, rome_actions = _actions(nat), _actions(rome)
        assert nat_actions.count("federation.media_request") == 2
        assert {"federation.media_refused", "federation.media_approved"} <= set(nat_actions)
        assert rome_actions.count("federation.media_request_received") == 2
        assert {"federation.media_refused", "federation.media_approved"} <= set(rome_actions)
    finally:
        for rt in rts.values():
            rt.close()
        national.close()


@pytest.mark.slow
@pytest.mark.models
def test_a_city_running_the_sample_video_reaches_the_national_view(
    sites: dict[str, Site], pets_video: Path, nanodet_model: Path, tmp_path: Path
) -> None:
    """The real chain in one city: PETS video -> detector -> tracker -> rules -> the city's NATS bus and
    database -> the city agent (as `serve` attaches it) -> the national store: events and a crowding alert."""
    from safecity.app import build_app
    from safecity.config import Settings
    from safecity.federation.runtime import attach_federation

    nat, rome = sites["national"], sites["rome"]
    settings = Settings.model_validate(
        {
            "storage": {"data_dir": str(tmp_path / "rome"), "database_url": rome.db_url},
            "models": {"cache_dir": str(nanodet_model.parent)},
            "bus": {"type": "nats", "url": rome.city_url},
            "federation": rome.cfg.model_dump(mode="json"),
            "cameras": [
                {
                    "id": "pets",
                    "source": str(pets_video),
                    "fps": 5,
                    "lat": 41.9,
                    "lon": 12.49,
                    "lines": [{"id": "road", "start": [550, 150], "end": [550, 470], "classes": ["person"]}],
                    "zones": [
                        {
                            "id": "west",
                            "polygon": [[120, 190], [420, 180], [420, 420], [120, 330]],
                            "classes": ["person"],
                            "crowding": {"threshold": 2, "min_duration_s": 1},
                        }
                    ],
                }
            ],
        }
    )
    national = NationalSite(nat.cfg, nat.engine)
    node = build_app(settings)
    node.federation = attach_federation(node)
    try:
        node.start()
        wait_for(lambda: count(nat, FedEventRow, FedEventRow.camera_id == "pets") >= 10, 240, "video events")
        wait_for(
            lambda: count(nat, FedAlertRow, FedAlertRow.camera_id == "pets") >= 1, 240, "a crowding alert"
        )
        wait_for(lambda: count(nat, FedCameraRow, FedCameraRow.camera_id == "pets") == 1, 60, "camera health")
        with Session(nat.engine) as db:
            kinds = set(db.scalars(select(FedEventRow.event_kind).where(FedEventRow.site == "rome")))
        assert {"line_crossing", "crowding"} & kinds
    finally:
        node.federation.close()  # type: ignore[union-attr]
        node.close()
        national.close()
