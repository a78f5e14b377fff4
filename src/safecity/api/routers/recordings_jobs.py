"""Clip export as a background job (`safecity.api.jobs`): a redacted export re-encodes every frame through
the face redactor, which can take minutes; the request only queues it. Same rules and audit as
`POST /api/recordings/{camera}/export` (a refused unredacted export is audited and the job fails with the
reason). Poll `GET /api/recordings/export/jobs/{id}`; only the user who started it sees it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from safecity.api.deps import Node, Principal, ensure_camera_visible, require
from safecity.api.jobs import Job, TooManyJobs, job_runner
from safecity.api.routers.recordings import CameraId, ClipOut, ExportIn, _clip_out, _parts, _utc
from safecity.recording.export import export_range

router = APIRouter(prefix="/recordings", tags=["recordings"])
Reader = Annotated[Principal, Depends(require("media:read"))]


class ExportJobPublic(BaseModel):
    id: str
    status: str = Field(description="queued | running | done | failed | cancelled")
    done: int
    total: int
    result: ClipOut | None
    error: str | None


def _public(job: Job) -> ExportJobPublic:
    result = ClipOut.model_validate(job.result) if job.result is not None else None
    return ExportJobPublic(
        id=job.id, status=job.status, done=job.done, total=job.total, result=result, error=job.error
    )


@router.post("/{camera_id}/export/jobs", response_model=ExportJobPublic, status_code=status.HTTP_202_ACCEPTED)
def start_export(camera_id: CameraId, body: ExportIn, node: Node, who: Reader) -> ExportJobPublic:
    """Queue a clip export of [start, end]; the job's result is the clip (as `POST .../export` returns)."""
    ensure_camera_visible(who, camera_id)
    storage, redactor = _parts(node)
    assert node.data_center is not None
    clip_dir = node.data_center.recording.clip_dir
    start, end = _utc(body.start), _utc(body.end)
    max_s = node.settings.recording.clips.max_export_s
    if end <= start or (end - start).total_seconds() > max_s:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"an export covers a positive range of at most {max_s:g} s"
        )

    def work(job: Job) -> dict[str, Any]:
        job.step(0, 1)
        clip = export_range(
            node.engine, storage, clip_dir, actor=who.username, permissions=who.permissions,
            camera_id=camera_id, start=start, end=end, reason=body.reason, unredacted=body.unredacted,
            redactor=redactor, max_seconds=max_s,
        )  # fmt: skip
        job.step(1, 1)
        return _clip_out(clip).model_dump(mode="json")

    try:
        return _public(job_runner(node.engine).submit("export", who.user_id, work))
    except TooManyJobs as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc


@router.get("/export/jobs/{job_id}", response_model=ExportJobPublic)
def export_job(job_id: str, node: Node, who: Reader) -> ExportJobPublic:
    job = job_runner(node.engine).get(job_id, who.user_id)
    if job is None or job.kind != "export":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no export job {job_id!r}")
    return _public(job)
