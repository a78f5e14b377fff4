"""Retrospective face search and bulk enrolment as background jobs (`safecity.api.jobs`): start one, poll
its progress, cancel it. The face work runs in a child process (`safecity.biometrics.search_process`,
`template_process`: dlib holds the GIL), so the API answers everyone meanwhile. Same rules as
`POST /api/biometrics/search` and `/import` (authorization, cameras, time range, verified sources, audit):
the policy is checked before a job is queued (4xx at once); the work is audited when it ends or is
cancelled.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from safecity.api.deps import DbSession, Node, Principal
from safecity.api.jobs import Job, JobCancelled, TooManyJobs, close_runner, job_runner
from safecity.api.routers._operations import IdPath, actor, translated
from safecity.api.routers.biometrics import (
    MAX_IMPORT_PHOTOS,
    MAX_PHOTO_BYTES,
    Manager,
    Searcher,
    _bio,
    _photo_template,
    _refused,
)
from safecity.app import App
from safecity.biometrics import watchlists as wl
from safecity.biometrics.common import Actor
from safecity.biometrics.schemas import ImportItem, SearchResult
from safecity.biometrics.search import SearchCancelled, SearchRequest, check_request
from safecity.biometrics.search_process import SearchSpec, run_search_process
from safecity.biometrics.template_process import TemplatesCancelled, templates_in_process
from safecity.vision.faces import discard

router = APIRouter(prefix="/biometrics", tags=["biometrics"])


def _manifest(manifest: str, photos: int) -> list[ImportItem]:
    if photos > MAX_IMPORT_PHOTOS:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_IMPORT_PHOTOS} photos per import: split it"
        )
    try:
        items = [ImportItem.model_validate(i) for i in json.loads(manifest)]
    except (ValueError, ValidationError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"manifest: {exc}") from exc
    if len(items) != photos or not items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "one manifest item per photo")
    return items


async def _photo_bytes(photo: UploadFile) -> bytes:
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "photo larger than 10 MiB")
    return data


class JobPublic(BaseModel):
    id: str
    kind: str
    status: str = Field(description="queued | running | done | failed | cancelled")
    done: int = Field(description="Snapshots handled so far")
    total: int = Field(description="Snapshots in the search's range (0 until it starts)")
    result: SearchResult | None
    error: str | None


def _public(job: Job) -> JobPublic:
    result = SearchResult.model_validate(job.result) if job.result is not None else None
    return JobPublic(
        id=job.id, kind=job.kind, status=job.status, done=job.done, total=job.total, result=result,
        error=job.error,
    )  # fmt: skip


def _work(node: App, req: SearchRequest, probe: Any, who: Actor) -> Any:
    bio = _bio(node)
    settings = node.settings
    spec = SearchSpec(
        database_url=settings.storage.resolved_database_url,
        sealed_dir=bio.sealed.root,
        cache_dir=bio.cache_dir,
        config=settings.biometrics,
        request=req,
        probe=probe,
        actor=who,
    )

    def work(job: Job) -> dict[str, Any]:
        try:
            result = run_search_process(spec, job.step)
        except SearchCancelled as exc:
            raise JobCancelled(str(exc)) from exc
        finally:
            discard(probe)
        return SearchResult.model_validate(result).model_dump(mode="json")

    return work


@router.post("/search/jobs", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED)
async def start_search(
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
) -> JobPublic:
    """Queue a retrospective search; poll `GET /api/biometrics/search/jobs/{id}` for progress and hits."""
    cams = [c.strip() for c in cameras.split(",") if c.strip()]
    if who.cameras is not None and not set(cams) <= who.cameras:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no access to some of these cameras")
    req = SearchRequest(authorization_id, cams, start, end, reason, threshold)
    try:
        with translated():
            await run_in_threadpool(check_request, db, req, node.settings.biometrics)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            details = {"authorization": authorization_id, "cameras": cams, "reason": reason}
            await _refused(node, who, details, str(exc.detail))
        raise
    probe = await _photo_template(node, photo)
    try:
        job = job_runner(node.engine).submit("search", who.user_id, _work(node, req, probe, actor(who)))
    except TooManyJobs as exc:
        discard(probe)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    return _public(job)


def _own_job(node: App, who: Principal, job_id: str) -> Job:
    job = job_runner(node.engine).get(job_id, who.user_id)
    if job is None or job.kind != "search":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no job {job_id!r}")
    return job


@router.get("/search/jobs/{job_id}", response_model=JobPublic)
def search_job(job_id: str, node: Node, who: Searcher) -> JobPublic:
    """A search job's status, progress and (when done) hits; only its owner sees it."""
    return _public(_own_job(node, who, job_id))


