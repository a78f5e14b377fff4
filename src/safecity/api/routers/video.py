"""Pictures of a camera: the latest frame (to draw lines and zones on) and live annotated MJPEG."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safecity.api.annotate import BOUNDARY, draw_geometry, jpeg_stream
from safecity.api.camera_service import grab_image
from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.live_privacy import UNREDACTED, mask_live, record_live_view
from safecity.api.revalidate import Revalidator, grant_batcher
from safecity.api.routers.cameras import visible_camera
from safecity.api.schemas import CameraId
from safecity.app import App
from safecity.media.face_redaction import default_redactor
from safecity.media.plate_redaction import vehicle_boxes
from safecity.media.snapshots import encode_jpeg
from safecity.plates.runtime import Plates
from safecity.store.cameras import to_config

log = logging.getLogger(__name__)
router = APIRouter(prefix="/cameras", tags=["cameras"])
NO_STORE = {"Cache-Control": "no-store"}
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}}


def node_plates(node: App) -> Plates | None:
    """The node's plate parts (live plate masking), None on a node without cameras."""
    return node.factory.plates if node.factory is not None else None


def _check_unredacted(
    db: Session, node: App, who: Principal, camera_id: str, unredacted: bool, *, stream: bool
) -> None:
    """An unmasked live picture needs media:unredacted; granted ones are audited once per viewing session."""
    if not unredacted:
        return
    if not who.has(UNREDACTED):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"unmasked live view needs {UNREDACTED}")
    record_live_view(db.connection(), node.engine, who, camera_id, stream=stream)


@router.get("/{camera_id}/snapshot.jpg", response_class=Response, responses=JPEG)
def snapshot(
    camera_id: CameraId,
    db: DbSession,
    node: Node,
    who: Annotated[Principal, Depends(require("cameras:read"))],
    overlay: bool = False,
    unredacted: bool = False,
) -> Response:
    """The latest analysed frame, in source pixels: the coordinates lines and zones are drawn in.
    `overlay=true` draws the current ones. With no worker running the camera here, a camera manager gets
    one frame straight from the source (to draw on a new or disabled camera); others get 404.
    People's heads and vehicles' plates are masked; `unredacted=true` needs `media:unredacted` and is
    audited."""
    cfg = to_config(visible_camera(db, who, camera_id))
    _check_unredacted(db, node, who, camera_id, unredacted, stream=False)
    worker = node.workers.get(camera_id)
    analysis = worker.latest if worker is not None else None
    image = None if analysis is None else analysis.frame.image
    if image is None and not who.has("cameras:manage"):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"camera {camera_id!r} has no frame: it is not running here",
            headers={"Retry-After": "5"},
        )
    if image is None:  # a manager drawing on a camera that does not run (yet): ask its source once
        try:
            image = grab_image(cfg)
        except Exception as exc:  # any source failure: the camera has no picture to give now
            # what the source said stays in the log: an error text must not reveal a file or a service
            log.warning("camera %s: no frame from its source: %s", camera_id, exc)
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"camera {camera_id!r} has no frame: its source gave none (details in the server log)",
                headers={"Retry-After": "5"},
            ) from exc
        if not unredacted:  # no tracks for a frame grabbed from the source: find faces and vehicles here
            plates = node_plates(node)
            vehicles = np.zeros((0, 4), np.float32)
            if plates is not None and plates.config.redact:
                vehicles = vehicle_boxes(node.detector.detect(image))
            image = default_redactor().redact(image)
            if plates is not None and len(vehicles):
                image = plates.redactor.redact(image, vehicles)
    elif not unredacted:
        assert analysis is not None
        image = mask_live(analysis, node_plates(node))
    if overlay:
        image = draw_geometry(image.copy(), cfg)
    return Response(encode_jpeg(image, 90), media_type="image/jpeg", headers=NO_STORE)


@router.get(
    "/{camera_id}/live.mjpeg",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
)
async def live(
    camera_id: CameraId,
    request: Request,
    db: DbSession,
    node: Node,
    who: Annotated[Principal, Depends(require("live:view"))],
    unredacted: bool = False,
) -> StreamingResponse:
    """Annotated live video (boxes, track ids, lines, zones) as MJPEG, at most the analysis rate.
    People's heads and vehicles' plates are masked; `unredacted=true` needs `media:unredacted` and is
    audited once per stream.
    The stream ends within a second when the viewer's rights change (disabled, demoted, logged out)."""
    ensure_camera_visible(who, camera_id)
    worker = node.workers.get(camera_id)
    if worker is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} is not running here")
    revalidator = Revalidator(node.session, who, batcher=grant_batcher(request.app.state, node.session))
    if not await run_in_threadpool(revalidator.open):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "credential no longer valid")
    await run_in_threadpool(_check_unredacted, db, node, who, camera_id, unredacted, stream=True)
    stopping = getattr(request.app.state, "stopping", None)
    stream = jpeg_stream(
        worker,
        node.settings.api.mjpeg_max_fps,
        request.is_disconnected,
        mask=not unredacted,
        plates=node_plates(node),
        allowed=revalidator.still_allowed,
        stopping=stopping.is_set if stopping is not None else (lambda: False),
    )
    return StreamingResponse(
        stream, media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=NO_STORE
    )
