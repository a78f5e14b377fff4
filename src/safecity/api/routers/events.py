"""Event search (events:read), filtered by the caller's camera access list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from safecity.api.deps import DbSession, Principal, ensure_camera_visible, require
from safecity.api.events_query import count_visible, get_event, media_url, query_visible
from safecity.api.replies import json_reply
from safecity.api.schemas import EventPage, EventPublic
from safecity.bus.codec import event_to_dict
from safecity.store import EventQuery
from safecity.types import Event, EventKind

router = APIRouter(prefix="/events", tags=["events"])
Reader = Annotated[Principal, Depends(require("events:read"))]
Name = Annotated[str | None, Query(min_length=1, max_length=128)]


def public(event: Event) -> EventPublic:
    return EventPublic(**event_to_dict(event), snapshot_url=media_url(event.snapshot))


def _aware(value: datetime | None, name: str) -> datetime | None:
    """`value` in UTC (naive means UTC); 422 for a time that UTC cannot represent."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: out of range") from exc


@router.get("", response_model=EventPage)
def events(
    db: DbSession,
    who: Reader,
    camera_id: Name = None,
    kind: EventKind | None = None,
    label: Name = None,
    line_id: Name = None,
    zone_id: Name = None,
    since: Annotated[
        datetime | None, Query(description="Inclusive, on the event start (UTC if no offset)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Exclusive (UTC if no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Events, newest first, with the total matching count for paging."""
    if camera_id is not None:
        ensure_camera_visible(who, camera_id, hide=False)
    q = EventQuery(
        camera_id=camera_id,
        kind=kind,
        label=label,
        line_id=line_id,
        zone_id=zone_id,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        limit=limit,
        offset=offset,
    )
    conn = db.connection()
    items = query_visible(conn, q, who.cameras)
    total = count_visible(conn, q, who.cameras)
    return json_reply(EventPage(items=items, total=total, limit=limit, offset=offset), db)


@router.get("/{event_id}", response_model=EventPublic)
def event(event_id: Annotated[str, Path(max_length=64)], db: DbSession, who: Reader) -> EventPublic:
    found = get_event(db.connection(), event_id)
    if found is None or not who.can_see_camera(found.camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {event_id!r} not found")
    return public(found)
