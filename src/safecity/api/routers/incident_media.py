"""The incident page's evidence and context: the linked camera's snapshot and event clip, a one-click
evidence lock of that clip, and the correlation panel (other alerts and reports nearby in space and time).

- `GET /api/incidents/{id}/media` (incidents:read): the snapshot of the incident's alerts (snapshots are
  stored redacted: needs media:read), the camera's live picture (heads masked: cameras:read) and the event
  clip: an event clip of the linked alerts' events, else a clip cut from the camera's recording around the
  incident's time. A URL is given only when the caller may open it: the unblurred clip needs
  media:unredacted (and `/api/media` audits each viewing); others get the blurred copy once one exists
  (`POST /api/recordings/clips/{id}/export` makes it, audited) and no URL before, so the page never shows
  a broken picture.
- `POST /api/incidents/{id}/clip` (incidents:write): cut that clip from the recording now (audited).
- `POST /api/incidents/{id}/evidence-lock` (evidence:manage): lock the clip and the alerts' events (their
  snapshots and event clips) for `field.evidence_lock_days`, tied to the incident (audited by
  governance.evidence).
- `GET /api/incidents/{id}/correlated` (incidents:read): alerts (also alerts:read) and public reports
  (also reports:triage) within `field.correlation_radius_m` and `field.correlation_window_min`.

Every route first finds the incident through the caller's camera access list (404 otherwise).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.routers._operations import IdPath, commit, translated
from safecity.app import App
from safecity.governance import audit
from safecity.governance.evidence import LockItem, LockKind, active_locks, create_lock, list_locks
from safecity.media.storage import ManagedStorage
from safecity.operations import incidents as incident_service
from safecity.operations.correlation import correlate
from safecity.operations.field_units import incident_position
from safecity.operations.models import AlertRow, IncidentRow
from safecity.recording.clips import make_clip
from safecity.recording.index import (
    ClipRecord,
    blurred_copy_of,
    clips_between,
    original_clip_of_events,
    segments_between,
)
from safecity.store.cameras import CameraRow, list_cameras

router = APIRouter(tags=["incidents"])
Reader = Annotated[Principal, Depends(require("incidents:read"))]
Writer = Annotated[Principal, Depends(require("incidents:write"))]
Locker = Annotated[Principal, Depends(require("evidence:manage"))]
UNREDACTED = "media:unredacted"
MAX_CLIP = timedelta(minutes=10)  # an incident clip covers its alerts up to this long (plus the rolls)


class SnapshotOut(BaseModel):
    alert_id: int
    event_id: str | None
    url: str = Field(description="The event's snapshot (stored with faces blurred)")


class IncidentClip(BaseModel):
    id: str = Field(description="The clip as recorded (unblurred): the one an evidence lock keeps")
    camera_id: str
    event_id: str | None
    start: datetime
    end: datetime
    url: str | None = Field(
        description="What this caller plays: the blurred copy when one exists, else the original for "
        "holders of media:unredacted (each viewing audited); null when neither is allowed or made yet"
    )
    redacted: bool = Field(description="Whether `url` is the blurred copy")
    original_url: str | None = Field(description="The unblurred clip (media:unredacted only; audited)")
    locked: bool = Field(description="An evidence lock in force keeps it past retention")


class IncidentMedia(BaseModel):
    camera_id: str | None
    window_start: datetime | None = Field(description="The recording time around the incident")
    window_end: datetime | None
    snapshot: SnapshotOut | None
    live_url: str | None = Field(description="The camera's latest frame (heads masked), when it runs here")
    clip: IncidentClip | None
    recorded: bool = Field(description="Recording exists in the window: a clip can be cut")
    lock_ids: list[int] = Field(description="Evidence locks in force tied to this incident")


class LockRequest(BaseModel):
    reason: str | None = Field(None, min_length=3, max_length=2000, description="Default: names the incident")


class LockResult(BaseModel):
    lock_id: int
    expires_at: datetime
    items: list[str]


class CorrelatedItem(BaseModel):
    kind: str = Field(description="alert | report")
    id: int
    title: str
    severity: str | None
    category: str | None
    status: str
    camera_id: str | None
    at: datetime = Field(description="Alert: first seen; report: observed")
    distance_m: float
    minutes_from_incident: float = Field(description="Negative: before the incident's origin")
    incident_id: int | None
    lat: float = Field(description="Where it is placed: a report's own position, else its camera's")
    lon: float


class CorrelatedOut(BaseModel):
    lat: float | None
    lon: float | None
    radius_m: float
    window_min: float
    alerts_included: bool = Field(description="False: the caller may not read alerts")
    reports_included: bool = Field(description="False: the caller may not read public reports")
    items: list[CorrelatedItem]


def _media_url(key: str) -> str:
    return f"/api/media/{quote(key, safe='/')}"


def _alerts(db: DbSession, incident: IncidentRow) -> list[AlertRow]:
    return list(
        db.scalars(select(AlertRow).where(AlertRow.incident_id == incident.id).order_by(AlertRow.first_seen))
    )


def _window(node: App, incident: IncidentRow, alerts: list[AlertRow]) -> tuple[datetime, datetime]:
    rolls = node.settings.recording.clips
    start = min([incident.origin_at, *(a.first_seen for a in alerts)])
    last = max([incident.origin_at, *(a.last_seen for a in alerts)])
    return (
        start - timedelta(seconds=rolls.pre_roll_s),
        min(last, start + MAX_CLIP) + timedelta(seconds=rolls.post_roll_s),
    )


def _event_ids(alerts: list[AlertRow]) -> list[str]:
    ids = [e for a in alerts for e in (a.first_event_id, a.last_event_id) if e]
    return list(dict.fromkeys(ids))


def _original_clip(
    node: App, camera_id: str, events: list[str], window: tuple[datetime, datetime]
) -> ClipRecord | None:
    """The unblurred clip of the incident: an event clip of its alerts, else one cut for it."""
    with node.engine.connect() as conn:
        if (event_clip := original_clip_of_events(conn, events)) is not None:
            return event_clip
        found = [
            x for x in clips_between(conn, camera_id, *window)
            if not x.redacted and x.reason in ("event", "incident")
        ]  # fmt: skip
    # the one covering most of the window
    return max(found, key=lambda x: min(x.end, window[1]) - max(x.start, window[0]), default=None)


def _blurred_copy(node: App, clip: ClipRecord) -> ClipRecord | None:
    with node.engine.connect() as conn:
        return blurred_copy_of(conn, clip)


def _incident(db: DbSession, incident_id: int, who: Principal) -> IncidentRow:
    with translated():
        return incident_service.get_incident(db, incident_id, who.cameras)


@router.get("/incidents/{incident_id}/media", response_model=IncidentMedia)
def incident_media(incident_id: IdPath, db: DbSession, node: Node, who: Reader) -> IncidentMedia:
    """The snapshot, live picture and event clip of the incident's camera, as far as the caller may see."""
    incident = _incident(db, incident_id, who)
    with node.engine.connect() as conn:
        lock_set = active_locks(conn)
        lock_ids = [lk.id for lk in list_locks(conn) if lk.incident_id == incident.id]
    camera_id = incident.camera_id
    if camera_id is None:
        return IncidentMedia(camera_id=None, window_start=None, window_end=None, snapshot=None, live_url=None,
                             clip=None, recorded=False, lock_ids=lock_ids)  # fmt: skip
    alerts = _alerts(db, incident)
    window = _window(node, incident, alerts)
    snapshot = None
    if who.has("media:read"):
        shot = next((a for a in alerts if a.snapshot and a.camera_id == camera_id), None)
        if shot is not None and shot.snapshot is not None:
            snapshot = SnapshotOut(
                alert_id=shot.id, event_id=shot.last_event_id, url=_media_url(shot.snapshot)
            )
    worker = node.workers.get(camera_id)
    live = worker is not None and worker.latest is not None and who.has("cameras:read")
    events = _event_ids(alerts)
    original = _original_clip(node, camera_id, events, window)
    clip = None
    if original is not None:
        blurred = _blurred_copy(node, original) if who.has("media:read") else None
        unredacted_ok = who.has(UNREDACTED) and who.has("media:read")  # both: /api/media needs media:read
        url = (
            _media_url(blurred.key) if blurred is not None
            else _media_url(original.key) if unredacted_ok else None
        )  # fmt: skip
        locked = (
            original.id in lock_set.clip_ids
            or (original.event_id is not None and original.event_id in lock_set.event_ids)
            or lock_set.covers(camera_id, original.start, original.end)
        )
        clip = IncidentClip(
            id=original.id, camera_id=camera_id, event_id=original.event_id, start=original.start,
            end=original.end, url=url, redacted=blurred is not None,
            original_url=_media_url(original.key) if unredacted_ok else None, locked=locked,
        )  # fmt: skip
    with node.engine.connect() as conn:
        recorded = bool(segments_between(conn, camera_id, *window))
    return IncidentMedia(
        camera_id=camera_id, window_start=window[0], window_end=window[1], snapshot=snapshot,
        live_url=f"/api/cameras/{quote(camera_id, safe='')}/snapshot.jpg" if live else None, clip=clip,
        recorded=recorded, lock_ids=lock_ids,
    )  # fmt: skip


