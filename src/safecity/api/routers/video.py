"""Pictures of a camera: the latest frame (to draw lines and zones on) and live annotated MJPEG."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse

from safecity.api.annotate import BOUNDARY, draw_geometry, jpeg_stream
from safecity.api.camera_service import grab_image, latest_image
from safecity.api.camera_store import to_config
from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.routers.cameras import visible_camera
from safecity.api.schemas import CameraId
from safecity.media.snapshots import encode_jpeg

router = APIRouter(prefix="/cameras", tags=["cameras"])
NO_STORE = {"Cache-Control": "no-store"}
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}}


@router.get("/{camera_id}/snapshot.jpg", response_class=Response, responses=JPEG)
def snapshot(
    camera_id: CameraId,
    db: DbSession,
    node: Node,
    who: Annotated[Principal, Depends(require("cameras:read"))],
    overlay: bool = False,
) -> Response:
    """The latest analysed frame, in source pixels: the coordinates lines and zones are drawn in.
    `overlay=true` draws the current ones. With no worker running the camera here, a camera manager gets
    one frame straight from the source (to draw on a new or disabled camera); others get 404."""
    cfg = to_config(visible_camera(db, who, camera_id))
    image = latest_image(node, camera_id)
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
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"camera {camera_id!r} has no frame: {exc}",
                headers={"Retry-After": "5"},
            ) from exc
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
    node: Node,
    who: Annotated[Principal, Depends(require("live:view"))],
) -> StreamingResponse:
    """Annotated live video (boxes, track ids, lines, zones) as MJPEG, at most the analysis rate."""
    ensure_camera_visible(who, camera_id)
    worker = node.workers.get(camera_id)
    if worker is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} is not running here")
    stopping = getattr(request.app.state, "stopping", None)
    stream = jpeg_stream(
        worker,
        node.settings.api.mjpeg_max_fps,
        request.is_disconnected,
        stopping=stopping.is_set if stopping is not None else (lambda: False),
    )
    return StreamingResponse(
        stream, media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=NO_STORE
    )
