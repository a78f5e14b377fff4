"""Stored media (event snapshots) by key (media:read). A key names its camera in its second segment
(`snapshots/<camera>/<day>/<event>.jpg`), and the caller must have access to that camera."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.responses import FileResponse

from safecity.api.deps import Node, Principal, ensure_camera_visible, require
from safecity.media.storage import MediaNotFoundError, normalize_key

router = APIRouter(prefix="/media", tags=["media"])
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".mp4": "video/mp4"}
HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}


def _key_and_camera(key: str) -> tuple[str, str]:
    try:
        normalized = normalize_key(key)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"invalid media key: {exc}") from exc
    parts = normalized.split("/")
    if len(parts) < 3:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media")
    return normalized, unquote(parts[1])


@router.get(
    "/{key:path}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 400: {"description": "Invalid key"}},
)
def media(key: str, node: Node, who: Annotated[Principal, Depends(require("media:read"))]) -> Response:
    normalized, camera_id = _key_and_camera(key)
    ensure_camera_visible(who, camera_id)
    media_type = TYPES.get(PurePosixPath(normalized).suffix.lower(), "application/octet-stream")
    try:
        path = node.media.path_for(normalized)
        if path is not None:
            if not path.is_file():
                raise MediaNotFoundError(normalized)
            return FileResponse(path, media_type=media_type, headers=HEADERS)
        return Response(node.media.get(normalized), media_type=media_type, headers=HEADERS)
    except MediaNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media") from exc
    except ValueError as exc:  # a key that resolves outside the storage root (symlink)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid media key") from exc
