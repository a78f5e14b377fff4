"""Face matching under lawful authorization: authorizations, watchlists and entries, thresholds, the match
review queue with its two-person rule, retrospective search, unblurred media (reports: biometrics_oversight).

Every route requires a permission; every action is audited by the services (safecity.biometrics). Photos
uploaded to enrol an entry or to search are decoded in memory, turned into one template and dropped: the
photo is never stored. Responses never contain a template.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Response, UploadFile, status
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.routers._operations import IdPath, actor, translated
from safecity.api.uploads import PHOTO_LIMITS, decode_upload
from safecity.app import App
from safecity.biometrics import authorizations as auths
from safecity.biometrics import matches as mt
from safecity.biometrics import thresholds as th
from safecity.biometrics import watchlists as wl
from safecity.biometrics.common import log_action
from safecity.biometrics.models import MatchRow, MatchStatus
from safecity.biometrics.runtime import Biometrics, original_key
from safecity.biometrics.schemas import (
    Activate,
    AuthorizationCreate,
    AuthorizationPublic,
    Dispatch,
    EntryPublic,
    ImportItem,
    MatchDetail,
    MatchPublic,
    MatchReview,
    Note,
    Reason,
    ReviewPublic,
    SearchHitPublic,
    SearchResult,
    ThresholdChangePublic,
    ThresholdRequest,
    UrgentStart,
    WatchlistCreate,
    WatchlistDetail,
    WatchlistPublic,
)
from safecity.biometrics.search import SearchRequest, retrospective_search, single_face_template
from safecity.media.storage import MediaNotFoundError
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, discard
from safecity.vision.models import ModelNotInstalledError

router = APIRouter(prefix="/biometrics", tags=["biometrics"])
Manager = Annotated[Principal, Depends(require("watchlists:manage"))]
Reviewer = Annotated[Principal, Depends(require("biometrics:review"))]
Searcher = Annotated[Principal, Depends(require("biometrics:search"))]
Approver = Annotated[Principal, Depends(require("thresholds:approve"))]
Unredacted = Annotated[Principal, Depends(require("media:unredacted"))]
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_IMPORT_PHOTOS = 50  # one bulk import request's photos (each is a face-model pass)
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _bio(node: App) -> Biometrics:
    if node.biometrics is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "biometrics are not running on this node")
    return node.biometrics


def _models(node: App) -> tuple[CenterFaceDetector, FaceEmbedder]:
    try:
        return _bio(node).models.get()
    except ModelNotInstalledError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


async def _photo_template(node: App, photo: UploadFile, client: str = "-") -> np.ndarray:
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "photo larger than 10 MiB")
    detector, embedder = _models(node)
    image = await decode_upload(data, photo.content_type, PHOTO_LIMITS, client)
    with translated():
        try:  # on a worker thread: face models never block the event loop (every other client)
            return await run_in_threadpool(single_face_template, image, detector, embedder)
        finally:
            discard(image)


# --- authorizations ---------------------------------------------------------------------------------


@router.get("/authorizations", response_model=list[AuthorizationPublic])
def list_authorizations(db: DbSession, who: Manager) -> list[AuthorizationPublic]:
    return [AuthorizationPublic.model_validate(a) for a in auths.list_authorizations(db)]


@router.post("/authorizations", response_model=AuthorizationPublic, status_code=status.HTTP_201_CREATED)
def create_authorization(
    body: AuthorizationCreate, db: DbSession, node: Node, who: Manager
) -> AuthorizationPublic:
    data = auths.AuthorizationInput(
        body.issuer,
        body.reference,
        body.purpose.value,
        body.cameras,
        body.starts_at,
        body.ends_at,
        body.notes,
    )
    with translated():
        return AuthorizationPublic.model_validate(
            auths.create_authorization(db, data, actor(who), node.settings.biometrics)
        )


@router.post("/authorizations/{authorization_id}/revoke", response_model=AuthorizationPublic)
def revoke_authorization(
    authorization_id: IdPath, body: Reason, db: DbSession, who: Manager
) -> AuthorizationPublic:
    with translated():
        return AuthorizationPublic.model_validate(
            auths.revoke_authorization(db, authorization_id, body.reason, actor(who), "faces")
        )


# --- watchlists -------------------------------------------------------------------------------------


def _detail(db: Session, watchlist_id: int) -> WatchlistDetail:
    from sqlalchemy import select

    from safecity.biometrics.models import EntryRow

    row = wl.get_watchlist(db, watchlist_id)
    entries = db.scalars(select(EntryRow).where(EntryRow.watchlist_id == row.id).order_by(EntryRow.id))
    return WatchlistDetail(
        **WatchlistPublic.model_validate(row).model_dump(),
        entries=[EntryPublic.model_validate(e) for e in entries],
    )


@router.get("/watchlists", response_model=list[WatchlistPublic])
def list_watchlists(db: DbSession, node: Node, who: Manager) -> list[WatchlistPublic]:
    _bio(node).registry.refresh()  # stops and purges what is due before showing the state
    db.expire_all()
    return [WatchlistPublic.model_validate(w) for w in wl.list_watchlists(db)]


@router.get("/watchlists/{watchlist_id}", response_model=WatchlistDetail)
def get_watchlist(watchlist_id: IdPath, db: DbSession, who: Manager) -> WatchlistDetail:
    with translated():
        return _detail(db, watchlist_id)


@router.post("/watchlists", response_model=WatchlistPublic, status_code=status.HTTP_201_CREATED)
def create_watchlist(body: WatchlistCreate, db: DbSession, node: Node, who: Manager) -> WatchlistPublic:
    with translated():
        row = wl.create_watchlist(
            db, body.name, body.description, body.cameras, actor(who), node.settings.biometrics
        )
        return WatchlistPublic.model_validate(row)


@router.post("/watchlists/{watchlist_id}/entries", response_model=list[EntryPublic], status_code=201)
async def add_entry(
    watchlist_id: IdPath,
    db: DbSession,
    node: Node,
    who: Manager,
    photo: Annotated[UploadFile, File()],
    label: Annotated[str, Form(min_length=1, max_length=200)],
    source: Annotated[str, Form(min_length=1)],
    legal_basis: Annotated[str, Form(min_length=1)],
    expires_at: Annotated[datetime, Form()],
    source_registry: Annotated[str | None, Form()] = None,
) -> list[EntryPublic]:
    """Enrol one person from one photo (exactly one face); the photo is not kept, only its template."""
    with translated():  # database work off the event loop (it would stall every other request)
        await run_in_threadpool(wl.get_watchlist, db, watchlist_id)
    template = await _photo_template(node, photo, f"user:{who.user_id}")
    data = wl.EntryInput(label, source, legal_basis, expires_at, source_registry)
    with translated():
        try:
            rows = await run_in_threadpool(
                wl.add_entries, db, watchlist_id, [(data, template)], actor(who), node.settings.biometrics
            )
        finally:
            discard(template)
        return [EntryPublic.model_validate(r) for r in rows]


@router.post("/watchlists/{watchlist_id}/import", response_model=list[EntryPublic], status_code=201)
async def bulk_import(
    watchlist_id: IdPath,
    db: DbSession,
    node: Node,
    who: Manager,
    photos: Annotated[list[UploadFile], File()],
    manifest: Annotated[
        str,
        Form(
            description="JSON list, one "
            "item per photo: label, source, source_registry, legal_basis, expires_at"
        ),
    ],
) -> list[EntryPublic]:
    """Bulk import: refused unless every item comes from a verified source registry."""
    try:
        items = [ImportItem.model_validate(i) for i in json.loads(manifest)]
    except (ValueError, ValidationError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"manifest: {exc}") from exc
    if len(photos) > MAX_IMPORT_PHOTOS:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_IMPORT_PHOTOS} photos per import: split it"
        )
    if len(items) != len(photos) or not items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "one manifest item per photo")
    config = node.settings.biometrics
    with translated():
        await run_in_threadpool(wl.get_watchlist, db, watchlist_id)
        wl.check_bulk_sources([i.source_registry for i in items], config)  # before any photo is decoded
    templates = [await _photo_template(node, p, f"user:{who.user_id}") for p in photos]
    entries = [
        (wl.EntryInput(i.label, i.source, i.legal_basis, i.expires_at, i.source_registry), t)
        for i, t in zip(items, templates, strict=True)
    ]
    with translated():
        try:
            rows = await run_in_threadpool(wl.add_entries, db, watchlist_id, entries, actor(who), config)
        finally:
            discard(*templates)
        return [EntryPublic.model_validate(r) for r in rows]


@router.post("/entries/{entry_id}/remove", response_model=EntryPublic)
def remove_entry(entry_id: IdPath, body: Reason, db: DbSession, who: Manager) -> EntryPublic:
    with translated():
        return EntryPublic.model_validate(wl.remove_entry(db, entry_id, body.reason, actor(who)))


@router.post("/watchlists/{watchlist_id}/review", response_model=WatchlistPublic)
def review_watchlist(watchlist_id: IdPath, body: Note, db: DbSession, who: Manager) -> WatchlistPublic:
    with translated():
        return WatchlistPublic.model_validate(wl.review_watchlist(db, watchlist_id, body.note, actor(who)))


@router.post("/watchlists/{watchlist_id}/activate", response_model=WatchlistPublic)
def activate(watchlist_id: IdPath, body: Activate, db: DbSession, who: Manager) -> WatchlistPublic:
    with translated():
        return WatchlistPublic.model_validate(
            wl.activate(db, watchlist_id, body.authorization_id, actor(who))
        )


@router.post("/watchlists/{watchlist_id}/urgent", response_model=WatchlistPublic)
def start_urgent(
    watchlist_id: IdPath, body: UrgentStart, db: DbSession, node: Node, who: Manager
) -> WatchlistPublic:
    with translated():
        row = wl.start_urgent(db, watchlist_id, body.justification, actor(who), node.settings.biometrics)
        return WatchlistPublic.model_validate(row)


@router.post("/watchlists/{watchlist_id}/authorize", response_model=WatchlistPublic)
def attach_authorization(
    watchlist_id: IdPath, body: Activate, db: DbSession, node: Node, who: Manager
) -> WatchlistPublic:
    with translated():
        row = wl.attach_authorization(
            db, watchlist_id, body.authorization_id, actor(who), node.settings.biometrics
        )
        return WatchlistPublic.model_validate(row)


@router.post("/watchlists/{watchlist_id}/stop", response_model=WatchlistPublic)
def stop(watchlist_id: IdPath, body: Reason, db: DbSession, node: Node, who: Manager) -> WatchlistPublic:
    """Stop a watchlist; an urgent start without authorization is purged (matches and crops deleted)."""
    delete = node.biometrics.sealed.delete if node.biometrics is not None else None
    with translated():
        return WatchlistPublic.model_validate(
            wl.stop(db, watchlist_id, body.reason, actor(who), delete_media=delete)
        )


# --- thresholds -------------------------------------------------------------------------------------


@router.post("/watchlists/{watchlist_id}/threshold", response_model=ThresholdChangePublic, status_code=201)
def request_threshold(
    watchlist_id: IdPath, body: ThresholdRequest, db: DbSession, node: Node, who: Manager
) -> ThresholdChangePublic:
    with translated():
        row = th.request_threshold(
            db, watchlist_id, body.value, body.reason, actor(who), node.settings.biometrics
        )
        return ThresholdChangePublic.model_validate(row)


@router.get("/thresholds", response_model=list[ThresholdChangePublic])
def list_threshold_changes(db: DbSession, who: Approver) -> list[ThresholdChangePublic]:
    return [ThresholdChangePublic.model_validate(c) for c in th.list_changes(db)]


@router.post("/thresholds/{change_id}/approve", response_model=ThresholdChangePublic)
def approve_threshold(change_id: IdPath, db: DbSession, who: Approver) -> ThresholdChangePublic:
    with translated():
        return ThresholdChangePublic.model_validate(th.decide_threshold(db, change_id, True, actor(who)))


@router.post("/thresholds/{change_id}/reject", response_model=ThresholdChangePublic)
def reject_threshold(change_id: IdPath, db: DbSession, who: Approver) -> ThresholdChangePublic:
    with translated():
        return ThresholdChangePublic.model_validate(th.decide_threshold(db, change_id, False, actor(who)))


# --- matches ----------------------------------------------------------------------------------------


def _match(row: MatchRow) -> MatchPublic:
    return MatchPublic(
        **{k: getattr(row, k) for k in MatchPublic.model_fields if k != "has_crop"},
        has_crop=row.crop_key is not None,
    )


@router.get("/matches", response_model=list[MatchPublic])
def list_matches(
    db: DbSession,
    who: Reviewer,
    status_: Annotated[MatchStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MatchPublic]:
    return [_match(m) for m in mt.list_matches(db, status_, who.cameras, limit)]


@router.get("/matches/{match_id}", response_model=MatchDetail)
def get_match(match_id: IdPath, db: DbSession, who: Reviewer) -> MatchDetail:
    with translated():
        row = mt.get_match(db, match_id, who.cameras)
        reviews = [ReviewPublic.model_validate(r) for r in mt.reviews_of(db, row.id)]
        return MatchDetail(**_match(row).model_dump(), reviews=reviews)


@router.get(
    "/matches/{match_id}/crop", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}}
)
def match_crop(match_id: IdPath, db: DbSession, node: Node, who: Reviewer) -> Response:
    """The face crop a reviewer compares with the listed person (every view audited)."""
    with translated():
        key = mt.view_crop(db, match_id, actor(who), who.cameras)
    try:
        return Response(_bio(node).sealed.get(key), media_type="image/jpeg", headers=NO_STORE)
    except MediaNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the face crop is gone") from exc


@router.post("/matches/{match_id}/review", response_model=MatchPublic)
def review_match(
    match_id: IdPath, body: MatchReview, db: DbSession, node: Node, who: Reviewer
) -> MatchPublic:
    """Confirm or reject; a rejected match's face crop is deleted at once."""
    delete = _bio(node).sealed.delete
    with translated():
        mt.get_match(db, match_id, who.cameras)
        row = mt.review_match(db, match_id, body.confirm, body.note, actor(who), who.permissions, delete)
        return _match(row)


