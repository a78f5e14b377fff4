"""Plate-read retention holds what an evidence lock covers, and keeps hotlist hits (no models needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.governance.evidence import LockItem, LockKind, active_locks, create_lock
from safecity.media.storage import LocalMediaStorage
from safecity.plates.models import PlateReadRow
from safecity.plates.retention import PlateRetention
from safecity.store import make_engine
from safecity.store.migrate import upgrade
from safecity.vision.plates_config import PlatesConfig

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_locked_and_hit_reads_are_kept_the_rest_purged(tmp_path: Path, database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    media = LocalMediaStorage(tmp_path / "media")
    seen = NOW - timedelta(hours=30)
    with Session(engine) as db:
        for n, (camera, hit) in enumerate([("c1", False), ("c2", False), ("c1", True)]):
            key = media.put(f"plates/{camera}/{n}.jpg", b"crop %d" % n)
            db.add(PlateReadRow(id=f"{n:032x}", event_id=f"{n:032x}", camera_id=camera, track_id=n,
                                plate=f"ABC12{n}", confidence=0.9, country="us", direction="", crop=key,
                                hit=hit, seen_at=seen))  # fmt: skip
        item = LockItem(LockKind.RANGE, camera_id="c2", start=seen - timedelta(minutes=5), end=seen)
        create_lock(db.connection(), actor="inv", reason="hit and run", expires_at=NOW + timedelta(days=9),
                    items=[item], case_ref="RG 7/2026", now=NOW)  # fmt: skip
        db.commit()
    with engine.connect() as conn:
        locks = active_locks(conn, NOW)
    step = PlateRetention(engine, media, PlatesConfig(non_hit_retention_hours=24))
    plan = step.purge(NOW, locks, dry_run=True)
    assert (plan.count, plan.kept_locked) == (1, 1) and len(list(media.list_objects("plates"))) == 3
    done = step.purge(NOW, locks, dry_run=False)
    assert (done.count, done.kept_locked) == (1, 1)
    with Session(engine) as db:
        kept = sorted((r.camera_id, r.hit) for r in db.scalars(select(PlateReadRow)))
    assert kept == [("c1", True), ("c2", False)]
    assert sorted(o.key for o in media.list_objects("plates")) == ["plates/c1/2.jpg", "plates/c2/1.jpg"]
    engine.dispose()
