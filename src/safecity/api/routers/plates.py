"""Plate read search (`plates:search`): exact or fuzzy, within the caller's camera access list, and
every search audited with who searched, for what plate, why, and how many reads it returned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict

from safecity.api.deps import DbSession, Principal, require
from safecity.governance import audit
from safecity.plates.search import PlateSearch, search_reads

router = APIRouter(prefix="/plates", tags=["plates"])
Searcher = Annotated[Principal, Depends(require("plates:search"))]


class PlateReadPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    event_id: str
    camera_id: str
    track_id: int
    plate: str
    confidence: float
    country: str
    direction: str
    seen_at: datetime


class PlateReadPage(BaseModel):
    items: list[PlateReadPublic]
    plate: str  # the normalized query
    fuzzy: bool


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "time out of range") from exc


@router.get("/reads", response_model=PlateReadPage)
def reads(
    db: DbSession,
    who: Searcher,
    plate: Annotated[
        str, Query(min_length=1, max_length=32, description="As written; case and spaces ignored")
    ],
    reason: Annotated[str, Query(min_length=3, max_length=500, description="Why (case number): audited")],
    fuzzy: Annotated[
        bool, Query(description="Also reads one character away (misread, dropped, added)")
    ] = False,
    camera_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PlateReadPage:
    """Stored plate reads of a plate, newest first. Non-hit reads are kept only for
    `plates.non_hit_retention_hours`, so older ones are not found."""
    cameras = who.cameras if camera_id is None else frozenset({camera_id}) & (who.cameras or {camera_id})
    q = PlateSearch(plate, fuzzy, cameras, _utc(since), _utc(until), limit)
    conn = db.connection()
    try:
        rows = search_reads(conn, q)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    details = {
        "plate": q.normalized,
        "fuzzy": fuzzy,
        "reason": reason,
        "camera_id": camera_id,
        "found": len(rows),
    }
    audit.append(conn, who.username, "plates.search", f"plate:{q.normalized}", details)
    db.commit()
    items = [
        PlateReadPublic(
            id=r.id,
            event_id=r.event_id,
            camera_id=r.camera_id,
            track_id=r.track_id,
            plate=r.plate,
            confidence=r.confidence,
            country=r.country,
            direction=r.direction,
            seen_at=r.seen_at,
        )
        for r in rows
    ]
    return PlateReadPage(items=items, plate=q.normalized, fuzzy=fuzzy)
