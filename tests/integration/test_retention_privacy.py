"""Retention of the privacy-sensitive classes (issue 16): match crops and rows, public-report photos and
the Parquet lake's day partitions are deleted when their period ends, orphan crops too, evidence-locked
matches are kept, and the run is audited. Real SQLite (migrated), real files, real Parquet; the clock is
the one `Retention` is given."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.matches import NewMatch, record_match
from safecity.biometrics.models import EntryRow, MatchRow
from safecity.governance import audit
from safecity.governance.evidence import LockItem, LockKind, create_lock
from safecity.governance.retention import Retention
from safecity.governance.retention_config import RetentionConfig
from safecity.governance.retention_privacy import PrivacyRetention, PrivacyStores
from safecity.media.storage import LocalMediaStorage
from safecity.store import make_engine
from safecity.store.migrate import upgrade
from support.biometrics_fixtures import reviewed_watchlist, template

NOW = datetime.now(UTC)


def _aged(path: Path, days: float) -> None:
    t = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (t, t))


def _day(lake: Path, day: str) -> Path:
    part = lake / "events" / f"day={day}" / "camera=c1"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"kind": ["zone_enter"], "count": [1]}), part / "part-0.parquet")
    return part.parent


def test_privacy_classes_are_purged_by_age_and_audited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    media, sealed = LocalMediaStorage(tmp_path / "media"), LocalMediaStorage(tmp_path / "sealed")
    with Session(engine, expire_on_commit=False) as db:
        wl = reviewed_watchlist(db, ["c1", "c2"], [template(1)])
        entry = db.scalars(select(EntryRow.id)).one()
        ages = {"young": 1, "crop-old": 40, "row-old": 200, "locked": 200}
        ids = {}
        for name, days in ages.items():
            key = sealed.put(f"biometrics/matches/c1/{name}.jpg", b"crop")
            cam = "c2" if name == "locked" else "c1"
            m = NewMatch(wl.id, entry, cam, 1, NOW - timedelta(days=days), 0.7, 0.5, key)
            ids[name] = record_match(db, m).id
        item = LockItem(
            LockKind.RANGE, camera_id="c2", start=NOW - timedelta(days=201), end=NOW - timedelta(days=199)
        )
        create_lock(
            db.connection(), actor="inv", reason="trial", expires_at=NOW + timedelta(days=30),
            items=[item], case_ref="RG 1/2026",
        )  # fmt: skip
        db.commit()
    orphan = sealed.put("biometrics/matches/c1/orphan.jpg", b"crop without its row")
    _aged(tmp_path / "sealed" / orphan, 0.1)
    young_orphan = sealed.put("biometrics/matches/c1/being-written.jpg", b"row not yet committed")
    old_photo = media.put("reports/2026-01-01/a.jpg", b"blurred")
    old_original = media.put("reports-originals/2026-01-01/a.jpg", b"original")
    new_photo = media.put("reports/2026-12-01/b.jpg", b"blurred")
    for key in (old_photo, old_original):
        _aged(tmp_path / "media" / key, 100)
    lake = tmp_path / "lake"
    old_day, new_day = (
        _day(lake, (NOW - timedelta(days=800)).date().isoformat()),
        _day(lake, NOW.date().isoformat()),
    )

    config = RetentionConfig()
    privacy = PrivacyRetention(engine, config, PrivacyStores(media, sealed, lake))
    report = Retention(engine, media, config, clock=lambda: NOW, extra_steps=privacy.steps()).run()
    got = {name: report.classes[name].count for name in ("match_crops", "matches", "report_photos", "lake")}
    # crops: 40 d, 200 d and the orphan; rows: 200 d (the locked one stays)
    assert got == {"match_crops": 3, "matches": 1, "report_photos": 2, "lake": 1}, report.lines()

    with Session(engine) as db:
        rows = {r.id: r for r in db.scalars(select(MatchRow))}
    assert set(rows) == {ids["young"], ids["crop-old"], ids["locked"]}  # 200 days: row gone, unless locked
    assert rows[ids["young"]].crop_key is not None and rows[ids["crop-old"]].crop_key is None
    assert rows[ids["locked"]].crop_key is not None
    left = {p.name for p in (tmp_path / "sealed").rglob("*.jpg")}
    assert left == {"young.jpg", "locked.jpg", "being-written.jpg"} and young_orphan.endswith(
        "being-written.jpg"
    )
    assert not media.exists(old_photo) and not media.exists(old_original) and media.exists(new_photo)
    assert not old_day.exists() and new_day.exists()
    with engine.connect() as conn:
        (entry_,) = audit.entries(conn, limit=1, action="retention.purge")
    assert '"lake"' in entry_.details and '"match_crops"' in entry_.details
    engine.dispose()
