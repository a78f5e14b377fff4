"""Reports from the public: the unauthenticated form under /api/public/ and the triage queue (reports:triage).

`POST /api/public/reports` takes a multipart (or url-encoded) form: category, description, lat+lon or
camera_id, observed_at, optional contact, optional photo. The body is read through a size cap, so a huge
upload is refused while it streams (413) instead of being spooled first. Each client address gets
`operations.reports.rate_limit` submissions per window (429 with Retry-After). Rejections are 4xx with a
reason: 400 malformed form, 413 too large, 415 not a form / photo not JPEG or PNG, 422 bad fields.

Triage sees reports on no camera or on a camera in its access list (others are 404), and photos with
faces blurred (`safecity.operations.report_photos`); the original needs media:unredacted, audited.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.photo_privacy import photo_redactor
from safecity.api.routers._operations import (
    IdPath,
    Ops,
    Since,
    Until,
    actor,
    commit,
    publish,
    translated,
    utc,
)
from safecity.api.viewing import viewing_sessions
from safecity.app import App
from safecity.media.safe_image import ImageRejected, check_content_type, client_slot
from safecity.media.storage import MediaNotFoundError
from safecity.operations import reports as service
from safecity.operations.catalogue import REPORT_CATEGORIES
from safecity.operations.config import ReportsConfig
from safecity.operations.domain import ReportStatus
from safecity.operations.incident_schemas import IncidentSummary
from safecity.operations.models import PublicReportRow
from safecity.operations.report_photos import original_key, store_report_photo
from safecity.operations.schemas import (
    CameraPin,
    PublicReportCreate,
    PublicReportReceipt,
    ReportOptions,
    ReportPublic,
    ReportTriage,
)
from safecity.operations.views import report_view
from safecity.store.cameras import get_camera, list_cameras

router = APIRouter(tags=["reports"])
Triager = Annotated[Principal, Depends(require("reports:triage"))]
FORM_OVERHEAD = 64 * 1024  # the text fields and multipart boundaries around the photo
UNREDACTED = "media:unredacted"
FORM_TYPES = (b"multipart/form-data", b"application/x-www-form-urlencoded")


def _form_schema() -> dict[str, Any]:
    schema = PublicReportCreate.model_json_schema()
    schema["properties"]["photo"] = {"type": "string", "format": "binary", "description": "JPEG or PNG"}
    body = {"schema": schema}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": body}}}


REJECTIONS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed form"},
    413: {"description": "Body or photo too large"},
    415: {"description": "Not a form, or the photo is not a JPEG or PNG"},
    429: {"description": "Too many reports from this address; see Retry-After"},
}


def _rate_limit(request: Request, ops: Ops) -> None:
    key = request.client.host if request.client else "unknown"
    retry = ops.report_limiter.retry_after(key)
    if retry is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many reports from this address; try again later",
            headers={"Retry-After": str(math.ceil(retry))},
        )
    ops.report_limiter.hit(key)


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {limit} bytes")
        yield chunk


async def _read_form(request: Request, cfg: ReportsConfig) -> FormData:
    from python_multipart.multipart import parse_options_header

    limit = cfg.max_photo_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {limit} bytes")
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    if content_type not in FORM_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send multipart/form-data")
    stream = _capped(request, limit)
    try:
        if content_type == FORM_TYPES[0]:
            return await MultiPartParser(request.headers, stream, max_files=1, max_fields=16).parse()
        return await FormParser(request.headers, stream, max_fields=16).parse()
    except MultiPartException as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed form: {exc.message}") from exc


async def _fields(form: FormData, cfg: ReportsConfig) -> tuple[dict[str, str], bytes | None]:
    fields: dict[str, str] = {}
    photo: bytes | None = None
    for name, value in form.multi_items():
        if name in fields or (name == "photo" and photo is not None):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: given more than once")
        if isinstance(value, UploadFile):
            if name != "photo":
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: a file is not expected")
            try:
                check_content_type(value.content_type)
            except ImageRejected as exc:
                raise HTTPException(exc.status, exc.reason) from exc
            data = await value.read(cfg.max_photo_bytes + 1)
            photo = data or None  # a form whose file input was left empty sends an empty part
        elif name == "photo":
            if value:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "photo: must be a file upload")
        elif value != "":
            fields[name] = value
    return fields, photo


def _validate(fields: dict[str, str]) -> PublicReportCreate:
    try:
        return PublicReportCreate.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc


def _save(node: App, data: PublicReportCreate, photo: bytes | None, cfg: ReportsConfig) -> ReportPublic:
    """Blocking part (photo decoding, storage, database): runs in the thread pool."""
    try:
        observed = service.check_report(data, cfg)
        clean = service.sanitize_photo(photo, cfg) if photo is not None else None
    except service.ReportRejected as exc:
        raise HTTPException(exc.status, exc.reason) from exc
    with node.session() as db:
        if data.camera_id is not None and get_camera(db, data.camera_id) is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"camera_id: no camera {data.camera_id!r}"
            )
        redactor = photo_redactor(node)
        key = store_report_photo(node.media, *clean, observed, redactor) if clean is not None else None
        row = service.create_report(db, data, observed, key)
        out = report_view(row)
        db.commit()
    return out


@router.post(
    "/public/reports",
    response_model=PublicReportReceipt,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_form_schema(),
    responses=REJECTIONS,
)
async def submit_report(request: Request, node: Node, ops: Ops) -> PublicReportReceipt:
    """Report something to the command center (no account needed)."""
    _rate_limit(request, ops)
    cfg = ops.config.reports
    form = await _read_form(request, cfg)
    try:
        fields, photo = await _fields(form, cfg)
    finally:
        await form.close()
    data = _validate(fields)
    try:
        ip = request.client.host if request.client else "-"
        with client_slot(f"ip:{ip}") if photo is not None else contextlib.nullcontext():  # one decode each
            out = await run_in_threadpool(_save, node, data, photo, cfg)
    except ImageRejected as exc:
        raise HTTPException(exc.status, exc.reason) from exc
    publish(node, "report", out, out.camera_id)
    return PublicReportReceipt(id=out.id)


@router.get("/public/report-options", response_model=ReportOptions)
def report_options(db: DbSession, ops: Ops) -> ReportOptions:
    """What the public form offers: categories, limits, and the cameras that have a map position."""
    cfg = ops.config.reports
    cameras = [
        CameraPin(id=c.id, name=c.name or c.id, lat=c.lat, lon=c.lon)
        for c in list_cameras(db)
        if c.lat is not None and c.lon is not None  # a camera out of service is still a landmark
    ]
    return ReportOptions(
        categories=list(REPORT_CATEGORIES), max_description=2000, max_photo_bytes=cfg.max_photo_bytes,
        photo_types=list(service.PHOTO_FORMATS.values()), max_age_days=cfg.max_age_days, cameras=cameras,
    )  # fmt: skip


def _visible_report(db: DbSession, who: Principal, report_id: int) -> PublicReportRow:
    """The report, or 404 when it does not exist or is on a camera outside the caller's access list."""
    with translated():
        row = service.get_report(db, report_id)
    if row.camera_id is not None and not who.can_see_camera(row.camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {report_id}")
    return row


@router.get("/reports", response_model=list[ReportPublic])
def list_reports(
    db: DbSession,
    who: Triager,
    response: Response,
    status_: Annotated[ReportStatus | None, Query(alias="status")] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ReportPublic]:
    """The triage queue, newest first (`X-Total-Count` has the total); `since`/`until` filter on when
    the reporter says it happened."""
    rows, total = service.list_reports(db, status_, limit, offset, who.cameras, utc(since), utc(until))
    response.headers["X-Total-Count"] = str(total)
    return [report_view(r) for r in rows]


@router.get("/reports/{report_id}", response_model=ReportPublic)
def get_report(report_id: IdPath, db: DbSession, who: Triager) -> ReportPublic:
    return report_view(_visible_report(db, who, report_id))


@router.get(
    "/reports/{report_id}/photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def report_photo(
    report_id: IdPath, db: DbSession, node: Node, who: Triager, original: bool = False
) -> Response:
    """The report's photo with faces blurred (re-encoded, without metadata). `original=true` gives the
    unblurred one: it needs media:unredacted and is audited."""
    row = _visible_report(db, who, report_id)
    if row.photo_key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} has no photo")
    media_type = "image/png" if row.photo_key.endswith(".png") else "image/jpeg"
    key = row.photo_key
    if original:
        if not who.has(UNREDACTED):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the unblurred photo needs {UNREDACTED}")
        key = original_key(row.photo_key)
        details = {"camera_id": row.camera_id, "via": who.via, "report_id": row.id}
        sessions = viewing_sessions(node.engine)
        sessions.record(
            db.connection(), who.credential_id, who.username, "report.photo_original", key, details
        )
    try:
        data = node.media.get(key)
    except MediaNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the photo is no longer stored") from exc
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)


@router.post("/reports/{report_id}/triage", response_model=ReportPublic)
def triage(report_id: IdPath, body: ReportTriage, db: DbSession, node: Node, who: Triager) -> ReportPublic:
    """Dismiss the report, or open an incident from it (409 when it was already triaged)."""
    with translated():
        row, incident = service.triage(db, _visible_report(db, who, report_id), body, actor(who))
        out = report_view(row)
        summary = IncidentSummary.model_validate(incident) if incident is not None else None
        commit(db)
    if summary is not None:
        publish(node, "incident", summary, summary.camera_id)
    return out
