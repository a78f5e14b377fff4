"""Recordings (data center): a camera's timeline for the playback UI, and audited clip exports.

Segment and clip files are served by the media route (`/api/media/<key>`, media:read, camera access);
the playback route (`/api/recordings/segments/<id>/video`, media:unredacted, camera access) streams one
segment with HTTP Range support for a <video> element, and writes an audit entry for each viewing (the
first request of a credential for a segment, whatever its Range; not each chunk, see `api.viewing`).
An export is redacted (faces blurred by the node's face redactor, plates by the plate models inside the
vehicles the node's detector finds in each frame) unless the caller asks for `unredacted` and holds
`media:unredacted`; granted or refused, it is an audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.viewing import viewing_sessions
from safecity.media.plate_redaction import RedactorChain
from safecity.media.redaction import Redactor
from safecity.media.storage import ManagedStorage, MediaNotFoundError
from safecity.recording.config import recording_policy
from safecity.recording.export import ExportRefused, export_range, export_stored_clip
from safecity.recording.index import SEGMENTS, ClipRecord, clip_by_id
from safecity.recording.models import SegmentStatus
from safecity.recording.timeline import timeline

router = APIRouter(prefix="/recordings", tags=["recordings"])
Reader = Annotated[Principal, Depends(require("media:read"))]
Viewer = Annotated[Principal, Depends(require("media:unredacted"))]
CameraId = Annotated[str, Path(min_length=1, max_length=128)]
MAX_TIMELINE = timedelta(days=7)


class SegmentOut(BaseModel):
    id: str
    start: datetime
    end: datetime
    status: str = Field(description="complete | salvaged (after a crash) | missing (file gone)")
    codec: str
    transcoded: bool
    locked: bool = Field(description="Kept from retention by an evidence lock")
    url: str | None = Field(description="GET it (video/mp4); file time t shows wall-clock start + t")


class ClipOut(BaseModel):
    id: str
    camera_id: str
    event_id: str | None
    start: datetime
    end: datetime
    bytes: int
    sha256: str
    redacted: bool
    reason: str
    url: str


class EventMark(BaseModel):
    id: str
    kind: str
    start: datetime
    end: datetime
    label: str | None


class TimelineOut(BaseModel):
    camera_id: str
    since: datetime
    until: datetime
    segments: list[SegmentOut]
    gaps: list[tuple[datetime, datetime]]
    events: list[EventMark]
    events_truncated: bool
    clips: list[ClipOut]
    recording_enabled: bool | None = Field(
        None,
        description="Whether this camera records (recording.enabled or its override); null: unknown here",
    )
    other_codecs: str | None = Field(None, description="refuse | transcode: what happens to non-H.264/H.265")


class ExportIn(BaseModel):
    start: datetime
    end: datetime
    reason: str = Field(min_length=3, max_length=500, description="Case or request reference")
    unredacted: bool = Field(False, description="Needs media:unredacted")


class StoredExportIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)
    unredacted: bool = False


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "time out of range") from exc


def _clip_out(clip: ClipRecord) -> ClipOut:
    return ClipOut(
        id=clip.id,
        camera_id=clip.camera_id,
        event_id=clip.event_id,
        start=clip.start,
        end=clip.end,
        bytes=clip.bytes,
        sha256=clip.sha256,
        redacted=clip.redacted,
        reason=clip.reason,
        url=f"/api/media/{clip.key}",
    )


@router.get("/{camera_id}/timeline", response_model=TimelineOut)
def camera_timeline(
    camera_id: CameraId,
    node: Node,
    who: Reader,
    since: Annotated[datetime, Query(description="UTC if no offset")],
    until: Annotated[datetime, Query(description="UTC if no offset; at most 7 days after since")],
) -> TimelineOut:
    """Recorded segments, gaps, events and clips of one camera in [since, until)."""
    ensure_camera_visible(who, camera_id)
    start, end = _utc(since), _utc(until)
    if not timedelta(0) < end - start <= MAX_TIMELINE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until must be after since, within 7 days")
    with node.engine.connect() as conn:
        tl = timeline(conn, camera_id, start, end)
    segments = [
        SegmentOut(
            id=s.segment.id,
            start=s.segment.start,
            end=s.segment.end,
            status=s.segment.status,
            codec=s.segment.codec,
            transcoded=s.segment.transcoded,
            locked=s.locked,
            # the audited playback route (media:unredacted): recordings are not redacted
            url=None if s.segment.status == "missing" else f"/api/recordings/segments/{s.segment.id}/video",
        )
        for s in tl.segments
    ]
    events = [
        EventMark(id=e.id, kind=e.kind.value, start=e.start, end=e.end, label=e.label) for e in tl.events
    ]
    return TimelineOut(
        camera_id=camera_id,
        since=start,
        until=end,
        segments=segments,
        gaps=list(tl.gaps),
        events=events,
        events_truncated=tl.events_truncated,
        clips=[_clip_out(c.clip) for c in tl.clips],
        **_recording_state(node, camera_id),
    )


def _recording_state(node: Node, camera_id: str) -> dict[str, Any]:
    """Why a timeline may be empty: is the camera recording at all, and are other codecs refused?"""
    worker = node.workers.get(camera_id)
    cfg = (
        worker.camera
        if worker is not None
        else next((c for c in node.settings.cameras if c.id == camera_id), None)
    )
    if cfg is None:
        return {}
    policy = recording_policy(node.settings.recording, cfg.id, cfg.source, cfg.recording)
    return {"recording_enabled": policy.enabled, "other_codecs": policy.other_codecs}


def _parts(node: Node) -> tuple[ManagedStorage, Redactor | None]:
    storage = node.media
    if not isinstance(storage, ManagedStorage) or node.data_center is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the data center is not running on this node"
        )
    return storage, export_redactor(node)


def export_redactor(node: Node) -> Redactor | None:
    """A new redactor for one export: faces, then plates (`plates.redact`); None without a face redactor
    (the export is then refused, never served unblurred). Its plate memory is that clip's own."""
    if node.biometrics is None:
        return None
    plates = node.factory.plates if node.factory is not None else None
    clip_plates = plates.clip_redactor(node.detector.detect) if plates is not None else None
    return RedactorChain(node.biometrics.redactor, clip_plates) if clip_plates else node.biometrics.redactor


