"""Retention on a real store (SQLite; PostgreSQL in CI's `-m db` pass) and real files: by age and by disk
budget, oldest first, never an evidence-locked item; dry runs plan exactly what a run deletes; every run
is one audit entry with counts per class."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from safecity.governance import audit
from safecity.governance.evidence import LockItem, LockKind, create_lock, release_lock
from safecity.governance.retention import PurgeReport, Retention, RetentionScheduler
from safecity.governance.retention_config import MediaRetention, RetentionConfig, RowRetention
from safecity.media.snapshots import snapshot_key
from safecity.media.storage import LocalMediaStorage
from safecity.operations.models import AlertRow, IncidentRow
from safecity.recording.index import CLIPS, SEGMENTS, ClipRecord, clip_key, insert_clip, segment_key
from safecity.store import make_engine, upgrade
from safecity.store.models import EventRow
from safecity.store.repository import append_events
from safecity.types import Event, EventKind

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MB = 1_000_000


@dataclass
class DataCenter:
    engine: Engine
    storage: LocalMediaStorage

    def retention(self, **config: object) -> Retention:
        cfg = RetentionConfig.model_validate(
            {
                "events": {"days": None},
                "alerts": {"days": None},
                "snapshots": {"days": None},
                "clips": {"days": None},
                "recordings": {"days": None},
                **config,
            }
        )
        return Retention(self.engine, self.storage, cfg, clock=lambda: NOW)

    def segment(self, camera: str, age_days: float, size: int = 1000, status: str = "complete") -> str:
        seg_id = uuid.uuid4().hex
        start = NOW - timedelta(days=age_days)
        key = segment_key(camera, start, seg_id)
        self.storage.put(key, os.urandom(size))
        with self.engine.begin() as conn:
            conn.execute(
                SEGMENTS.insert().values(
                    id=seg_id,
                    camera_id=camera,
                    start=start,
                    end=start + timedelta(seconds=60),
                    key=key,
                    bytes=size,
                    codec="h264",
                    width=768,
                    height=576,
                    transcoded=False,
                    status=status,
                    created_at=start,
                )
            )
        return seg_id

    def clip(self, camera: str, age_days: float, event_id: str | None = None) -> ClipRecord:
        clip_id, start = uuid.uuid4().hex, NOW - timedelta(days=age_days)
        key = clip_key(camera, start, clip_id)
        self.storage.put(key, b"c" * 500)
        clip = ClipRecord(
            clip_id,
            camera,
            event_id,
            start,
            start + timedelta(seconds=20),
            key,
            500,
            "0" * 64,
            "event",
            False,
            "system",
            start,
        )
        with self.engine.begin() as conn:
            insert_clip(conn, clip)
        return clip

    def event(self, camera: str, age_days: float, snapshot_bytes: int = 0) -> Event:
        start = NOW - timedelta(days=age_days)
        event = Event(camera_id=camera, kind=EventKind.CROWDING, start=start, end=start)
        if snapshot_bytes:
            path = self.storage.path_for(self.storage.put(snapshot_key(event), b"j" * snapshot_bytes))
            assert path is not None
            os.utime(path, (start.timestamp(), start.timestamp()))
        with self.engine.begin() as conn:
            append_events(conn, [event])
        return event

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def ids(self, table: sa.Table) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(table.c.id))}

    def lock(self, *items: LockItem, incident_id: int | None = None, days: float = 30) -> int:
        with self.engine.begin() as conn:
            return create_lock(
                conn,
                actor="inspector",
                reason="case 42/2025",
                items=list(items),
                expires_at=NOW + timedelta(days=days),
                incident_id=incident_id,
                case_ref=None if incident_id else "42/2025",
                now=NOW - timedelta(hours=1),
            )

    def purge_entries(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            log = sa.Table("audit_log", sa.MetaData(), autoload_with=conn)
            rows = conn.execute(select(log.c.actor, log.c.details).where(log.c.action == "retention.purge"))
            return [{"actor": r.actor, **json.loads(r.details)} for r in rows]


@pytest.fixture
def dc(database_url: str, tmp_path: Path) -> Iterator[DataCenter]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield DataCenter(engine, LocalMediaStorage(tmp_path / "media"))
    engine.dispose()


def _files(storage: LocalMediaStorage, prefix: str) -> int:
    return sum(1 for _ in storage.list_objects(prefix))


def test_recordings_by_age_keep_locked_ones_and_dry_run_plans_the_same(dc: DataCenter) -> None:
    old = [dc.segment("cam1", 40 - i) for i in range(4)]  # 40, 39, 38, 37 days old
    young = [dc.segment("cam1", d) for d in (10, 1)]
    other_old = dc.segment("cam2", 45)
    dc.lock(LockItem(LockKind.SEGMENT, old[1]))
    dc.lock(
        LockItem(
            LockKind.RANGE, camera_id="cam2", start=NOW - timedelta(days=46), end=NOW - timedelta(days=44)
        )
    )
    dc.lock(LockItem(LockKind.SEGMENT, old[2]), days=0.1)  # still in force (2.4 h left)
    lock = dc.lock(LockItem(LockKind.SEGMENT, old[3]))
    with dc.engine.begin() as conn:
        release_lock(conn, lock, actor="inspector", reason="case closed", now=NOW - timedelta(minutes=5))
    retention = dc.retention(recordings={"days": 30})

    plan = retention.run(dry_run=True)
    assert (plan.classes["recordings"].count, plan.classes["recordings"].bytes) == (2, 2000)
    assert plan.classes["recordings"].kept_locked == 3
    assert dc.count(SEGMENTS) == 7 and _files(dc.storage, "recordings") == 7  # a dry run deletes nothing

    done = retention.run()
    assert (done.classes["recordings"].count, done.classes["recordings"].bytes) == (2, 2000)
    assert dc.ids(SEGMENTS) == {old[1], old[2], other_old, *young}
    assert _files(dc.storage, "recordings") == 5
    (entry,) = dc.purge_entries()
    assert entry["classes"]["recordings"] == {"count": 2, "bytes": 2000, "kept_locked": 3, "error": None}  # type: ignore[index]
    assert retention.run().classes["recordings"].count == 0  # nothing left to do


def test_disk_budget_deletes_the_oldest_unlocked_until_it_fits(dc: DataCenter) -> None:
    segs = [dc.segment("cam1", 10 - i, size=MB) for i in range(10)]  # 10 MB, oldest first
    missing = dc.segment("cam1", 20, size=MB, status="missing")
    dc.storage.delete(dc_key(dc, missing))  # a row the reconciler marked missing: 0 bytes on disk
    dc.lock(LockItem(LockKind.SEGMENT, segs[0]))
    budget_gb = 4.5 * MB / 1024**3  # room for 4 files
    retention = dc.retention(recordings={"days": None, "disk_budget_gb": budget_gb})
    plan = retention.run(dry_run=True)
    # 10 MB on disk, 4.5 MB allowed: the missing row and the 6 oldest unlocked files go (4 MB left)
    assert (plan.classes["recordings"].count, plan.classes["recordings"].bytes) == (7, 6 * MB)
    done = retention.run()
    assert (done.classes["recordings"].count, done.classes["recordings"].bytes) == (7, 6 * MB)
    assert dc.ids(SEGMENTS) == {segs[0], *segs[7:]}  # the locked oldest and the 3 newest
    assert _files(dc.storage, "recordings") == 4


def dc_key(dc: DataCenter, seg_id: str) -> str:
    with dc.engine.connect() as conn:
        return str(conn.execute(select(SEGMENTS.c.key).where(SEGMENTS.c.id == seg_id)).scalar_one())


def test_age_then_budget_in_one_run(dc: DataCenter) -> None:
    for age in (50, 40, 5, 4, 3, 2):
        dc.segment("cam1", age, size=MB)
    retention = dc.retention(recordings={"days": 30, "disk_budget_gb": 2.5 * MB / 1024**3})
    plan = retention.run(dry_run=True).classes["recordings"]
    done = retention.run().classes["recordings"]
    assert (plan.count, plan.bytes) == (done.count, done.bytes) == (4, 4 * MB)
    assert dc.count(SEGMENTS) == 2


def test_snapshots_events_and_clips(dc: DataCenter) -> None:
    old_events = [dc.event("cam1", 50 + i, snapshot_bytes=100) for i in range(3)]
    ranged = dc.event("cam2", 60, snapshot_bytes=100)
    young = dc.event("cam1", 1, snapshot_bytes=100)
    clips = [dc.clip("cam1", 100, event_id=old_events[0].id), dc.clip("cam1", 100), dc.clip("cam1", 2)]
    dc.lock(LockItem(LockKind.EVENT, old_events[0].id))  # the event, its snapshot and its clip
    dc.lock(LockItem(LockKind.SNAPSHOT, old_events[1].id))  # only the picture
    dc.lock(
        LockItem(
            LockKind.RANGE, camera_id="cam2", start=NOW - timedelta(days=61), end=NOW - timedelta(days=59)
        )
    )
    retention = dc.retention(snapshots={"days": 30}, events={"days": 30}, clips={"days": 90})
    plan = retention.run(dry_run=True)
    report = retention.run()
    for name, count, kept in (("snapshots", 1, 3), ("events", 2, 2), ("clips", 1, 1)):
        assert plan.classes[name].count == report.classes[name].count == count, name
        assert report.classes[name].kept_locked == kept, name
    with dc.engine.connect() as conn:
        left = {r[0] for r in conn.execute(select(EventRow.id))}
    assert left == {old_events[0].id, ranged.id, young.id}  # a snapshot lock keeps the picture only
    assert {o.key for o in dc.storage.list_objects("snapshots")} == {
        snapshot_key(e) for e in (old_events[0], old_events[1], ranged, young)
    }
    assert dc.ids(CLIPS) == {clips[0].id, clips[2].id}


def test_alerts_closed_and_unlocked_only(dc: DataCenter) -> None:
    t = NOW - timedelta(days=400)
    with dc.engine.begin() as conn:
        incident = conn.execute(
            sa.insert(IncidentRow).values(
                title="theft",
                type="theft",
                priority="high",
                status="closed",
                description="",
                source="alert",
                origin_at=t,
                created_at=t,
                created_by="op",
                updated_at=t,
            )
        ).inserted_primary_key[0]

        def alert(status: str, age: float, incident_id: int | None = None) -> None:
            at = NOW - timedelta(days=age)
            conn.execute(
                sa.insert(AlertRow).values(
                    rule_name="r",
                    kind="crowding",
                    severity="high",
                    status=status,
                    dedup_key=uuid.uuid4().hex,
                    title="t",
                    camera_id="cam1",
                    occurrences=1,
                    first_seen=at,
                    last_seen=at,
                    created_at=at,
                    incident_id=incident_id,
                )
            )

        alert("closed", 400)
        alert("closed", 400, incident)
        alert("open", 400)
        alert("closed", 10)
    dc.lock(LockItem(LockKind.RANGE, camera_id="cam9", start=t, end=NOW), incident_id=int(incident))
    report = dc.retention(alerts={"days": 365}).run()
    assert report.classes["alerts"].count == 1 and report.classes["alerts"].kept_locked == 1
    assert dc.count(AlertRow.__table__) == 3  # type: ignore[arg-type]


def _entry(engine: Engine, at: datetime) -> int:
    with engine.begin() as conn:
        return audit.append(conn, "tester", "test.entry", "thing", {"n": 1}, at=at)


def test_audit_entries_are_purged_only_through_the_governed_path(dc: DataCenter) -> None:
    old = [_entry(dc.engine, NOW - timedelta(days=400 - i)) for i in range(5)]
    young = [_entry(dc.engine, NOW - timedelta(days=10 - i)) for i in range(3)]
    assert old[-1] < young[0]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), dc.engine.begin() as conn:
        conn.execute(sa.delete(audit.LOG).where(audit.LOG.c.seq == old[0]))  # never by hand
    retention = dc.retention(audit={"days": 365})
    assert retention.run(dry_run=True).classes["audit"].count == 5
    assert retention.run().classes["audit"].count == 5
    with dc.engine.connect() as conn:
        seqs = [r.seq for r in reversed(audit.entries(conn, limit=100))]
        result = audit.verify(conn)
    assert seqs == [*young, seqs[-1]] and seqs[-1] == young[-1] + 1  # + the entry of the purge itself
    assert result.ok and result.checked == 4, result
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), dc.engine.begin() as conn:
        conn.execute(sa.delete(audit.LOG))  # the permit was for that transaction only


def test_scheduler_runs_the_purge_and_audits_each_run(dc: DataCenter) -> None:
    dc.segment("cam1", 100)
    scheduler = RetentionScheduler(dc.retention(recordings={"days": 30}), interval_s=0.2, first_delay_s=0.0)
    scheduler.start()
    deadline = time.monotonic() + 20
    while scheduler.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    assert scheduler.runs >= 2 and isinstance(scheduler.last, PurgeReport)
    assert dc.count(SEGMENTS) == 0
    entries = dc.purge_entries()
    assert len(entries) == scheduler.runs and entries[0]["classes"]["recordings"]["count"] == 1  # type: ignore[index]


def test_config_defaults_and_validation() -> None:
    cfg = RetentionConfig()
    assert cfg.recordings == MediaRetention(days=30) and cfg.audit == RowRetention(days=None)
    with pytest.raises(ValueError):
        RetentionConfig.model_validate({"recordings": {"days": 0}})
    with pytest.raises(ValueError):
        RetentionConfig.model_validate({"recordings": {"dayz": 3}})
