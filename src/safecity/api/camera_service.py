"""Cameras at run time: the database is the source of truth once the service has started; the workers
follow it. `start_cameras` seeds the table from the settings file and starts the enabled cameras;
`apply_camera` restarts one camera's worker after a change without touching the others.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from safecity.api.health import camera_health, public_health
from safecity.api.schemas import CameraHealthPublic, CameraPublic, CameraUpdate
from safecity.app import App
from safecity.config.models import CameraConfig
from safecity.ingest import SourceSpec, open_source
from safecity.ingest.spec import redact_url
from safecity.rules import CameraRules
from safecity.store.cameras import CameraRow, CameraRowInvalid, list_cameras, seed_cameras, to_config

log = logging.getLogger(__name__)
GRAB_TIMEOUT_S = 5.0
MAX_COORDINATE = 100_000.0  # pixels; no camera frame is this large


def start_cameras(node: App) -> list[CameraConfig]:
    """Seed the cameras table from the settings file, then start a worker per enabled camera."""
    with node.session() as db:
        added = seed_cameras(db, node.settings.cameras)
        db.commit()
        configs = []
        for row in list_cameras(db):
            try:
                configs.append(to_config(row))
            except CameraRowInvalid as exc:
                log.error("%s; camera not started", exc)
    if added:
        log.info("cameras added from the settings file: %s", ", ".join(added))
    enabled = [c for c in configs if c.enabled]
    node.start(enabled if node.settings.api.start_workers else [])
    return enabled


def apply_camera(node: App, cfg: CameraConfig) -> None:
    """Make this node's worker follow a changed camera (when this node runs cameras), and tell the
    cluster's workers (with NATS): the one holding its lease, or the one that claims a new camera."""
    if node.settings.api.start_workers:
        node.restart_camera(cfg)
    if node.announce is not None:
        node.announce(cfg.id)


def merged_config(row: CameraRow, body: CameraUpdate) -> CameraConfig:
    """The stored camera with the sent fields changed, validated as a whole (422 when it does not)."""
    current: dict[str, Any] = to_config(row).model_dump(mode="json")
    current.update(body.model_dump(mode="json", exclude_unset=True))
    try:
        return CameraConfig.model_validate(current)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


def check_runnable(node: App, cfg: CameraConfig) -> None:
    """422 unless a worker can be built from `cfg`: finite, sane coordinates, and rules that construct
    (the same `CameraRules` the worker builds), so a bad camera is refused before it is stored."""
    points = [p for line in cfg.lines for p in (line.start, line.end)]
    points += [p for zone in cfg.zones for p in zone.polygon]
    try:
        for x, y in points:
            if not (math.isfinite(x) and math.isfinite(y) and max(abs(x), abs(y)) <= MAX_COORDINATE):
                raise ValueError(f"coordinates must be finite pixels within ±{MAX_COORDINATE:.0f}: {(x, y)}")
        CameraRules(cfg, node.settings.camera_classes(cfg))
    except (ValueError, OverflowError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"camera {cfg.id}: {exc}") from exc


def camera_public(node: App, row: CameraRow) -> CameraPublic:
    worker = node.workers.get(row.id)
    health = None
    if worker is not None:
        h = camera_health(worker, node.started_at.get(row.id), node.settings.api.camera_dark_after_s)
        # the source's own words stay in the server log (they may reveal what is there)
        health = CameraHealthPublic(**public_health(h))
    return CameraPublic(
        id=row.id,
        name=row.name,
        source=redact_url(row.source),
        lat=row.lat,
        lon=row.lon,
        fps=row.fps,
        loop=row.loop,
        enabled=row.enabled,
        classes=row.classes,
        lines=list(row.lines),
        zones=list(row.zones),
        created_at=row.created_at,
        updated_at=row.updated_at,
        health=health,
    )


def latest_image(node: App, camera_id: str) -> np.ndarray | None:
    worker = node.workers.get(camera_id)
    latest = worker.latest if worker is not None else None
    return None if latest is None else latest.frame.image


def grab_image(cfg: CameraConfig, timeout_s: float = GRAB_TIMEOUT_S) -> np.ndarray:
    """One frame straight from the source (for a camera with no worker here); SourceError/OSError if none."""
    spec = SourceSpec(
        camera_id=cfg.id,
        url=cfg.source,
        open_timeout_s=timeout_s,
        read_timeout_s=timeout_s,
        max_reconnects=0,
    )
    source = open_source(spec)
    frames = source.frames()
    try:
        for frame in frames:
            return frame.image
    finally:
        source.stop()
        frames.close()
    raise OSError(f"camera {cfg.id}: the source gave no frame")
