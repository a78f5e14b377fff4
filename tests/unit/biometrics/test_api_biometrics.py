"""The biometrics API: two-person review with two real users, audited unblurred views, enrolment from a
photo (nothing but the template kept), the transparency report for auditors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.biometrics.matches import NewMatch, record_match
from safecity.biometrics.models import EntryRow
from safecity.biometrics.runtime import original_key
from safecity.biometrics.watchlists import live_entries
from support.api_harness import ApiHarness
from support.biometrics_fixtures import now, reviewed_watchlist, template


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path) as h:
        yield h


def _audit_actions(h: ApiHarness) -> list[str]:
    from safecity.governance import audit

    with h.node.engine.connect() as conn:
        return [e.action for e in audit.entries(conn)]


def _match(h: ApiHarness) -> int:
    with h.node.session() as db:
        row = reviewed_watchlist(db, ["c1"], [template(1)])
        (e,) = live_entries(db, row.id)
        match = record_match(db, NewMatch(row.id, e.id, "c1", 3, now(), 0.62, 0.5, None))
        db.commit()
        return match.id


def test_two_person_rule_through_the_api(harness: ApiHarness) -> None:
    match_id = _match(harness)
    first, second = harness.bearer("investigator"), harness.bearer("supervisor")
    operator = harness.bearer("operator")
    url = f"/api/biometrics/matches/{match_id}"
    assert harness.client.post(f"{url}/review", json={"confirm": True}, headers=operator).status_code == 403
    r = harness.client.post(f"{url}/review", json={"confirm": True, "note": "same"}, headers=first)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = harness.client.post(f"{url}/review", json={"confirm": True}, headers=first)
    assert r.status_code == 403 and "already reviewed" in r.json()["detail"]
    r = harness.client.post(f"{url}/dispatch", json={"note": "unit 12"}, headers=first)
    assert r.status_code == 403 and "2 different reviewers" in r.json()["detail"]
    r = harness.client.post(f"{url}/review", json={"confirm": True, "note": "agree"}, headers=second)
    assert r.json()["status"] == "confirmed"
    r = harness.client.post(f"{url}/dispatch", json={"note": "unit 12 to platform 3"}, headers=first)
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    detail = harness.client.get(url, headers=second).json()
    assert [rv["decision"] for rv in detail["reviews"]] == ["confirm", "confirm"]
    actions = _audit_actions(harness)
    assert actions.count("biometrics.match.review") == 2 and "biometrics.match.dispatch" in actions


def test_unblurred_view_needs_the_permission_and_is_audited(harness: ApiHarness) -> None:
    assert harness.node.biometrics is not None
    key = "snapshots/c1/2025-01-01/abc.jpg"
    harness.node.biometrics.sealed.put(original_key(key), b"\xff\xd8 original jpeg")
    url = f"/api/biometrics/unredacted/{key}?reason=case%20RG%20123"
    assert harness.client.get(url, headers=harness.bearer("operator")).status_code == 403
    assert (
        harness.client.get(f"/api/media/originals/{key}", headers=harness.bearer("admin")).status_code == 404
    )
    r = harness.client.get(url, headers=harness.bearer("investigator"))
    assert r.status_code == 200 and r.content == b"\xff\xd8 original jpeg"
    assert r.headers["cache-control"] == "no-store"
    assert _audit_actions(harness).count("media.unblurred_view") == 1
    missing = "/api/biometrics/unredacted/snapshots/c1/2025-01-01/none.jpg"
    assert harness.client.get(missing, headers=harness.bearer("investigator")).status_code == 404


@pytest.mark.models
def test_enrolment_keeps_only_the_template(harness: ApiHarness, shared_data: Path) -> None:
    h = harness.bearer("investigator")
    wl_id = harness.client.post(
        "/api/biometrics/watchlists", json={"name": "case 1", "cameras": ["c1"]}, headers=h
    ).json()["id"]
    form = {
        "label": "M.R.",
        "source": "report 77",
        "legal_basis": "GIP order",
        "expires_at": (now() + timedelta(days=10)).isoformat(),
    }
    photo = (shared_data / "faces" / "obama.jpg").read_bytes()
    r = harness.client.post(
        f"/api/biometrics/watchlists/{wl_id}/entries",
        data=form,
        files={"photo": ("p.jpg", photo, "image/jpeg")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert "template" not in r.json()[0]
    group = (shared_data / "faces" / "group-6-faces.jpg").read_bytes()
    r = harness.client.post(
        f"/api/biometrics/watchlists/{wl_id}/entries",
        data=form,
        files={"photo": ("g.jpg", group, "image/jpeg")},
        headers=h,
    )
    assert r.status_code == 422 and "exactly one face" in r.json()["detail"]
    with harness.node.session() as db:
        (stored,) = db.scalars(select(EntryRow.template)).all()
    assert stored is not None and len(stored) == 512
    data_dir = harness.node.settings.storage.data_dir
    assert not [p for p in data_dir.rglob("*.jpg")]  # the photo itself was never written


def test_bulk_import_from_an_unverified_source_is_refused_before_reading_photos(harness: ApiHarness) -> None:
    h = harness.bearer("investigator")
    wl_id = harness.client.post(
        "/api/biometrics/watchlists", json={"name": "bulk", "cameras": ["c1"]}, headers=h
    ).json()["id"]
    item = {
        "label": "x",
        "source": "spreadsheet",
        "legal_basis": "none",
        "expires_at": (now() + timedelta(days=1)).isoformat(),
    }
    import json

    files = [("photos", ("a.jpg", b"not even a photo", "image/jpeg"))] * 2
    r = harness.client.post(
        f"/api/biometrics/watchlists/{wl_id}/import",
        data={"manifest": json.dumps([item, item])},
        files=files,
        headers=h,
    )
    assert r.status_code == 403 and "unverified" in r.json()["detail"]


def test_transparency_is_for_auditors(harness: ApiHarness) -> None:
    _match(harness)
    assert (
        harness.client.get("/api/biometrics/transparency", headers=harness.bearer("operator")).status_code
        == 403
    )
    r = harness.client.get("/api/biometrics/transparency", headers=harness.bearer("auditor"))
    assert r.status_code == 200 and r.json()["matches"] == 1 and r.json()["audit_chain"]["ok"] is True
    html = harness.client.get("/api/biometrics/transparency.html", headers=harness.bearer("auditor"))
    assert html.status_code == 200 and "Transparency report" in html.text and "<script" not in html.text
