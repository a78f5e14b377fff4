"""Retention of plate reads (a `Retention` class of its own, `plate_reads`): a read that hit no hotlist is
deleted, crop first then row, once older than `plates.non_hit_retention_hours` (DESIGN: every kind of
data has a period; non-hit reads are personal data kept only for counts and search), unless an evidence
lock covers its camera and time. A crop under
`plates/` that no row names (a crash between the crop and its row) goes at the same age. With a period
of 0 reads are never stored (`PlateStep`), and any left from an earlier setting go at the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from safecity.governance.evidence import LockSet
from safecity.governance.retention import ClassResult
from safecity.media.storage import ManagedStorage
from safecity.plates.models import CROPS_PREFIX, PlateReadRow
from safecity.vision.plates_config import PlatesConfig

BATCH = 1000


@dataclass
class PlateRetention:
    engine: Engine
    media: ManagedStorage
    config: PlatesConfig

    def steps(self) -> dict[str, Callable[[datetime, LockSet, bool], ClassResult]]:
        return {"plate_reads": self.purge}

    def purge(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        cutoff = now - timedelta(hours=self.config.non_hit_retention_hours)
        result = ClassResult()
        old = (PlateReadRow.hit.is_(False)) & (PlateReadRow.seen_at < cutoff)
        with self.engine.connect() as conn:
            found = conn.execute(select(PlateReadRow.id, PlateReadRow.crop, PlateReadRow.camera_id,
                                        PlateReadRow.seen_at).where(old)).all()  # fmt: skip
            named = {
                c for (c,) in conn.execute(select(PlateReadRow.crop).where(PlateReadRow.crop.is_not(None)))
            }
        rows = [r for r in found if not locks.covers(r.camera_id, r.seen_at, r.seen_at)]
        result.kept_locked = len(found) - len(rows)
        crops = [r.crop for r in rows if r.crop]
        orphans = [
            o.key for o in self.media.list_objects(CROPS_PREFIX) if o.key not in named and o.modified < cutoff
        ]
        result.count = len(rows) + len(orphans)
        if dry_run:
            return result
        self.media.delete_many(crops + orphans)  # files before rows: never a crop without its row
        ids = [r.id for r in rows]
        with self.engine.begin() as conn:
            for start in range(0, len(ids), BATCH):
                conn.execute(delete(PlateReadRow).where(PlateReadRow.id.in_(ids[start : start + BATCH])))
        return result
