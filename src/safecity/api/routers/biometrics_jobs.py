"""Retrospective face search as a background job (`safecity.api.jobs`): start it, poll its progress, cancel
it. The search runs in a child process (`safecity.biometrics.search_process`: dlib holds the GIL), so the
API answers everyone while it scans thousands of snapshots.
Same rules as `POST /api/biometrics/search` (authorization, cameras, time range, audit): the policy is
checked before the job is queued (403 at once), the search itself is audited when it ends or is cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.jobs import Job, JobCancelled, TooManyJobs, close_runner, job_runner
from safecity.api.routers._operations import actor, translated
from safecity.api.routers.biometrics import _bio, _photo_template, _refused
from safecity.app import App
from safecity.biometrics.common import Actor
from safecity.biometrics.schemas import SearchResult
from safecity.biometrics.search import SearchCancelled, SearchRequest, check_request
from safecity.biometrics.search_process import SearchSpec, run_search_process
from safecity.vision.faces import discard

router = APIRouter(prefix="/biometrics", tags=["biometrics"])
Searcher = Annotated[Principal, Depends(require("biometrics:search"))]


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
            _refused(node, who, details, str(exc.detail))
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


def on_stop(node: App) -> None:
    """Service shutdown: running searches stop at their next snapshot."""
    close_runner(node.engine)