@router.post(
    "/incidents/{incident_id}/clip", response_model=IncidentMedia, status_code=status.HTTP_201_CREATED
)
def cut_incident_clip(incident_id: IdPath, db: DbSession, node: Node, who: Writer) -> IncidentMedia:
    """Cut the incident's clip from its camera's recording (if none exists yet); audited."""
    incident = _incident(db, incident_id, who)
    if incident.camera_id is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the incident has no camera")
    storage = node.media
    if not isinstance(storage, ManagedStorage) or node.data_center is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the data center is not running on this node"
        )
    alerts = _alerts(db, incident)
    window = _window(node, incident, alerts)
    if _original_clip(node, incident.camera_id, _event_ids(alerts), window) is None:
        commit(
            db
        )  # end the request's transaction: the clip is indexed through the engine (SQLite: one writer)
        clip = make_clip(
            node.engine, storage, node.data_center.recording.clip_dir, incident.camera_id, *window,
            reason="incident", created_by=who.username,
        )  # fmt: skip
        if clip is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "nothing was recorded by the incident's camera around its time"
            )
        details = {"clip": clip.id, "camera": clip.camera_id, "start": clip.start.isoformat(),
                   "end": clip.end.isoformat(), "sha256": clip.sha256}  # fmt: skip
        audit.append(db.connection(), who.username, "incident.clip", f"incident:{incident.id}", details)
        commit(db)
    return incident_media(incident_id, db, node, who)


