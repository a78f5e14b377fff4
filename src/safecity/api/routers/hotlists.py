"""Vehicle hotlists under lawful authorization (`hotlists:manage`) and the two-person confirmation of their
hits (`plates:review`). Authorizations are those of face matching (`safecity.biometrics.authorizations`)
with scope `vehicles`; every action is audited by the services (`safecity.plates.hotlists`, `.hits`).
A hit's read text and plate crop are shown only to reviewers, and every view of the crop is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.routers._operations import IdPath, actor, translated
from safecity.biometrics import authorizations as auths
from safecity.biometrics.models import MatchStatus, Scope, VehiclePurpose
from safecity.biometrics.schemas import AuthorizationPublic, Dispatch, MatchReview, Reason, ReviewPublic
from safecity.media.storage import MediaNotFoundError
from safecity.plates import hits as ht
from safecity.plates import hotlists as hl
from safecity.plates.models import PlateHitRow

router = APIRouter(prefix="/hotlists", tags=["hotlists"])
Manager = Annotated[Principal, Depends(require("hotlists:manage"))]
Reviewer = Annotated[Principal, Depends(require(ht.REVIEW_PERMISSION))]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
VEHICLES = Scope.VEHICLES.value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class VehicleAuthorizationCreate(_In):
    issuer: str = Field(..., min_length=1, max_length=200, description="Issuing authority")
    reference: str = Field(..., min_length=1, max_length=128, description="Order / case reference")
    purpose: VehiclePurpose
    cameras: list[str] = Field(..., min_length=1, max_length=1000)
    starts_at: datetime
    ends_at: datetime
    notes: str = Field("", max_length=4000)


class HotlistCreate(_In):
    name: str = Field(..., min_length=1, max_length=128)
    description: str = Field("", max_length=4000)
    cameras: list[str] = Field(..., min_length=1, max_length=1000)
    fuzzy: bool = Field(False, description="Also raise reads differing only by look-alikes (flagged fuzzy)")


class HotlistUpdate(_In):
    description: str | None = Field(None, max_length=4000)
    cameras: list[str] | None = Field(None, min_length=1, max_length=1000)
    fuzzy: bool | None = None


class EntryCreate(_In):
    plate: str = Field(..., min_length=1, max_length=32, description="As written; case and spaces ignored")
    label: str = Field(..., min_length=1, max_length=200, description="Why listed (stolen, AMBER alert...)")
    source: str = Field(..., min_length=1, max_length=300, description="Report or case it comes from")
    expires_at: datetime


class Activate(_In):
    authorization_id: int = Field(..., ge=1)


class HotlistEntryPublic(_Out):
    id: int
    plate: str
    label: str
    source: str
    expires_at: datetime
    added_at: datetime
    added_by: str
    removed_at: datetime | None
    removed_by: str | None
    remove_reason: str | None


class HotlistPublic(_Out):
    id: int
    name: str
    description: str
    cameras: list[str]
    fuzzy: bool
    status: str
    authorization_id: int | None
    created_at: datetime
    created_by: str
    activated_at: datetime | None
    activated_by: str | None
    stopped_at: datetime | None
    stop_reason: str | None


class HotlistDetail(HotlistPublic):
    entries: list[HotlistEntryPublic]


class HitPublic(_Out):
    id: int
    hotlist_id: int
    entry_id: int
    camera_id: str
    track_id: int | None
    seen_at: datetime
    plate: str | None = Field(description="The read text (None once rejected)")
    listed: str = Field(description="The plate on the hotlist")
    fuzzy: bool = Field(description="A look-alike, not an exact match")
    confidence: float
    status: str
    has_crop: bool
    acted_at: datetime | None
    acted_by: str | None


class HitDetail(HitPublic):
    reviews: list[ReviewPublic]


def _hit(row: PlateHitRow) -> HitPublic:
    fields = {k: getattr(row, k) for k in HitPublic.model_fields if k != "has_crop"}
    return HitPublic(**fields, has_crop=row.crop_key is not None)


# --- authorizations (scope `vehicles`) ----------------------------------------------------------------


@router.get("/authorizations", response_model=list[AuthorizationPublic])
def list_authorizations(db: DbSession, who: Manager) -> list[AuthorizationPublic]:
    return [AuthorizationPublic.model_validate(a) for a in auths.list_authorizations(db, VEHICLES)]


@router.post("/authorizations", response_model=AuthorizationPublic, status_code=status.HTTP_201_CREATED)
def create_authorization(
    body: VehicleAuthorizationCreate, db: DbSession, node: Node, who: Manager
) -> AuthorizationPublic:
    data = auths.AuthorizationInput(
        body.issuer,
        body.reference,
        body.purpose.value,
        body.cameras,
        body.starts_at,
        body.ends_at,
        body.notes,
        scope=VEHICLES,
    )
    with translated():
        row = auths.create_authorization(db, data, actor(who), node.settings.biometrics)
        return AuthorizationPublic.model_validate(row)


@router.post("/authorizations/{authorization_id}/revoke", response_model=AuthorizationPublic)
def revoke_authorization(
    authorization_id: IdPath, body: Reason, db: DbSession, who: Manager
) -> AuthorizationPublic:
    """Revoke: the hotlists under it stop matching at once on this node (within `hotlist_refresh_s` on
    the others)."""
    with translated():
        row = auths.revoke_authorization(db, authorization_id, body.reason, actor(who), VEHICLES)
        return AuthorizationPublic.model_validate(row)


# --- hits: the two-person confirmation ------------------------------------------------------------------


@router.get("/hits", response_model=list[HitPublic])
def list_hits(
    db: DbSession,
    who: Reviewer,
    status_: Annotated[MatchStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HitPublic]:
    rows = ht.list_hits(db, status_.value if status_ else None, who.cameras, limit)
    return [_hit(r) for r in rows]


@router.get("/hits/{hit_id}", response_model=HitDetail)
def get_hit(hit_id: IdPath, db: DbSession, who: Reviewer) -> HitDetail:
    with translated():
        row = ht.get_hit(db, hit_id, who.cameras)
        reviews = [ReviewPublic.model_validate(r) for r in ht.reviews_of(db, row.id)]
        return HitDetail(**_hit(row).model_dump(), reviews=reviews)


@router.get("/hits/{hit_id}/crop", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def hit_crop(hit_id: IdPath, db: DbSession, node: Node, who: Reviewer) -> Response:
    """The plate crop the reviewer compares with the read text (every view audited)."""
    with translated():
        key = ht.view_crop(db, hit_id, actor(who), who.cameras)
    db.commit()  # audited before a byte is sent
    try:
        return Response(node.media.get(key), media_type="image/jpeg", headers=NO_STORE)
    except (MediaNotFoundError, ValueError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the plate crop is gone") from exc


@router.post("/hits/{hit_id}/review", response_model=HitPublic)
def review_hit(hit_id: IdPath, body: MatchReview, db: DbSession, who: Reviewer) -> HitPublic:
    """Confirm that the read matches the plate crop, or reject it as a misread (one review per person)."""
    with translated():
        ht.get_hit(db, hit_id, who.cameras)
        return _hit(ht.review_hit(db, hit_id, body.confirm, body.note, actor(who), who.permissions))


@router.post("/hits/{hit_id}/dispatch", response_model=HitPublic)
def dispatch_hit(hit_id: IdPath, body: Dispatch, db: DbSession, who: Reviewer) -> HitPublic:
    """Act on a hit: refused (403) until two different people confirmed it."""
    with translated():
        ht.get_hit(db, hit_id, who.cameras)
        return _hit(ht.dispatch_hit(db, hit_id, body.note, actor(who), who.permissions))


# --- hotlists and entries -------------------------------------------------------------------------------


def _detail(db: DbSession, hotlist_id: int) -> HotlistDetail:
    row = hl.get_hotlist(db, hotlist_id)
    entries = [HotlistEntryPublic.model_validate(e) for e in hl.entries_of(db, row.id)]
    return HotlistDetail(**HotlistPublic.model_validate(row).model_dump(), entries=entries)


@router.get("", response_model=list[HotlistPublic])
def list_hotlists(db: DbSession, node: Node, who: Manager) -> list[HotlistPublic]:
    with node.session() as s:  # stops what is due before showing the state
        hl.sweep(s)
        s.commit()
    db.expire_all()
    return [HotlistPublic.model_validate(h) for h in hl.list_hotlists(db)]


@router.post("", response_model=HotlistPublic, status_code=status.HTTP_201_CREATED)
def create_hotlist(body: HotlistCreate, db: DbSession, who: Manager) -> HotlistPublic:
    with translated():
        row = hl.create_hotlist(db, body.name, body.description, body.cameras, body.fuzzy, actor(who))
        return HotlistPublic.model_validate(row)


@router.get("/{hotlist_id}", response_model=HotlistDetail)
def get_hotlist(hotlist_id: IdPath, db: DbSession, who: Manager) -> HotlistDetail:
    with translated():
        return _detail(db, hotlist_id)


@router.patch("/{hotlist_id}", response_model=HotlistPublic)
def update_hotlist(hotlist_id: IdPath, body: HotlistUpdate, db: DbSession, who: Manager) -> HotlistPublic:
    with translated():
        row = hl.update_hotlist(db, hotlist_id, actor(who), body.description, body.cameras, body.fuzzy)
        return HotlistPublic.model_validate(row)


@router.post("/{hotlist_id}/entries", response_model=list[HotlistEntryPublic], status_code=201)
def add_entries(
    hotlist_id: IdPath,
    body: Annotated[list[EntryCreate], Field(min_length=1, max_length=10000)],
    db: DbSession,
    node: Node,
    who: Manager,
) -> list[HotlistEntryPublic]:
    """Add plates (one or many; all or none)."""
    items = [hl.HotlistEntryInput(e.plate, e.label, e.source, e.expires_at) for e in body]
    with translated():
        rows = hl.add_entries(db, hotlist_id, items, actor(who), node.settings.plates)
        return [HotlistEntryPublic.model_validate(r) for r in rows]


@router.post("/entries/{entry_id}/remove", response_model=HotlistEntryPublic)
def remove_entry(entry_id: IdPath, body: Reason, db: DbSession, who: Manager) -> HotlistEntryPublic:
    with translated():
        return HotlistEntryPublic.model_validate(hl.remove_entry(db, entry_id, body.reason, actor(who)))


@router.post("/{hotlist_id}/activate", response_model=HotlistPublic)
def activate(hotlist_id: IdPath, body: Activate, db: DbSession, who: Manager) -> HotlistPublic:
    """Start matching under an authorization of scope `vehicles` (not by the person who recorded it)."""
    with translated():
        return HotlistPublic.model_validate(hl.activate(db, hotlist_id, body.authorization_id, actor(who)))


@router.post("/{hotlist_id}/stop", response_model=HotlistPublic)
def stop(hotlist_id: IdPath, body: Reason, db: DbSession, who: Manager) -> HotlistPublic:
    with translated():
        return HotlistPublic.model_validate(hl.stop(db, hotlist_id, body.reason, actor(who)))
