"""The national view over HTTP: a national-mode safecity node (its own PostgreSQL database and NATS
server) fed by a real city; national roles see aggregates and redacted summaries, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safecity.federation.models import FedEventRow
from support.api_harness import ApiHarness
from support.federation_sites import (
    Site,
    count,
    events_for,
    federation,
    health_of,
    require_services,
    start_city,
    wait_for,
)

pytestmark = pytest.mark.federation


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, Site]]:
    require_services()
    with federation(tmp_path / "sites", ("rome", "milan")) as s:
        yield s


def test_national_view_api_shows_summaries_to_national_roles_only(
    sites: dict[str, Site], tmp_path: Path
) -> None:
    nat = sites["national"]
    settings = {
        "storage": {"database_url": nat.db_url},
        "federation": nat.cfg.model_dump(mode="json"),
    }
    with ApiHarness.start(tmp_path / "national", **settings) as h:
        rt = start_city(sites["rome"], health_of("rome"))
        try:
            for e in events_for("rome", 30):
                rt.bus.publish(e)  # type: ignore[attr-defined]
            wait_for(lambda: count(nat, FedEventRow) == 30, 60, "rome's events nationally")
            viewer = h.bearer("national-viewer")
            wait_for(
                lambda: any(
                    s["open_alerts"] for s in h.client.get("/api/federation/sites", headers=viewer).json()
                ),
                60,
                "an alert",
            )
            rows = h.client.get("/api/federation/sites", headers=viewer).json()
            rome = next(s for s in rows if s["site"] == "rome")
            assert (rome["cameras"], rome["cameras_ok"], rome["ui_url"]) == (2, 1, "https://rome.example.org")
            assert rome["events_last_hour"] == 30
            alerts = h.client.get("/api/federation/alerts", headers=viewer).json()
            assert alerts and all(a["site"] == "rome" for a in alerts)
            assert not {"snapshot", "first_event_id", "dedup_key"} & set(alerts[0])  # redacted summaries
            stats = h.client.get("/api/federation/analytics?hours=2", headers=viewer).json()
            assert sum(f["value"] for f in stats["footfall_by_site_zone"]) == 10

            # national roles get the federation view and nothing of a city's own data
            for path in ("/api/events", "/api/alerts", "/api/incidents", "/api/cameras"):
                assert h.client.get(path, headers=viewer).status_code == 403, path
            operator = h.bearer("operator")  # a city role: no national view
            assert h.client.get("/api/federation/sites", headers=operator).status_code == 403
            ask = {"site": "rome", "incident_id": 1, "media": "clip", "reason": "identify the van"}
            assert (
                h.client.post("/api/federation/media-requests", json=ask, headers=viewer).status_code == 403
            )
            nat_op = h.bearer("national-operator")
            r = h.client.post("/api/federation/media-requests", json=ask, headers=nat_op)
            assert r.status_code == 201, r.text
            bad = h.client.post(
                "/api/federation/media-requests", json={**ask, "site": "paris"}, headers=nat_op
            )
            assert bad.status_code == 404 and "paris" in bad.json()["detail"]
            assert (
                h.client.post(
                    "/api/federation/media-requests", json={**ask, "site": "Rome.>"}, headers=nat_op
                ).status_code
                == 422
            )
            # city-side routes on a national site: a clear conflict, not a 500
            admin = h.bearer("admin")
            r = h.client.post(
                "/api/federation/handoffs",
                json={"incident_id": 1, "to_site": "milan", "reason": "moving north"},
                headers=admin,
            )
            assert r.status_code == 409 and "not a federated city" in r.json()["detail"]
        finally:
            rt.close()
