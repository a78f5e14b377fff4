"""Messages on an incident between the control room and its units: text and an optional photo, stored as
`message` entries of the incident's append-only timeline.

A photo is sanitised like a public report's (decoded, re-encoded without metadata) and stored twice: as
taken, and with faces and plates blurred (`safecity.api.photo_privacy`). Who lacks `media:unredacted` only
ever gets the blurred copy; the original is for privileged, audited views (the API writes the audit entry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.media.storage import MediaStorage
from safecity.operations.config import ReportsConfig
from safecity.operations.domain import (
    ACTIVE_DISPATCH,
    Actor,
    ConflictError,
    InvalidError,
    NotFoundError,
    TimelineKind,
)
from safecity.operations.incidents import add_timeline
from safecity.operations.models import DispatchRow, FieldUnitRow, IncidentRow, TimelineRow
from safecity.operations.reports import ReportRejected, sanitize_photo

PREFIX = "messages"
PHOTO_ID = r"^[0-9a-f]{32}$"


class Redactor(Protocol):
    def redact(self, image: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Sender:
    """Who writes: the control room (an operator) or a unit (its account, on a dispatch)."""

    actor: Actor
    unit: FieldUnitRow | None = None


def photo_keys(incident_id: int, photo_id: str) -> tuple[str, str]:
    """(original, blurred) media keys of a message photo."""
    base = f"{PREFIX}/{incident_id}/{photo_id}"
    return f"{base}.jpg", f"{base}-blurred.jpg"


def store_photo(
    media: MediaStorage, incident_id: int, data: bytes, max_bytes: int, redactor: Redactor
) -> str:
    """Sanitise, blur (faces, plates: `redactor`) and store both copies; returns the photo id.
    ReportRejected on a bad photo."""
    clean, _ = sanitize_photo(data, ReportsConfig(max_photo_bytes=max_bytes))
    image = cv2.imdecode(np.frombuffer(clean, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ReportRejected(415, "photo could not be decoded")
    original = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()
    blurred = cv2.imencode(".jpg", redactor.redact(image), [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()
    photo_id = uuid.uuid4().hex
    key, blurred_key = photo_keys(incident_id, photo_id)
    media.put(blurred_key, blurred)  # the blurred copy first: an original never exists alone
    media.put(key, original)
    return photo_id


def on_incident(db: Session, unit: FieldUnitRow, incident_id: int) -> DispatchRow:
    """The unit's latest dispatch to this incident (a unit writes only about incidents it was sent to)."""
    row = db.scalar(
        select(DispatchRow)
        .where(DispatchRow.unit_id == unit.id, DispatchRow.incident_id == incident_id)
        .order_by(DispatchRow.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFoundError(f"no incident {incident_id} for your unit")
    return row


def add_message(
    db: Session, incident: IncidentRow, sender: Sender, text: str, photo_id: str | None
) -> TimelineRow:
    if not text.strip() and photo_id is None:
        raise ConflictError("a message needs text or a photo")
    if "\x00" in text:
        raise InvalidError("text must not contain NUL characters")
    data: dict[str, object] = {"from": "unit" if sender.unit else "control", "photo": photo_id}
    if sender.unit is not None:
        data |= {"unit_id": sender.unit.id, "call_sign": sender.unit.call_sign}
    return add_timeline(db, incident, TimelineKind.MESSAGE, sender.actor, text.strip(), data)


def list_messages(db: Session, incident_id: int) -> list[TimelineRow]:
    return list(
        db.scalars(
            select(TimelineRow)
            .where(TimelineRow.incident_id == incident_id, TimelineRow.kind == TimelineKind.MESSAGE.value)
            .order_by(TimelineRow.at, TimelineRow.id)
        )
    )


def get_message(db: Session, incident_id: int, message_id: int) -> TimelineRow:
    row = db.get(TimelineRow, message_id)
    if row is None or row.incident_id != incident_id or row.kind != TimelineKind.MESSAGE.value:
        raise NotFoundError(f"no message {message_id} on incident {incident_id}")
    return row


def recipients(db: Session, incident_id: int) -> list[int]:
    """Accounts of the units on the incident now (active dispatches): they get its messages live."""
    active = [s.value for s in ACTIVE_DISPATCH]
    rows = db.scalars(
        select(FieldUnitRow.user_id)
        .join(DispatchRow, DispatchRow.unit_id == FieldUnitRow.id)
        .where(DispatchRow.incident_id == incident_id, DispatchRow.status.in_(active))
    )
    return sorted({u for u in rows if u is not None})
