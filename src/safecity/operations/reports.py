"""Reports from the public: validation, photo sanitising, the triage queue.

A photo is accepted by its content, never its name or declared type: it must decode as JPEG or PNG
(Pillow), within the size and pixel caps. It is then re-encoded from its pixels alone (orientation
applied first), so EXIF, GPS, XMP, ICC and comments are gone before anything is stored. Errors carry the
HTTP status the API answers with: 413 too large, 415 not a JPEG/PNG, 422 anything else invalid.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from safecity.media.safe_image import ImageLimits, ImageRejected, decode_now, probe, serialized
from safecity.operations.catalogue import REPORT_CATEGORIES
from safecity.operations.config import ReportsConfig
from safecity.operations.domain import (
    Actor,
    ConflictError,
    NotFoundError,
    ReportStatus,
    TimelineKind,
    now_utc,
)
from safecity.operations.incident_schemas import IncidentCreate
from safecity.operations.incidents import add_timeline, create_incident
from safecity.operations.models import IncidentRow, PublicReportRow
from safecity.operations.schemas import PublicReportCreate, ReportTriage

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
CLOCK_SKEW = timedelta(minutes=5)  # a phone whose clock runs a little fast is not "in the future"
REPORTS_PREFIX = "reports"


class ReportRejected(Exception):
    """A report or its photo is refused; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_report(data: PublicReportCreate, cfg: ReportsConfig, now: datetime | None = None) -> datetime:
    """Checks that need the settings or the clock; returns the observation time in UTC."""
    if data.category not in REPORT_CATEGORIES:
        raise ReportRejected(422, f"category must be one of: {', '.join(REPORT_CATEGORIES)}")
    now = now or now_utc()
    observed = data.observed_at if data.observed_at.tzinfo else data.observed_at.replace(tzinfo=UTC)
    observed = observed.astimezone(UTC)
    if observed > now + CLOCK_SKEW:
        raise ReportRejected(422, "observed_at is in the future")
    if observed < now - timedelta(days=cfg.max_age_days):
        raise ReportRejected(422, f"observed_at is more than {cfg.max_age_days:g} days ago")
    return observed


def sanitize_photo(data: bytes, cfg: ReportsConfig) -> tuple[bytes, str]:
    """Decode `data` as JPEG/PNG with bounded memory (safecity.media.safe_image: header checked first,
    decoded reduced to `cfg.max_photo_side`) and re-encode it without metadata; returns (bytes, ext)."""
    limits = ImageLimits(cfg.max_photo_pixels, cfg.max_photo_side, cfg.max_photo_bytes)
    try:
        return serialized(_sanitize_now, data, limits)  # decode and re-encode: one photo at a time
    except ImageRejected as exc:
        raise ReportRejected(exc.status, exc.reason) from exc


def _sanitize_now(data: bytes, limits: ImageLimits) -> tuple[bytes, str]:
    kind = probe(data, limits)[0]
    return _reencode(decode_now(data, limits), kind)


def _reencode(image: Image.Image, kind: str) -> tuple[bytes, str]:
    keep_alpha = kind == "PNG" and image.mode in ("RGBA", "LA", "P", "PA")
    pixels = image.convert("RGBA" if keep_alpha else "RGB")  # a new image without info and metadata
    pixels.info.clear()
    out = io.BytesIO()
    if kind == "PNG":
        pixels.save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    pixels.save(out, "JPEG", quality=88)
    return out.getvalue(), "jpg"


def create_report(
    db: Session, data: PublicReportCreate, observed_at: datetime, photo_key: str | None
) -> PublicReportRow:
    row = PublicReportRow(
        category=data.category, description=data.description.strip(), lat=data.lat, lon=data.lon,
        camera_id=data.camera_id or None, observed_at=observed_at, photo_key=photo_key,
        contact=(data.contact or "").strip() or None, status=ReportStatus.NEW.value, created_at=now_utc(),
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def list_reports(
    db: Session,
    status: ReportStatus | None,
    limit: int = 50,
    offset: int = 0,
    cameras: frozenset[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[PublicReportRow], int]:
    """A page of reports; with `cameras` (an access list), only those on no camera or on one of them;
    `since`/`until` bound the observed time."""
    where = [] if status is None else [PublicReportRow.status == status.value]
    if since is not None:
        where.append(PublicReportRow.observed_at >= since)
    if until is not None:
        where.append(PublicReportRow.observed_at <= until)
    if cameras is not None:
        where.append(or_(PublicReportRow.camera_id.is_(None), PublicReportRow.camera_id.in_(sorted(cameras))))
    total = int(db.scalar(select(func.count()).select_from(PublicReportRow).where(*where)) or 0)
    rows = db.scalars(
        select(PublicReportRow).where(*where)
        .order_by(PublicReportRow.created_at.desc(), PublicReportRow.id.desc()).limit(limit).offset(offset)
    )  # fmt: skip
    return list(rows), total


def get_report(db: Session, report_id: int) -> PublicReportRow:
    row = db.get(PublicReportRow, report_id)
    if row is None:
        raise NotFoundError(f"no report {report_id}")
    return row


def triage(
    db: Session, row: PublicReportRow, decision: ReportTriage, actor: Actor
) -> tuple[PublicReportRow, IncidentRow | None]:
    """Dismiss a new report, or open an incident from it (linked both ways)."""
    if row.status != ReportStatus.NEW.value:
        raise ConflictError(f"report {row.id} was already triaged ({row.status}, by {row.triaged_by})")
    row.triaged_at, row.triaged_by_id, row.triaged_by = now_utc(), actor.id, actor.name
    row.triage_note = decision.note.strip() or None
    if decision.action == "dismiss":
        row.status = ReportStatus.DISMISSED.value
        db.flush()
        return row, None
    request = IncidentCreate(
        title=decision.title or f"Public report: {row.category.replace('_', ' ')}",
        type=REPORT_CATEGORIES[row.category], priority=decision.priority, description=row.description,
        camera_id=row.camera_id, lat=row.lat, lon=row.lon,
    )  # fmt: skip
    incident = create_incident(db, request, actor, source="report", origin_at=row.created_at)
    row.status, row.incident_id = ReportStatus.INCIDENT.value, incident.id
    text = f"From public report {row.id} (observed {row.observed_at.isoformat(timespec='minutes')})"
    text += f": {row.triage_note}" if row.triage_note else ""
    data = {"report_id": row.id, "has_photo": row.photo_key is not None}
    add_timeline(db, incident, TimelineKind.NOTE, actor, text, data)
    return row, incident
