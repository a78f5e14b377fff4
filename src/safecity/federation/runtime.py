"""Starting federation on a node (`safecity serve` calls `attach_federation` through the federation
router's `on_start` hook): a `CityAgent` in city mode, a `NationalSite` in national mode, nothing when off."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from safecity.federation.city import CityAgent
from safecity.federation.messages import CameraHealth
from safecity.federation.national import NationalSite

if TYPE_CHECKING:
    from safecity.app import App

log = logging.getLogger(__name__)


def _health(node: App) -> list[CameraHealth]:
    by_id = {c.id: c for c in node.settings.cameras}
    out = []
    for h in node.health():
        cam = by_id.get(h.camera_id)
        out.append(
            CameraHealth(
                camera_id=h.camera_id,
                status=h.status,
                fps=h.analysed_fps,
                lat=getattr(cam, "lat", None),
                lon=getattr(cam, "lon", None),
            )
        )
    return out


def attach_federation(node: App) -> CityAgent | NationalSite | None:
    cfg = node.settings.federation
    if cfg.mode == "off":
        return None
    if cfg.mode == "national":
        if node.settings.cameras:
            raise ValueError("federation.mode national: a national site has no cameras (remove `cameras:`)")
        site: CityAgent | NationalSite = NationalSite(cfg, node.engine)
    else:
        site = CityAgent(cfg, node.engine, node.bus, lambda: _health(node))
    log.info("federation: %s site %s started", cfg.mode, cfg.site.id if cfg.site else "?")
    return site
