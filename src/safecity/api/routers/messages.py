"""Messages on an incident between the control room and its units (text and an optional photo).

Control room: `/api/incidents/{id}/messages` (read: incidents:read, write: incidents:write). A unit:
`/api/field/dispatches/{id}/messages` (field:respond, its own dispatches only; writing needs the dispatch
to be open). A photo is served face-blurred; the original only to `media:unredacted` with
`?original=true`, and that view is audited. Every message is pushed live (`message`) to the control room
and to the accounts of the units on the incident. Posting takes an `Idempotency-Key` header (the field
app's offline queue replays).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Response, UploadFile, status
from pydantic import BaseModel

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.photo_privacy import photo_redactor
from safecity.api.routers._operations import IdPath, actor, translated
from safecity.api.routers.field_ops import IdempotencyKey, finish, own_unit
from safecity.app import App
from safecity.governance import audit
from safecity.media.storage import MediaNotFoundError
from safecity.operations import dispatch as dispatch_service
from safecity.operations import field_units
from safecity.operations import incidents as incident_service
from safecity.operations import messages as service
from safecity.operations.domain import ACTIVE_DISPATCH, ConflictError
from safecity.operations.models import IncidentRow, TimelineRow
from safecity.operations.reports import ReportRejected

router = APIRouter(tags=["messages"])
Reader = Annotated[Principal, Depends(require("incidents:read"))]
Writer = Annotated[Principal, Depends(require("incidents:write"))]
Responder = Annotated[Principal, Depends(require("field:respond"))]
UNREDACTED = "media:unredacted"
Text = Annotated[str, Form(max_length=4000, description="The message text (may be empty with a photo)")]


class MessagePublic(BaseModel):
    id: int
    incident_id: int
    at: datetime
    sender: str
    origin: str  # control | unit
    call_sign: str | None
    text: str
    has_photo: bool


def view(row: TimelineRow) -> MessagePublic:
    return MessagePublic(
        id=row.id, incident_id=row.incident_id, at=row.at, sender=row.actor, origin=row.data.get("from", ""),
        call_sign=row.data.get("call_sign"), text=row.message, has_photo=bool(row.data.get("photo")),
    )  # fmt: skip


def _photo_id(node: App, incident_id: int, photo: UploadFile | None) -> str | None:
    if photo is None:
        return None
    cap = node.settings.field.max_message_photo_bytes
    data = photo.file.read(cap + 1)  # spooled to disk by the form parser: read in this worker thread
    if not data:
        return None
    try:
        return service.store_photo(node.media, incident_id, data, cap, photo_redactor(node))
    except ReportRejected as exc:
        raise HTTPException(exc.status, f"photo: {exc.reason}") from exc


def _post(
    db: DbSession, node: App, who: Principal, incident: IncidentRow, sender: service.Sender, text: str,
    photo_id: str | None, key: str | None,
) -> dict[str, Any]:  # fmt: skip
    with translated():
        row = service.add_message(db, incident, sender, text, photo_id)
    out = view(row)
    users = service.recipients(db, incident.id)
    answer = finish(db, who, key, "message", out)
    with contextlib.suppress(Exception):  # best effort: the message is stored
        node.live.broadcast("message", answer, incident.camera_id, permission="incidents:read", users=users)
    return answer


def _photo(node: App, who: Principal, row: TimelineRow, original: bool) -> Response:
    photo_id = row.data.get("photo")
    if not photo_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"message {row.id} has no photo")
    key, blurred = service.photo_keys(row.incident_id, str(photo_id))
    if original:
        if not who.has(UNREDACTED):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the original photo needs {UNREDACTED}")
        with node.engine.begin() as conn:
            audit.append(conn, who.username, "media.view_unredacted", key, {"incident_id": row.incident_id})
    try:
        data = node.media.get(key if original else blurred)
    except MediaNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "photo not found") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


Original = Annotated[bool, Query(description=f"The unblurred original (needs {UNREDACTED}; audited)")]


# --- control room -----------------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/messages", response_model=list[MessagePublic])
def list_messages(incident_id: IdPath, db: DbSession, who: Reader) -> list[MessagePublic]:
    with translated():
        incident_service.get_incident(db, incident_id, who.cameras)
    return [view(r) for r in service.list_messages(db, incident_id)]


@router.post("/incidents/{incident_id}/messages", response_model=MessagePublic, status_code=201)
def send_message(
    incident_id: IdPath, db: DbSession, node: Node, who: Writer, text: Text = "",
    photo: UploadFile | None = None, key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """A message to the units on the incident (multipart form: `text`, optional `photo` JPEG/PNG)."""
    if (first := field_units.replayed(db, who.user_id, key)) is not None:
        return first
    with translated():
        incident = incident_service.get_incident(db, incident_id, who.cameras)
    photo_id = _photo_id(node, incident.id, photo)
    sender = service.Sender(actor(who))
    return _post(db, node, who, incident, sender, text, photo_id, key)


@router.get("/incidents/{incident_id}/messages/{message_id}/photo", response_class=Response)
def message_photo(
    incident_id: IdPath,
    message_id: IdPath,
    db: DbSession,
    node: Node,
    who: Reader,
    original: Original = False,
) -> Response:
    with translated():
        incident_service.get_incident(db, incident_id, who.cameras)
        row = service.get_message(db, incident_id, message_id)
    db.commit()  # end the request's transaction (a token's last use) before the audit write
    return _photo(node, who, row, original)


# --- field unit -------------------------------------------------------------------------------------


@router.get("/field/dispatches/{dispatch_id}/messages", response_model=list[MessagePublic])
def field_messages(dispatch_id: IdPath, db: DbSession, who: Responder) -> list[MessagePublic]:
    with translated():
        dispatch = dispatch_service.own_dispatch(db, dispatch_id, who.user_id)
    return [view(r) for r in service.list_messages(db, dispatch.incident_id)]


@router.post("/field/dispatches/{dispatch_id}/messages", response_model=MessagePublic, status_code=201)
def field_send(
    dispatch_id: IdPath, db: DbSession, node: Node, who: Responder, text: Text = "",
    photo: UploadFile | None = None, key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """A message (and photo) from the unit to the control room on one of its open dispatches."""
    if (first := field_units.replayed(db, who.user_id, key)) is not None:
        return first
    with translated():
        dispatch = dispatch_service.own_dispatch(db, dispatch_id, who.user_id)
        if dispatch.status not in {s.value for s in ACTIVE_DISPATCH}:
            raise ConflictError(f"dispatch {dispatch_id} is closed; messages go to open dispatches")
        incident = incident_service.get_incident(db, dispatch.incident_id)
    photo_id = _photo_id(node, incident.id, photo)
    sender = service.Sender(actor(who), own_unit(db, who))
    return _post(db, node, who, incident, sender, text, photo_id, key)


@router.get("/field/dispatches/{dispatch_id}/messages/{message_id}/photo", response_class=Response)
def field_photo(
    dispatch_id: IdPath,
    message_id: IdPath,
    db: DbSession,
    node: Node,
    who: Responder,
    original: Original = False,
) -> Response:
    with translated():
        dispatch = dispatch_service.own_dispatch(db, dispatch_id, who.user_id)
        row = service.get_message(db, dispatch.incident_id, message_id)
    db.commit()  # end the request's transaction (a token's last use) before the audit write
    return _photo(node, who, row, original)