@router.post("/search/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_search_job(job_id: str, node: Node, who: Searcher) -> JobPublic:
    """Ask a running search to stop at its next snapshot (what it scanned is audited)."""
    _own_job(node, who, job_id)
    job = job_runner(node.engine).cancel(job_id, who.user_id)
    assert job is not None
    return _public(job)


class ImportJobPublic(BaseModel):
    id: str
    status: str = Field(description="queued | running | done | failed | cancelled")
    done: int = Field(description="Photos turned into templates so far")
    total: int
    entry_ids: list[int] | None
    error: str | None


def _import_public(job: Job) -> ImportJobPublic:
    ids = None if job.result is None else [int(i) for i in job.result["entry_ids"]]
    return ImportJobPublic(
        id=job.id, status=job.status, done=job.done, total=job.total, entry_ids=ids, error=job.error
    )


def _import_work(
    node: App, watchlist_id: int, items: list[ImportItem], photos: list[bytes], who: Actor
) -> Any:
    cache, config = _bio(node).cache_dir, node.settings.biometrics

    def work(job: Job) -> dict[str, Any]:
        try:
            templates = templates_in_process(
                cache, config.threads, photos, job.step, flip=config.flip_average, hog_box=config.hog_box
            )
        except TemplatesCancelled as exc:
            raise JobCancelled(str(exc)) from exc
        try:
            entries = [
                (wl.EntryInput(i.label, i.source, i.legal_basis, i.expires_at, i.source_registry), t)
                for i, t in zip(items, templates, strict=True)
            ]
            with node.session() as db:
                rows = wl.add_entries(db, watchlist_id, entries, who, config)
                ids = [r.id for r in rows]
                db.commit()
        finally:
            discard(templates)
        return {"entry_ids": ids}

    return work


@router.post(
    "/watchlists/{watchlist_id}/import/jobs",
    response_model=ImportJobPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
async def start_import(
    watchlist_id: IdPath,
    db: DbSession,
    node: Node,
    who: Manager,
    photos: Annotated[list[UploadFile], File()],
    manifest: Annotated[str, Form(description="JSON list, one item per photo (as for /import)")],
) -> ImportJobPublic:
    """Enrol people from photos in the background (the rules of `/import`); poll for the entries."""
    items = _manifest(manifest, len(photos))
    with translated():  # database work off the event loop
        await run_in_threadpool(wl.get_watchlist, db, watchlist_id)
        wl.check_bulk_sources([i.source_registry for i in items], node.settings.biometrics)
    data = [await _photo_bytes(p) for p in photos]
    work = _import_work(node, watchlist_id, items, data, actor(who))
    try:
        return _import_public(job_runner(node.engine).submit("import", who.user_id, work))
    except TooManyJobs as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc


@router.get("/import/jobs/{job_id}", response_model=ImportJobPublic)
def import_job(job_id: str, node: Node, who: Manager) -> ImportJobPublic:
    job = job_runner(node.engine).get(job_id, who.user_id)
    if job is None or job.kind != "import":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no import job {job_id!r}")
    return _import_public(job)


@router.post("/import/jobs/{job_id}/cancel", response_model=ImportJobPublic)
def cancel_import_job(job_id: str, node: Node, who: Manager) -> ImportJobPublic:
    job = job_runner(node.engine).get(job_id, who.user_id)
    if job is None or job.kind != "import":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no import job {job_id!r}")
    job_runner(node.engine).cancel(job_id, who.user_id)
    return _import_public(job)


def on_stop(node: App) -> None:
    """Service shutdown: running searches stop at their next snapshot."""
    close_runner(node.engine)
