"""Health: `/healthz` (public liveness), `/api/health` and Prometheus `/metrics` (health:read; scrapers
send an API token: `Authorization: Bearer sc_...`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from safecity.api.degraded import public_status
from safecity.api.deps import Node, Principal, require
from safecity.api.health import node_health, public_health
from safecity.api.metrics_filter import CameraFiltered
from safecity.api.schemas import CameraHealthPublic, HealthPublic

PREFIX = ""
router = APIRouter(tags=["health"])
Health = Annotated[Principal, Depends(require("health:read"))]


@router.get("/healthz")
def healthz(node: Node) -> dict[str, Any]:
    """Liveness: the process answers (public); `degraded` with a plain reason while the database is down."""
    return public_status(node.writer)


@router.get("/api/health", response_model=HealthPublic)
def health(node: Node, who: Health) -> HealthPublic:
    """Per camera: status, analysed fps, dropped frames, detector latency, reconnects, last frame."""
    cams = [
        CameraHealthPublic(**public_health(h)) for h in node_health(node) if who.can_see_camera(h.camera_id)
    ]
    bus = {
        k: v
        for k in ("published", "dropped", "delivered")
        if isinstance(v := getattr(node.bus, k, None), int)
    }
    live = node.live
    return HealthPublic(
        status="ok"
        if node.writer.reason is None and all(c.status in ("ok", "starting", "stopped") for c in cams)
        else "degraded",
        cameras=cams,
        bus=bus,
        store={"written": node.writer.written, "failed": node.writer.failed},
        live={"clients": live.clients, "dropped_clients": live.dropped_clients, "messages": live.broadcasts},
        durability=node.writer.status(),
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request, who: Health) -> Response:
    """Prometheus text format; per-camera series carry a `camera` label, and only the caller's cameras'
    series are shown (a camera access list applies here too)."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    if who.cameras is None:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    filtered = CameraFiltered(registry, who.cameras)
    return Response(generate_latest(filtered), media_type=CONTENT_TYPE_LATEST)
