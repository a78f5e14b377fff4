"""Stored media by key. A key names its camera in its second segment (`snapshots/<camera>/<day>/<event>.jpg`),
and the caller must have access to that camera.

Snapshots are redacted when stored and redacted clip exports are blurred, so `media:read` opens them.
Everything else (recorded segments, unredacted clips, report photos) shows faces: it needs
`media:unredacted` and every view is written to the audit log (DESIGN.md, G12/G13), as the recordings
playback route does.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.responses import FileResponse
from sqlalchemy import select

from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.refusals import audit_refusal
from safecity.api.viewing import viewing_sessions
from safecity.app import App as NodeType
from safecity.media.storage import MediaNotFoundError, normalize_key
from safecity.operations.report_photos import ORIGINALS_PREFIX, REPORTS_PREFIX
from safecity.plates.models import CROPS_PREFIX as PLATE_CROPS_PREFIX
from safecity.recording.models import ClipRow

router = APIRouter(prefix="/media", tags=["media"])
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".mp4": "video/mp4"}
UNREDACTED = "media:unredacted"
# report photos are served by /api/reports/{id}/photo only; plate crops by no route yet (they are personal
# data of their own permission, plates:search, and never media:read)
NOT_HERE = frozenset({REPORTS_PREFIX, ORIGINALS_PREFIX, PLATE_CROPS_PREFIX})
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


def _shows_faces(node: NodeType, key: str) -> bool:
    prefix = key.split("/", 1)[0]
    if prefix == "snapshots":
        return False
    if prefix == "clips":
        with node.engine.connect() as conn:
            redacted = conn.execute(select(ClipRow.redacted).where(ClipRow.key == key)).scalar_one_or_none()
        return redacted is not True
    return True


@router.get(
    "/{key:path}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 400: {"description": "Invalid key"}},
)
def media(
    key: str, db: DbSession, node: Node, who: Annotated[Principal, Depends(require("media:read"))]
) -> Response:
    normalized, camera_id = _key_and_camera(key)
    if normalized.split("/", 1)[0] in NOT_HERE:  # their access depends on the report: see routers/reports
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media")
    ensure_camera_visible(who, camera_id)
    if _shows_faces(node, normalized):
        if not who.has(UNREDACTED):
            reason = f"this media is not redacted: it needs {UNREDACTED}"
            audit_refusal(node, who.username, UNREDACTED, f"GET /api/media/{normalized}", reason)
            raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
        # once per viewing session of this credential, whatever the Range (not once per chunk)
        details = {"camera_id": camera_id, "via": who.via}
        viewing_sessions(node.engine).record(
            db.connection(), who.credential_id, who.username, "media.view_unredacted", normalized, details
        )
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
