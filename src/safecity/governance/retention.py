"""Retention: the governed path that deletes data, by age and by disk budget, never a locked item.

Classes and what "age" means for each:
- recordings (segment rows + files, by segment end), clips (rows + files, by clip end), snapshots (files
  under `snapshots/`, by their storage time): `days` and `disk_budget_gb`;
- events (rows, by start), alerts (closed alerts only, by last_seen): `days`;
- audit (entries, by time, oldest first): `days`. The database refuses DELETE on the log except for the
  entries `governance.audit.purge_through` permits in its own transaction; the chain is re-anchored at
  the last removed entry, so `verify` still proves the rest. Evidence locks do not hold audit entries.
Order: oldest first. By age first, then, while a media class uses more than its budget, its oldest
unlocked items until it fits. Files are deleted before their rows (a crash in between leaves rows whose
files are gone, which the reconciler marks missing and the next run removes, never an unindexed file).
Every real run appends one `retention.purge` audit entry with counts and bytes per class (not every
file). `dry_run` computes the same plan and deletes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import unquote

from sqlalchemy import Engine, MetaData, Table, and_, case, false, func, inspect, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from safecity.governance import audit
from safecity.governance.evidence import LockSet, active_locks
from safecity.governance.retention_config import MediaRetention, RetentionConfig
from safecity.media.storage import ManagedStorage, MediaObject
from safecity.recording.models import ClipRow, SegmentRow, SegmentStatus
from safecity.store.models import EventRow

log = logging.getLogger(__name__)
GB = 1024**3
MEDIA_CLASSES = ("recordings", "clips", "snapshots")
SNAPSHOTS_PREFIX = "snapshots"


@dataclass
class ClassResult:
    count: int = 0
    bytes: int = 0
    kept_locked: int = 0  # items past their age kept only because of an evidence lock
    note: str | None = None
    error: str | None = None


@dataclass
class PurgeReport:
    at: datetime
    dry_run: bool
    classes: dict[str, ClassResult] = field(default_factory=dict)

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        out = []
        for name, r in self.classes.items():
            size = f", {r.bytes / 1e6:.1f} MB" if name in MEDIA_CLASSES else ""
            extra = f"; kept {r.kept_locked} locked" if r.kept_locked else ""
            extra += f"; {r.note}" if r.note else ""
            extra += f"; ERROR {r.error}" if r.error else ""
            out.append(f"{name}: {verb} {r.count}{size}{extra}")
        return out

    def summary(self) -> dict[str, dict[str, Any]]:
        return {
            n: {"count": r.count, "bytes": r.bytes, "kept_locked": r.kept_locked, "error": r.error}
            for n, r in self.classes.items()
        }


def _ranges(locks: LockSet, camera: Any, start: Any, end: Any) -> list[ColumnElement[bool]]:
    return [and_(camera == r.camera_id, start <= r.end, end >= r.start) for r in locks.ranges]


def _unlocked(locked: ColumnElement[bool]) -> ColumnElement[bool]:
    """NOT locked, where an unknown (a NULL compared: no incident, no camera) counts as not locked."""
    return not_(func.coalesce(locked, false()))


def _segment_locked(locks: LockSet) -> ColumnElement[bool]:
    c = cast(Table, SegmentRow.__table__).c
    return or_(c.id.in_(locks.segment_ids), *_ranges(locks, c.camera_id, c.start, c.end))


def _clip_locked(locks: LockSet) -> ColumnElement[bool]:
    c = cast(Table, ClipRow.__table__).c
    return or_(
        c.id.in_(locks.clip_ids),
        c.event_id.in_(locks.event_ids),
        *_ranges(locks, c.camera_id, c.start, c.end),
    )


class Retention:
    """One purge pass over every class (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        storage: ManagedStorage,
        config: RetentionConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        extra_steps: Mapping[str, Callable[[datetime, LockSet, bool], ClassResult]] | None = None,
    ) -> None:
        self.engine, self.storage, self.config, self.clock = engine, storage, config, clock
        self.extra_steps = dict(extra_steps or {})  # more classes (governance.retention_privacy)

    def run(self, *, dry_run: bool = False, actor: str = "retention") -> PurgeReport:
        now = self.clock()
        with self.engine.connect() as conn:
            locks = active_locks(conn, now)
        report = PurgeReport(now, dry_run)
        steps: dict[str, Callable[[datetime, LockSet, bool], ClassResult]] = {
            "recordings": self._recordings,
            "clips": self._clips,
            "snapshots": self._snapshots,
            "events": self._events,
            "alerts": self._alerts,
            "audit": self._audit,
            **self.extra_steps,
        }
        for name, step in steps.items():
            try:
                report.classes[name] = step(now, locks, dry_run)
            except Exception as exc:  # one class failing does not stop the others
                log.exception("retention: %s failed", name)
                report.classes[name] = ClassResult(error=f"{type(exc).__name__}: {exc}")
        if not dry_run:
            with self.engine.begin() as conn:
                audit.append(conn, actor, "retention.purge", "retention", {"classes": report.summary()})
        for line in report.lines():
            log.info("retention: %s", line)
        return report

    # -- recordings and clips: indexed files ------------------------------------------------------------

    def _recordings(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        table = cast(Table, SegmentRow.__table__)
        return self._indexed(table, self.config.recordings, _segment_locked(locks), now, dry_run)

    def _clips(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        table = cast(Table, ClipRow.__table__)
        return self._indexed(table, self.config.clips, _clip_locked(locks), now, dry_run)

    def _indexed(
        self, table: Table, rule: MediaRetention, locked: ColumnElement[bool], now: datetime, dry_run: bool
    ) -> ClassResult:
        c = table.c
        result = ClassResult()
        old = c.end < now - timedelta(days=rule.days) if rule.days is not None else None
        if old is not None:
            with self.engine.connect() as conn:
                result.kept_locked = int(conn.execute(select(func.count()).where(old, locked)).scalar_one())
            self._delete_rows(table, and_(old, _unlocked(locked)), None, result, dry_run)
        if rule.disk_budget_gb is not None:
            young = _unlocked(locked) if old is None or not dry_run else and_(not_(old), _unlocked(locked))
            self._delete_rows(table, young, rule.disk_budget_gb * GB, result, dry_run)
        return result

    def _on_disk(self, table: Table) -> Any:
        if "status" in table.c:
            return case((table.c.status == SegmentStatus.MISSING.value, 0), else_=table.c.bytes)
        return table.c.bytes

    def _delete_rows(
        self,
        table: Table,
        where: ColumnElement[bool],
        budget: float | None,
        result: ClassResult,
        dry_run: bool,
    ) -> None:
        """Delete matching rows oldest first: all of them, or (with a budget) until the class fits."""
        c, size = table.c, self._on_disk(table)
        while True:
            with self.engine.connect() as conn:
                excess = None
                if budget is not None:
                    total = int(conn.execute(select(func.coalesce(func.sum(size), 0))).scalar_one())
                    excess = total - (result.bytes if dry_run else 0) - budget
                    if excess <= 0:
                        return
                plan = self._plan(table, where, excess)
                if dry_run:
                    count, size_sum = conn.execute(
                        select(func.count(), func.coalesce(func.sum(plan.c.on_disk), 0)).select_from(plan)
                    ).one()
                    result.count, result.bytes = result.count + int(count), result.bytes + int(size_sum)
                    return
                rows = list(
                    conn.execute(select(plan).order_by(plan.c.start, plan.c.id).limit(self.config.batch_size))
                )
            if not rows:
                return
            result.count += len(rows)
            result.bytes += sum(int(r.on_disk) for r in rows)
            self.storage.delete_many(r.key for r in rows if r.on_disk)
            with self.engine.begin() as conn:
                conn.execute(table.delete().where(c.id.in_([r.id for r in rows])))

    def _plan(self, table: Table, where: ColumnElement[bool], excess: float | None) -> Subquery:
        """Rows to delete, oldest first: every match, or the oldest matches that cover `excess` bytes."""
        c, size = table.c, self._on_disk(table)
        order = (c.start, c.id)
        if excess is None:
            return select(c.id, c.key, c.start, size.label("on_disk")).where(where).subquery()
        cum = func.sum(size).over(order_by=order).label("cum")
        inner = select(c.id, c.key, c.start, size.label("on_disk"), cum).where(where).subquery()
        return select(inner).where(inner.c.cum - inner.c.on_disk < excess).subquery()

    # -- snapshots: files only ---------------------------------------------------------------------------

    def _snapshots(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        rule, result = self.config.snapshots, ClassResult()
        if rule.days is None and rule.disk_budget_gb is None:
            return result
        objects = sorted(self.storage.list_objects(SNAPSHOTS_PREFIX), key=lambda o: (o.modified, o.key))
        cutoff = now - timedelta(days=rule.days) if rule.days is not None else None
        doomed: list[MediaObject] = []
        kept: list[MediaObject] = []
        for obj in objects:
            old = cutoff is not None and obj.modified < cutoff
            if _snapshot_locked(locks, obj):
                result.kept_locked += old
                kept.append(obj)
            else:
                (doomed if old else kept).append(obj)
        if rule.disk_budget_gb is not None:
            total, budget = sum(o.size for o in kept), rule.disk_budget_gb * GB
            for obj in kept:
                if total <= budget:
                    break
                if not _snapshot_locked(locks, obj):
                    doomed.append(obj)
                    total -= obj.size
        result.count, result.bytes = len(doomed), sum(o.size for o in doomed)
        if not dry_run:
            self.storage.delete_many(o.key for o in doomed)
        return result

    # -- rows ---------------------------------------------------------------------------------------------

    def _events(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.events.days
        if days is None:
            return ClassResult(note="kept (no retention period)")
        c = cast(Table, EventRow.__table__).c
        locked = or_(c.id.in_(locks.event_ids), *_ranges(locks, c.camera_id, c.start, c.start))
        return self._delete_plain(
            cast(Table, EventRow.__table__), c.start < now - timedelta(days=days), locked, c.start, dry_run
        )

    def _alerts(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        days = self.config.alerts.days
        if days is None:
            return ClassResult(note="kept (no retention period)")
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alerts"):
                return ClassResult(note="no alerts table")
            table = Table("alerts", MetaData(), autoload_with=conn)
        c = table.c
        old = and_(c.status == "closed", c.last_seen < now - timedelta(days=days))
        locked = or_(
            c.incident_id.in_(locks.incident_ids), *_ranges(locks, c.camera_id, c.last_seen, c.last_seen)
        )
        return self._delete_plain(table, old, locked, c.last_seen, dry_run)

    def _delete_plain(
        self, table: Table, old: ColumnElement[bool], locked: ColumnElement[bool], order: Any, dry_run: bool
    ) -> ClassResult:
        result, pk = ClassResult(), next(iter(table.primary_key.columns))
        with self.engine.connect() as conn:
            result.kept_locked = int(
                conn.execute(select(func.count()).select_from(table).where(old, locked)).scalar_one()
            )
            if dry_run:
                stmt = select(func.count()).select_from(table).where(old, _unlocked(locked))
                result.count = int(conn.execute(stmt).scalar_one())
                return result
        while True:
            with self.engine.begin() as conn:
                ids = select(pk).where(old, _unlocked(locked)).order_by(order).limit(self.config.batch_size)
                done = int(conn.execute(table.delete().where(pk.in_(ids.scalar_subquery()))).rowcount or 0)
            result.count += done
            if done == 0:
                return result

    def _audit(self, now: datetime, locks: LockSet, dry_run: bool) -> ClassResult:
        """The oldest entries, through the audit module's governed purge (the chain is re-anchored)."""
        days = self.config.audit.days
        if days is None:
            return ClassResult(note="kept (no retention period)")
        with self.engine.begin() as conn:
            through, count = audit.purgeable(conn, now - timedelta(days=days))
            if not dry_run and count:
                count = audit.purge_through(conn, through)
        return ClassResult(count=count)


def _snapshot_locked(locks: LockSet, obj: MediaObject) -> bool:
    parts = obj.key.split("/")
    event_id = parts[-1].rsplit(".", 1)[0]
    if event_id in locks.snapshot_event_ids:
        return True
    return len(parts) == 4 and locks.covers(unquote(parts[1]), obj.modified, obj.modified)


class ClusterLease(Protocol):
    """A lease only one node of the cluster holds at a time (`safecity.store.coordination.DbLease`)."""

    def acquire(self) -> bool: ...


class RetentionScheduler:
    """Runs `Retention.run()` every `interval_s` in a daemon thread (first run shortly after start)."""

    def __init__(
        self,
        retention: Retention,
        interval_s: float,
        first_delay_s: float = 30.0,
        *,
        lease: ClusterLease | None = None,
    ) -> None:
        self.retention, self.interval_s, self.first_delay_s = retention, interval_s, first_delay_s
        self.lease = lease  # with several nodes: only the holder purges (once per cluster)
        self.runs = 0
        self.last: PurgeReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        delay = self.first_delay_s
        while not self._stop.wait(delay):
            delay = self.interval_s
            try:
                self.run_once()
            except Exception:
                log.exception("retention: scheduled run failed")

    def run_once(self) -> PurgeReport | None:
        """Purge now if this node holds the retention lease (or needs none); None when another node does."""
        if self.lease is not None and not self.lease.acquire():
            return None
        self.last = self.retention.run()
        self.runs += 1
        return self.last