@router.post("/matches/{match_id}/dispatch", response_model=MatchPublic)
def dispatch_match(match_id: IdPath, body: Dispatch, db: DbSession, who: Reviewer) -> MatchPublic:
    with translated():
        mt.get_match(db, match_id, who.cameras)
        return _match(mt.dispatch_match(db, match_id, body.note, actor(who), who.permissions))


# --- retrospective search, unblurred media ---------------------------------------------------------------


async def _refused(node: App, who: Principal, details: dict[str, object], reason: str) -> None:
    """Audit a refused search from an async route: the write runs on a worker thread, never blocking the
    event loop (every other client's requests and live pushes) on the database."""
    await run_in_threadpool(_write_refusal, node, who, details, reason)


def _write_refusal(node: App, who: Principal, details: dict[str, object], reason: str) -> None:
    with node.session() as db:  # the request's own transaction rolls back; the refusal is still audited
        log_action(
            db,
            actor(who),
            "biometrics.search.refused",
            f"authorization:{details.get('authorization')}",
            {**details, "refused": reason},
        )
        db.commit()


@router.post("/search", response_model=SearchResult)
async def search(
    db: DbSession,
    node: Node,
    who: Searcher,
    photo: Annotated[UploadFile, File()],
    authorization_id: Annotated[int, Form(ge=1)],
    cameras: Annotated[str, Form(description="Comma-separated")],
    start: Annotated[datetime, Form()],
    end: Annotated[datetime, Form()],
    reason: Annotated[str, Form(min_length=1)],
    threshold: Annotated[float | None, Form(gt=0, lt=1)] = None,
) -> SearchResult:
    cams = [c.strip() for c in cameras.split(",") if c.strip()]
    if who.cameras is not None and not set(cams) <= who.cameras:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no access to some of these cameras")
    req = SearchRequest(authorization_id, cams, start, end, reason, threshold)
    details: dict[str, object] = {
        "authorization": authorization_id,
        "cameras": cams,
        "start": str(start),
        "end": str(end),
        "reason": reason,
    }
    probe = await _photo_template(node, photo, f"user:{who.user_id}")
    bio = _bio(node)
    try:
        with translated():
            row, hits = await run_in_threadpool(
                retrospective_search,
                db,
                req,
                probe,
                actor(who),
                node.settings.biometrics,
                bio.sealed,
                _models(node),
            )
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            await _refused(node, who, details, str(exc.detail))
        raise
    finally:
        discard(probe)
    return SearchResult(
        search_id=row.id,
        snapshots_scanned=row.snapshots_scanned,
        faces_compared=row.faces_compared,
        hits=[
            SearchHitPublic(event_id=h.event_id, camera_id=h.camera_id, at=h.at, score=h.score) for h in hits
        ],
    )


@router.get(
    "/unredacted/{key:path}", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}}
)
def unredacted(key: str, db: DbSession, node: Node, who: Unredacted, reason: str = "") -> Response:
    """The unblurred original of a snapshot (kept only under `redaction.keep_originals`); audited."""
    parts = key.split("/")
    camera = parts[1] if len(parts) > 2 else ""
    if not who.can_see_camera(camera):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media")
    try:
        data = _bio(node).sealed.get(original_key(key))
    except (MediaNotFoundError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no unblurred original kept for this snapshot"
        ) from exc
    log_action(db, actor(who), "media.unblurred_view", f"media:{key}", {"reason": reason, "camera": camera})
    db.commit()  # audited before a byte is sent
    return Response(data, media_type="image/jpeg", headers=NO_STORE)
