"""Retention classes of the privacy-sensitive data (issue 16; DESIGN: every kind of data has a period):

- `match_crops`: face crops of face matches (sealed store, `biometrics/matches/`), by the match's time;
  the match row stays, without its crop. A crop file no row names (a crash between writing the crop and
  its row) is deleted once it is an hour old: no crop without a row.
- `matches`: match rows and their reviews (and any crop left), by the match's time. The audit log keeps
  what happened to them.
- `report_photos`: public-report photos, blurred copy and original (`reports/`, `reports-originals/`), by
  storage time; the report row says the photo is no longer stored.
- `lake`: the analytics Parquet lake, whole UTC days (`<dataset>/day=YYYY-MM-DD/` partitions).

Evidence locks hold matches and crops of a locked camera and time, as they hold recordings.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update

from safecity.biometrics.models import MatchReviewRow, MatchRow
from safecity.config.models import Settings
from safecity.governance.evidence import LockSet
from safecity.governance.retention import ClassResult
from safecity.governance.retention_config import RetentionConfig
from safecity.media.storage import LocalMediaStorage, ManagedStorage

Step = Callable[[datetime, LockSet, bool], ClassResult]
MATCH_PREFIX = "biometrics/matches"
REPORT_PREFIXES = ("reports", "reports-originals")
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PrivacyStores:
    media: ManagedStorage  # report photos
    sealed: ManagedStorage | None  # match crops (None: biometrics never ran here)
    lake_dir: Path | None


def stores_for(settings: Settings, media: ManagedStorage) -> PrivacyStores:
    data = settings.storage.data_dir
    sealed_dir = settings.biometrics.sealed_dir or data / "sealed"
    lake = data / (settings.analytics.lake_dir or Path("lake"))
    sealed = LocalMediaStorage(sealed_dir) if sealed_dir.is_dir() else None
    return PrivacyStores(media, sealed, lake)


@dataclass
class PrivacyRetention:
    engine: Engine
    config: RetentionConfig
    stores: PrivacyStores

    def steps(self) -> dict[str, Step]:
        return {
            "match_crops": self.match_crops,
            "matches": self.matches,
            "report_photos": self.report_photos,
            "lake": self.lake,
        }

    def _old_matches(self, days: float, now: datetime, locks: LockSet, crops_only: bool) -> list[Any]:
        cutoff = now - timedelta(days=days)
        stmt = select(MatchRow).where(MatchRow.seen_at < cutoff)
        if crops_only:
            stmt = stmt.where(MatchRow.crop_key.is_not(None))
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        return [r for r in rows if not locks.covers(r.camera_id, r.seen_at, r.seen_at)]

    def match_crops(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.match_crops.days
        result = ClassResult()
        if days is None or self.stores.sealed is None:
            result.note = "kept (no retention period)" if days is None else "no sealed store"
            return result
        rows = self._old_matches(days, now, locks, crops_only=True)
        orphans = self._orphan_crops(now)
        result.count = len(rows) + len(orphans)
        if dry_run or not result.count:
            return result
        self.stores.sealed.delete_many([str(r.crop_key) for r in rows] + orphans)
        with self.engine.begin() as conn:
            ids = [r.id for r in rows]
            conn.execute(update(MatchRow).where(MatchRow.id.in_(ids)).values(crop_key=None))
        result.note = f"{len(orphans)} without a row" if orphans else None
        return result

    def _orphan_crops(self, now: datetime) -> list[str]:
        assert self.stores.sealed is not None
        with self.engine.connect() as conn:
            named = set(
                conn.execute(select(MatchRow.crop_key).where(MatchRow.crop_key.is_not(None))).scalars()
            )
        return [
            o.key
            for o in self.stores.sealed.list_objects(MATCH_PREFIX)
            if o.key not in named and o.modified < now - ORPHAN_GRACE
        ]

    def matches(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.matches.days
        if days is None:
            return ClassResult(note="kept (no retention period)")
        rows = self._old_matches(days, now, locks, crops_only=False)
        result = ClassResult(count=len(rows))
        if dry_run or not rows:
            return result
        crops = [r.crop_key for r in rows if r.crop_key]
        if crops and self.stores.sealed is not None:
            self.stores.sealed.delete_many(crops)  # crops first: never a crop without its row
        ids = [r.id for r in rows]
        with self.engine.begin() as conn:
            conn.execute(delete(MatchReviewRow).where(MatchReviewRow.match_id.in_(ids)))
            conn.execute(delete(MatchRow).where(MatchRow.id.in_(ids)))
        return result

    def report_photos(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.report_photos.days
        if days is None:
            return ClassResult(note="kept (no retention period)")
        cutoff = now - timedelta(days=days)
        old = [
            o
            for prefix in REPORT_PREFIXES
            for o in self.stores.media.list_objects(prefix)
            if o.modified < cutoff
        ]
        result = ClassResult(count=len(old), bytes=sum(o.size for o in old))
        if not dry_run and old:
            self.stores.media.delete_many(o.key for o in old)
        return result

    def lake(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.lake.days
        lake_dir = self.stores.lake_dir
        if days is None:
            return ClassResult(note="kept (no retention period)")
        if lake_dir is None or not lake_dir.is_dir():
            return ClassResult(note="no lake")
        first_kept = (now - timedelta(days=days)).astimezone(UTC).date()
        doomed = [p for p in lake_dir.glob("*/day=*") if p.is_dir() and _day(p) < first_kept]
        result = ClassResult(count=len(doomed))
        result.bytes = sum(f.stat().st_size for p in doomed for f in p.rglob("*") if f.is_file())
        if not dry_run:
            for path in doomed:
                shutil.rmtree(path)
        return result


def _day(partition: Path) -> date:
    try:
        return date.fromisoformat(partition.name.removeprefix("day="))
    except ValueError:
        return date.max  # not a day partition: never deleted