@router.post("/{camera_id}/export", response_model=ClipOut, status_code=status.HTTP_201_CREATED)
def export_camera_range(camera_id: CameraId, body: ExportIn, node: Node, who: Reader) -> ClipOut:
    """Cut a clip of [start, end] (keyframe-aligned start) for the caller; audited."""
    ensure_camera_visible(who, camera_id)
    storage, redactor = _parts(node)
    assert node.data_center is not None
    try:
        clip = export_range(
            node.engine,
            storage,
            node.data_center.recording.clip_dir,
            actor=who.username,
            permissions=who.permissions,
            camera_id=camera_id,
            start=_utc(body.start),
            end=_utc(body.end),
            reason=body.reason,
            unredacted=body.unredacted,
            redactor=redactor,
            max_seconds=node.settings.recording.clips.max_export_s,
        )
    except ExportRefused as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _clip_out(clip)


@router.post("/clips/{clip_id}/export", response_model=ClipOut)
def export_clip(
    clip_id: Annotated[str, Path(min_length=32, max_length=32)], body: StoredExportIn, node: Node, who: Reader
) -> ClipOut:
    """Hand out a stored clip (e.g. an event clip) for the caller; audited."""
    storage, redactor = _parts(node)
    assert node.data_center is not None
    with node.engine.connect() as conn:
        found = clip_by_id(conn, clip_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such clip")
    ensure_camera_visible(who, found.camera_id)
    try:
        clip = export_stored_clip(
            node.engine,
            storage,
            node.data_center.recording.clip_dir,
            actor=who.username,
            permissions=who.permissions,
            clip_id=clip_id,
            reason=body.reason,
            unredacted=body.unredacted,
            redactor=redactor,
        )
    except ExportRefused as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    return _clip_out(clip)


@router.get(
    "/segments/{segment_id}/video",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}}}, 206: {"description": "Partial content (Range)"}},
)
def segment_video(
    segment_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    db: DbSession,
    node: Node,
    who: Viewer,
) -> Response:
    """The stored MP4 of one segment (unredacted, so media:unredacted); Range requests answer 206."""
    with node.engine.connect() as conn:
        row = conn.execute(
            select(SEGMENTS.c.camera_id, SEGMENTS.c.key, SEGMENTS.c.status).where(SEGMENTS.c.id == segment_id)
        ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such segment")
    ensure_camera_visible(who, row.camera_id)
    if row.status == SegmentStatus.MISSING.value:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the segment's file is gone")
    try:
        path = node.media.path_for(row.key)
        if path is not None and not path.is_file():
            raise MediaNotFoundError(row.key)
        data = None if path is not None else node.media.get(row.key)
    except MediaNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the segment's file is gone") from exc
    # every response is audited, whatever its Range, once per viewing session (not per chunk)
    details = {"camera_id": row.camera_id, "via": who.via, "range": request.headers.get("range", "")[:64]}
    viewing_sessions(node.engine).record(
        db.connection(), who.credential_id, who.username, "recording.view", f"segment:{segment_id}", details
    )
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if path is not None:
        return FileResponse(path, media_type="video/mp4", headers=headers)
    assert data is not None
    return Response(data, media_type="video/mp4", headers=headers)
