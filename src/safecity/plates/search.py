"""Search of stored plate reads by plate: exact, or fuzzy (edit distance <= 1 on the normalized text, the
usual OCR error: one character misread, dropped or added). Portable SQL: the fuzzy candidates come from
`LIKE` patterns with one wildcard (`_`) per position, then the distance is checked exactly."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Connection

from safecity.plates.models import PlateReadRow
from safecity.vision.plate_formats import normalize

MAX_PLATE = 16


@dataclass(frozen=True, slots=True)
class PlateSearch:
    plate: str  # as typed; normalized here
    fuzzy: bool = False
    cameras: Collection[str] | None = None  # None: every camera (the caller's access list)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    @property
    def normalized(self) -> str:
        return normalize(self.plate)


def within_one(a: str, b: str) -> bool:
    """Whether `a` and `b` are at most one substitution, insertion or deletion apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _fuzzy(plate: str) -> ColumnElement[bool]:
    n = len(plate)
    patterns = {plate[:i] + "_" + plate[i + 1 :] for i in range(n)}  # one substituted
    patterns |= {plate[:i] + "_" + plate[i:] for i in range(n + 1)}  # one inserted
    exact = {plate[:i] + plate[i + 1 :] for i in range(n)} | {plate}  # one dropped
    return or_(PlateReadRow.plate.in_(exact), *(PlateReadRow.plate.like(p) for p in sorted(patterns)))


def search_reads(conn: Connection, q: PlateSearch) -> list[PlateReadRow]:
    """Matching reads, newest first (at most `limit`). Raises ValueError for a plate with no character."""
    plate = q.normalized
    if not 1 <= len(plate) <= MAX_PLATE:
        raise ValueError(f"plate: 1 to {MAX_PLATE} letters or digits, got {q.plate!r}")
    where = _fuzzy(plate) if q.fuzzy else PlateReadRow.plate == plate
    stmt = select(PlateReadRow).where(where)
    if q.cameras is not None:
        stmt = stmt.where(PlateReadRow.camera_id.in_(sorted(q.cameras)))
    if q.since is not None:
        stmt = stmt.where(PlateReadRow.seen_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(PlateReadRow.seen_at < q.until)
    stmt = stmt.order_by(PlateReadRow.seen_at.desc(), PlateReadRow.id).limit(q.limit)
    rows = [
        PlateReadRow(**r._mapping) for r in conn.execute(stmt.with_only_columns(*PlateReadRow.__table__.c))
    ]
    return [r for r in rows if within_one(r.plate, plate)] if q.fuzzy else rows
