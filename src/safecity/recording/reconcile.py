"""Reconcile the segment index with the files, after a crash or at any time.

Spool (local to the recording host): a `.mp4.part` file that is not being written is either
- already indexed (killed after the commit, before the spool copy was removed): removed;
- a readable fragmented MP4 (killed mid-segment, or a commit that failed): validated with PyAV (every
  packet read, the first keyframe decoded), stored and indexed as `salvaged`, with its real duration;
- unreadable (killed before the first fragment): removed.
Storage: an object under `recordings/<camera>/` without an index row (killed between storing and
indexing) is validated the same way and indexed as `salvaged`, or deleted; an index row whose object is
gone is marked `missing` (kept, so the timeline shows the hole; retention removes it like the others).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import select

from safecity.recording.index import (
    RECORDINGS_PREFIX,
    SEGMENTS,
    SegmentStore,
    camera_segment,
    insert_segment,
    mark_missing,
    parse_segment_key,
    segment_ids,
)
from safecity.recording.models import SegmentStatus
from safecity.recording.segment import SPOOL_SUFFIX, SegmentInfo, parse_spool_name, probe
from safecity.types import utc

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    salvaged: int = 0  # spool files validated, stored and indexed
    discarded: int = 0  # spool files that were unreadable or already indexed
    orphans_indexed: int = 0  # stored objects without a row, validated and indexed
    orphans_deleted: int = 0  # stored objects without a row that were not valid video
    missing: int = 0  # rows whose object is gone, marked missing

    def __str__(self) -> str:
        return (
            f"salvaged {self.salvaged}, discarded {self.discarded}, orphans indexed "
            f"{self.orphans_indexed}, orphans deleted {self.orphans_deleted}, missing {self.missing}"
        )


def reconcile_spool(store: SegmentStore, spool_root: Path, *, busy: Collection[Path] = ()) -> ReconcileReport:
    """Store or remove every spool file not in `busy` (the files recorders are writing now)."""
    report = ReconcileReport()
    if not spool_root.is_dir():
        return report
    for camera_dir in sorted(p for p in spool_root.iterdir() if p.is_dir()):
        for path in sorted(camera_dir.glob(f"*{SPOOL_SUFFIX}")):
            if path not in busy:
                _reconcile_spool_file(store, unquote(camera_dir.name), path, report)
    return report


def _reconcile_spool_file(store: SegmentStore, camera_id: str, path: Path, report: ReconcileReport) -> None:
    parsed = parse_spool_name(path.name)
    if parsed is None:
        log.warning("spool: removing unknown file %s", path)
        path.unlink(missing_ok=True)
        report.discarded += 1
        return
    first_wall, seg_id = parsed
    with store.engine.connect() as conn:
        indexed = bool(segment_ids(conn, [seg_id]))
    found = None if indexed else probe(path)
    if found is None:
        path.unlink(missing_ok=True)
        report.discarded += 1
        log.info("spool: %s %s removed", path.name, "already indexed" if indexed else "holds no video")
        return
    start = first_wall - found.first_pts_s
    info = SegmentInfo(
        id=seg_id,
        camera_id=camera_id,
        path=path,
        start=utc(start),
        end=utc(start + found.end_s),
        bytes=path.stat().st_size,
        codec=found.codec,
        width=found.width,
        height=found.height,
        transcoded=found.transcoded,
        packets=found.packets,
    )
    store.commit(info, SegmentStatus.SALVAGED)
    report.salvaged += 1
    log.warning("spool: salvaged %s (%.1f s of camera %s)", path.name, found.end_s, camera_id)


def _days(since: datetime | None) -> list[str] | None:
    if since is None:
        return None
    day, today = since.astimezone(UTC).date(), datetime.now(UTC).date()
    out = []
    while day <= today:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def reconcile_storage(
    store: SegmentStore, camera_id: str, *, since: datetime | None = None
) -> ReconcileReport:
    """Compare the camera's stored objects (all, or those of the days since `since`) with its rows."""
    report = ReconcileReport()
    base = f"{RECORDINGS_PREFIX}/{camera_segment(camera_id)}"
    days = _days(since)
    prefixes = [base] if days is None else [f"{base}/{d}" for d in days]
    stored = {obj.key: obj.size for p in prefixes for obj in store.storage.list_objects(p)}
    c = SEGMENTS.c
    stmt = select(c.id, c.key, c.status).where(c.camera_id == camera_id)
    if since is not None:
        stmt = stmt.where(c.start >= since - timedelta(days=1))
    with store.engine.connect() as conn:
        rows = list(conn.execute(stmt))
    known = {r.key for r in rows}
    for key in sorted(set(stored) - known):
        _reconcile_orphan(store, key, stored[key], report)
    gone = [r.id for r in rows if r.key not in stored and r.status != SegmentStatus.MISSING.value]
    if days is not None:  # rows of days that were not listed cannot be judged
        gone = [r.id for r in rows if r.id in gone and r.key.split("/")[2] in days]
    with store.engine.begin() as conn:
        report.missing = mark_missing(conn, gone)
    return report


def _reconcile_orphan(store: SegmentStore, key: str, size: int, report: ReconcileReport) -> None:
    parsed = parse_segment_key(key)
    found = None
    if parsed is not None:
        with store.storage.local_file(key) as path:
            found = probe(path)
    if parsed is None or found is None:
        store.storage.delete(key)
        report.orphans_deleted += 1
        log.warning("storage: deleted %s (not a valid recording)", key)
        return
    camera_id, start, seg_id = parsed
    with store.engine.begin() as conn:
        if segment_ids(conn, [seg_id]):
            return
        info = SegmentInfo(
            id=seg_id,
            camera_id=camera_id,
            path=Path(key),
            start=start,
            end=start + timedelta(seconds=found.end_s),
            bytes=size,
            codec=found.codec,
            width=found.width,
            height=found.height,
            transcoded=found.transcoded,
            packets=found.packets,
        )
        insert_segment(conn, info, key, size, SegmentStatus.SALVAGED)
    report.orphans_indexed += 1
    log.warning("storage: indexed orphan %s", key)
