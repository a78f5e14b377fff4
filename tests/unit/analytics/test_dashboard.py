"""The Safe Tourism dashboard of a site: footfall, crowding, incidents by type and hour, response times."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from safecity.operations.models import IncidentRow
from support.analytics_fixtures import MONDAY, Seed

MIN = timedelta(minutes=1)


def incident(
    db: Session, kind: str, origin: datetime, camera: str | None, dispatch_min: float | None = None,
    scene_min: float | None = None, lat: float | None = None, lon: float | None = None,
) -> None:  # fmt: skip
    dispatched = origin + dispatch_min * MIN if dispatch_min is not None else None
    on_scene = dispatched + scene_min * MIN if dispatched is not None and scene_min is not None else None
    db.add(
        IncidentRow(
            title=kind, type=kind, priority="medium", status="new", description="", source="manual",
            camera_id=camera, lat=lat, lon=lon, origin_at=origin, created_at=origin, created_by="op",
            updated_at=origin, dispatched_at=dispatched, on_scene_at=on_scene,
        )
    )  # fmt: skip


SITES = {
    "sites": [
        {"id": "old-town", "name": "Old town", "cameras": ["cam1", "cam2"], "zones": ["cam1/plaza"],
         "area": {"lat": 41.9, "lon": 12.5, "radius_m": 500}},
    ],
    "timezone": "Europe/Rome",
}  # fmt: skip


def test_site_dashboard(seed: Seed) -> None:
    seed.enter("cam1", "plaza", MONDAY, n=9)
    seed.enter("cam1", "other", MONDAY, n=50)  # a zone outside the site's list
    seed.enter("cam3", "plaza", MONDAY, n=70)  # a camera outside the site
    for i in range(6):
        at = MONDAY + i * MIN
        seed.add(camera_id="cam1", kind="crowding", start=at, end=at, zone_id="plaza")
        seed.add(camera_id="cam2", kind="crowding", start=at, end=at, zone_id="z")  # not a site zone
        seed.sample("cam2", MONDAY + 5 * i * MIN, tracks=3, cells={1: 3})
    seed.flush()
    with Session(seed.engine) as db:
        for i in range(6):  # 6 thefts on site cameras, dispatched after 2..7 min, on scene 5 min later
            incident(db, "theft", MONDAY + i * MIN, "cam1", dispatch_min=2 + i, scene_min=5)
        in_area = {"lat": 41.901, "lon": 12.501}
        incident(db, "medical", MONDAY + 3 * timedelta(hours=1), None, 1, 4, **in_area)
        incident(db, "medical", MONDAY, None, 1, 4, lat=45.0, lon=9.0)  # a report far away
        incident(db, "theft", MONDAY, "cam3", 1, 1)  # another site's camera
        db.commit()
    a = seed.analytics(**SITES)
    site = a.cfg.site("old-town")
    assert site is not None
    d = a.dashboard(site, MONDAY, MONDAY + timedelta(days=1), None)
    assert d.site.cameras == ["cam1", "cam2"] and d.site.name == "Old town"
    assert d.footfall.total == 9 and {s.key.zone_id for s in d.footfall.series} == {"plaza"}
    assert d.presence.total == 18
    assert d.crowding.episodes == 6 and d.crowding.by_hour[10] == 6  # 09:00 UTC is 10:00 in Rome
    assert d.incidents.total == 7
    by_type = {t.type: t for t in d.incidents.by_type}
    assert by_type["theft"].count == 6 and by_type["theft"].by_hour[10] == 6
    assert by_type["medical"].count is None  # one incident: suppressed
    r = d.response
    assert r.report_to_dispatch.n == 7 and r.report_to_dispatch.p50_s == 240.0  # 1,2,3,4,5,6,7 minutes
    assert r.dispatch_to_scene.p50_s == 300.0 and r.report_to_scene.p50_s == 540.0
    narrowed = a.dashboard(site, MONDAY, MONDAY + timedelta(days=1), frozenset({"cam2"}))
    assert narrowed.site.cameras == ["cam2"] and narrowed.footfall.total is None
    assert narrowed.incidents.total is None  # cam1's thefts are not the caller's to see
