"""Federated sites (safecity.federation, docs/federation.md).

National site: the national view (`/api/federation/sites|alerts|incidents|handoffs|analytics`,
federation:read: aggregates and redacted summaries only) and media requests to a city
(federation:request). City site: its federation inbox, handing incidents to other cities and answering
handoffs and media requests (federation:act). A route of the other mode answers 409 with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.app import App
from safecity.federation.city import CityAgent
from safecity.federation.errors import FederationError
from safecity.federation.handoff import CityInbox
from safecity.federation.messages import SITE_ID
from safecity.federation.models import FedAlertRow, FedHandoffRow, FedIncidentRow, FedMediaRequestRow
from safecity.federation.national import NationalSite
from safecity.federation.runtime import attach_federation
from safecity.federation.views import OPEN_ALERTS, NationalAnalytics, SiteOverview, analytics, overview
from safecity.operations.domain import Actor, OperationsError

router = APIRouter(prefix="/federation", tags=["federation"])
Reader = Annotated[Principal, Depends(require("federation:read"))]
Requester = Annotated[Principal, Depends(require("federation:request"))]
Actor_ = Annotated[Principal, Depends(require("federation:act"))]
Site = Annotated[str | None, Query(pattern=SITE_ID, description="One site only")]


def on_start(node: App) -> None:
    node.federation = attach_federation(node)


def on_stop(node: App) -> None:
    site = node.federation
    if isinstance(site, CityAgent | NationalSite):
        site.close()
    node.federation = None


def _national(node: App) -> NationalSite:
    if not isinstance(node.federation, NationalSite):
        raise HTTPException(status.HTTP_409_CONFLICT, "this site is not a national site (federation.mode)")
    return node.federation


def _city(node: App) -> CityInbox:
    if not isinstance(node.federation, CityAgent):
        raise HTTPException(status.HTTP_409_CONFLICT, "this site is not a federated city (federation.mode)")
    return node.federation.inbox


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except (FederationError, OperationsError) as exc:
        raise HTTPException(exc.http_status, str(exc)) from exc


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AlertOut(_Out):
    site: str
    alert_id: int
    alert_kind: str
    severity: str
    status: str
    title: str
    camera_id: str | None
    zone_id: str | None
    lat: float | None
    lon: float | None
    count: int | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    closed_at: datetime | None


class IncidentOut(_Out):
    site: str
    incident_id: int
    title: str
    type: str
    priority: str
    status: str
    camera_id: str | None
    lat: float | None
    lon: float | None
    created_at: datetime
    dispatched_at: datetime | None
    closed_at: datetime | None


class HandoffOut(_Out):
    handoff_id: str
    from_site: str
    to_site: str
    state: str
    incident_id: int
    remote_incident_id: int | None
    title: str
    type: str
    priority: str
    reason: str
    requested_by: str
    requested_at: datetime
    answered_by: str | None
    answered_at: datetime | None


class MediaRequestOut(_Out):
    request_id: str
    site: str
    incident_id: int
    media: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    redacted_url: str | None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MediaRequestIn(_In):
    site: str = Field(pattern=SITE_ID, description="The city asked")
    incident_id: int = Field(ge=1, le=2_147_483_647, description="The incident at that city")
    media: Literal["snapshot", "clip"]
    reason: str = Field(min_length=3, max_length=500, description="Why (the city's users read it)")


class HandoffIn(_In):
    incident_id: int = Field(ge=1, le=2_147_483_647)
    to_site: str = Field(pattern=SITE_ID, description="The city that takes the incident over")
    reason: str = Field(min_length=3, max_length=500)


class AnswerIn(_In):
    accept: bool
    note: str = Field("", max_length=500)


class DecisionIn(_In):
    approve: bool
    note: str = Field("", max_length=500)


# -- national view -----------------------------------------------------------------------------------


@router.get("/sites", response_model=list[SiteOverview])
def sites(node: Node, db: DbSession, who: Reader) -> list[SiteOverview]:
    _national(node)
    return overview(db, datetime.now(UTC))


@router.get("/alerts", response_model=list[AlertOut])
def alerts(
    node: Node,
    db: DbSession,
    who: Reader,
    site: Site = None,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FedAlertRow]:
    _national(node)
    q = select(FedAlertRow).order_by(FedAlertRow.last_seen.desc()).limit(limit)
    if site:
        q = q.where(FedAlertRow.site == site)
    if open_only:
        q = q.where(FedAlertRow.status.in_(OPEN_ALERTS))
    return list(db.scalars(q))


@router.get("/incidents", response_model=list[IncidentOut])
def incidents(
    node: Node,
    db: DbSession,
    who: Reader,
    site: Site = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FedIncidentRow]:
    _national(node)
    q = select(FedIncidentRow).order_by(FedIncidentRow.created_at.desc()).limit(limit)
    if site:
        q = q.where(FedIncidentRow.site == site)
    return list(db.scalars(q))


@router.get("/handoffs", response_model=list[HandoffOut])
def handoffs(node: Node, db: DbSession, who: Reader) -> list[FedHandoffRow]:
    if node.federation is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "federation is off on this site (federation.mode)")
    return list(db.scalars(select(FedHandoffRow).order_by(FedHandoffRow.requested_at.desc()).limit(500)))


@router.get("/analytics", response_model=NationalAnalytics)
def national_analytics(
    node: Node, db: DbSession, who: Reader, hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24
) -> NationalAnalytics:
    _national(node)
    return analytics(db, datetime.now(UTC) - timedelta(hours=hours))


@router.get("/media-requests", response_model=list[MediaRequestOut])
def media_requests(node: Node, db: DbSession, who: Reader) -> list[FedMediaRequestRow]:
    if node.federation is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "federation is off on this site (federation.mode)")
    q = select(FedMediaRequestRow).order_by(FedMediaRequestRow.requested_at.desc()).limit(500)
    return list(db.scalars(q))


@router.post("/media-requests", status_code=201)
def request_media(node: Node, body: MediaRequestIn, who: Requester) -> dict[str, str]:
    with translated():
        rid = _national(node).request_media(
            body.site, body.incident_id, body.media, body.reason, who.username
        )
    return {"request_id": rid}


# -- city side ---------------------------------------------------------------------------------------


@router.post("/handoffs", status_code=201)
def hand_off(node: Node, body: HandoffIn, who: Actor_) -> dict[str, str]:
    with translated():
        hid = _city(node).request_handoff(
            body.incident_id, body.to_site, body.reason, Actor(who.user_id, who.username)
        )
    return {"handoff_id": hid}


@router.post("/handoffs/{handoff_id}/answer")
def answer(
    node: Node, handoff_id: Annotated[str, Path(max_length=64)], body: AnswerIn, who: Actor_
) -> dict[str, int | None]:
    with translated():
        local = _city(node).answer_handoff(
            handoff_id, body.accept, Actor(who.user_id, who.username), body.note
        )
    return {"incident_id": local}


@router.post("/media-requests/{request_id}/decision")
def decide(
    node: Node, request_id: Annotated[str, Path(max_length=64)], body: DecisionIn, who: Actor_
) -> dict[str, str]:
    with translated():
        d = _city(node).decide_media(request_id, body.approve, Actor(who.user_id, who.username), body.note)
    return {"decision": d.decision}
