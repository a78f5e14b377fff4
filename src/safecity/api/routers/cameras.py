"""Cameras (cameras:read to see, cameras:manage to change). Changes apply to the running workers at once:
only the changed camera's worker restarts. DELETE disables (events keep their camera id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy.exc import IntegrityError

from safecity.api.camera_service import apply_camera, camera_public, check_runnable, merged_config
from safecity.api.camera_sources import enforce_source_policy
from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.schemas import CameraCreate, CameraId, CameraPublic, CameraUpdate
from safecity.config.models import CameraConfig
from safecity.operations.alerts import close_camera_dark
from safecity.operations.domain import Actor
from safecity.operations.live import safe_broadcast
from safecity.operations.schemas import AlertPublic
from safecity.store.cameras import CameraRow, get_camera, insert_camera, list_cameras, update_camera

router = APIRouter(prefix="/cameras", tags=["cameras"])
Reader = Annotated[Principal, Depends(require("cameras:read"))]
Manager = Annotated[Principal, Depends(require("cameras:manage"))]


def visible_camera(db: DbSession, who: Principal, camera_id: str) -> CameraRow:
    """The camera, or 404 when it does not exist or is outside the caller's access list."""
    ensure_camera_visible(who, camera_id)
    row = get_camera(db, camera_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} not found")
    return row


@router.get("", response_model=list[CameraPublic])
def cameras(db: DbSession, node: Node, who: Reader, enabled: bool | None = None) -> list[CameraPublic]:
    rows = list_cameras(db, None if who.cameras is None else who.cameras)
    return [camera_public(node, r) for r in rows if enabled is None or r.enabled == enabled]


@router.get("/{camera_id}", response_model=CameraPublic)
def camera(camera_id: CameraId, db: DbSession, node: Node, who: Reader) -> CameraPublic:
    return camera_public(node, visible_camera(db, who, camera_id))


@router.post("", response_model=CameraPublic, status_code=status.HTTP_201_CREATED)
def create(body: CameraCreate, db: DbSession, node: Node, who: Manager) -> CameraPublic:
    """Add a camera; an enabled one starts analysing at once."""
    if get_camera(db, body.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"camera {body.id!r} already exists")
    cfg = CameraConfig.model_validate(body.model_dump())
    enforce_source_policy(cfg.id, cfg.source, node.settings.api.camera_sources)
    check_runnable(node, cfg)
    try:
        row = insert_camera(db, cfg)
        db.commit()
    except IntegrityError as exc:  # created by a concurrent request
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"camera {body.id!r} already exists") from exc
    apply_camera(node, cfg)
    return camera_public(node, row)


@router.patch("/{camera_id}", response_model=CameraPublic)
def update(camera_id: CameraId, body: CameraUpdate, db: DbSession, node: Node, who: Manager) -> CameraPublic:
    """Change a camera (name, source, fps, lines, zones, enabled, ...); its worker restarts with it."""
    row = visible_camera(db, who, camera_id)
    cfg = merged_config(row, body)
    if cfg.source != row.source:  # a source already stored (e.g. from the settings file) stays trusted
        enforce_source_policy(cfg.id, cfg.source, node.settings.api.camera_sources)
    check_runnable(node, cfg)
    update_camera(db, row, cfg)
    closed = _close_dark(db, who, cfg)
    db.commit()
    apply_camera(node, cfg)
    _announce(node, closed)
    return camera_public(node, row)


def _close_dark(db: DbSession, who: Principal, cfg: CameraConfig) -> list[AlertPublic]:
    """A disabled camera is dark on purpose: its camera_dark alerts close (and the map stops showing it)."""
    if cfg.enabled:
        return []
    rows = close_camera_dark(db, cfg.id, Actor(who.user_id, who.username))
    return [AlertPublic.model_validate(r) for r in rows]


def _announce(node: Node, closed: list[AlertPublic]) -> None:
    for alert in closed:
        safe_broadcast(node.live, "alert_update", alert.model_dump(mode="json"), alert.camera_id)


@router.delete("/{camera_id}", response_model=CameraPublic)
def disable(camera_id: CameraId, db: DbSession, node: Node, who: Manager) -> CameraPublic:
    """Disable a camera: its worker stops; the row stays (re-enable with PATCH {"enabled": true})."""
    row = visible_camera(db, who, camera_id)
    cfg = merged_config(row, CameraUpdate(enabled=False))
    update_camera(db, row, cfg)
    closed = _close_dark(db, who, cfg)
    db.commit()
    apply_camera(node, cfg)
    _announce(node, closed)
    return camera_public(node, row)