@router.post("/incidents/{incident_id}/evidence-lock", response_model=LockResult, status_code=201)
def lock_incident_clip(
    incident_id: IdPath, body: LockRequest, db: DbSession, node: Node, who: Locker
) -> LockResult:
    """Keep the incident's clip and its alerts' events (snapshots, event clips) past retention; audited."""
    incident = _incident(db, incident_id, who)
    alerts = _alerts(db, incident)
    events = _event_ids(alerts)
    clip = None
    if incident.camera_id is not None:
        clip = _original_clip(node, incident.camera_id, events, _window(node, incident, alerts))
    items = [LockItem(LockKind.EVENT, e) for e in events]
    if clip is not None:
        items.insert(0, LockItem(LockKind.CLIP, clip.id))
    if not items:
        raise HTTPException(status.HTTP_409_CONFLICT, "the incident has no clip or event to lock yet")
    now = datetime.now(UTC)
    expires = now + timedelta(days=node.settings.field.evidence_lock_days)
    reason = body.reason or f"Incident #{incident.id}: {incident.title}"
    lock_id = create_lock(  # in the request's transaction (SQLite has one writer)
        db.connection(), actor=who.username, reason=reason, expires_at=expires, items=items,
        incident_id=incident.id, now=now,
    )  # fmt: skip
    commit(db)
    return LockResult(
        lock_id=lock_id, expires_at=expires, items=[f"{i.kind.value}:{i.item_id}" for i in items]
    )


def _positions(cameras: list[CameraRow]) -> dict[str, tuple[float, float]]:
    return {c.id: (c.lat, c.lon) for c in cameras if c.lat is not None and c.lon is not None}


@router.get("/incidents/{incident_id}/correlated", response_model=CorrelatedOut)
def correlated(
    incident_id: IdPath,
    db: DbSession,
    node: Node,
    who: Reader,
    radius_m: Annotated[
        float | None, Query(gt=0, le=50_000, description="Default field.correlation_radius_m")
    ] = None,
    minutes: Annotated[
        float | None, Query(gt=0, le=7 * 24 * 60, description="Default field.correlation_window_min")
    ] = None,
) -> CorrelatedOut:
    """Other alerts and public reports near the incident in space and time, nearest in time first."""
    incident = _incident(db, incident_id, who)
    cfg = node.settings.field
    radius, window_min = radius_m or cfg.correlation_radius_m, minutes or cfg.correlation_window_min
    positions = _positions(list_cameras(db))
    where = incident_position(incident, positions.get(incident.camera_id or ""))
    alerts_ok, reports_ok = who.has("alerts:read"), who.has("reports:triage")
    found = []
    if where is not None:
        found = correlate(
            db, incident, where, radius_m=radius, window=timedelta(minutes=window_min), cameras=who.cameras,
            camera_positions=positions, alerts=alerts_ok, reports=reports_ok,
        )  # fmt: skip
    return CorrelatedOut(
        lat=where[0] if where else None, lon=where[1] if where else None, radius_m=radius,
        window_min=window_min, alerts_included=alerts_ok, reports_included=reports_ok,
        items=[CorrelatedItem(**{f: getattr(c, f) for f in CorrelatedItem.model_fields}) for c in found],
    )  # fmt: skip
