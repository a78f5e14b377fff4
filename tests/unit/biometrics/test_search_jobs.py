"""Retrospective search as a background job (issue 16): it runs off the request path (the API answers while
it scans), reports progress, can be cancelled (audited), and only its owner sees it. Real API, real face
models, real photos as the snapshots' kept originals."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import pytest

from safecity.biometrics.watchlists import live_entries
from safecity.governance import audit
from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.store import open_store
from safecity.types import Event, EventKind
from support.api_harness import ApiHarness
from support.biometrics_fixtures import authorization, now, reviewed_watchlist, template

pytestmark = pytest.mark.models


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path) as harness:
        yield harness


def _snapshots(h: ApiHarness, faces_dir: Path, names: list[str]) -> None:
    assert h.node.biometrics is not None
    store = open_store(h.node.settings.storage.resolved_database_url)
    for i, name in enumerate(names):
        start = now() - timedelta(minutes=50) + timedelta(seconds=i)
        event = Event(camera_id="c1", kind=EventKind.ZONE_ENTER, start=start, end=start)
        key = snapshot_key(event)
        image = cv2.imread(str(faces_dir / name))
        assert image is not None
        h.node.biometrics.sealed.put(f"originals/{key}", encode_jpeg(image))
        store.append([replace(event, snapshot=key)])
    store.close()


def _start(h: ApiHarness, headers: dict[str, str], faces_dir: Path) -> dict[str, Any]:
    with h.node.session() as db:
        auth = authorization(db, ["c1"], since=timedelta(hours=2))
        db.commit()
    since, until = now() - timedelta(hours=1), now() - timedelta(minutes=1)
    form = {"authorization_id": str(auth.id), "cameras": "c1", "reason": "case RG 9/2026",
            "start": since.isoformat(), "end": until.isoformat()}  # fmt: skip
    photo = {"photo": ("probe.jpg", (faces_dir / "obama3.jpg").read_bytes(), "image/jpeg")}
    r = h.client.post("/api/biometrics/search/jobs", data=form, files=photo, headers=headers)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


def _poll(h: ApiHarness, job_id: str, headers: dict[str, str], until: Any, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = h.client.get(f"/api/biometrics/search/jobs/{job_id}", headers=headers).json()
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the state: {job}")


def test_a_search_job_reports_progress_and_its_hits(h: ApiHarness, faces_dir: Path) -> None:
    _snapshots(h, faces_dir, ["obama.jpg", "biden.jpg", "obama2.jpg"])
    investigator = h.bearer("investigator")
    job = _start(h, investigator, faces_dir)
    assert job["status"] in ("queued", "running")
    other = h.bearer("investigator")
    assert h.client.get(f"/api/biometrics/search/jobs/{job['id']}", headers=other).status_code == 404
    done = _poll(h, job["id"], investigator, lambda j: j["status"] not in ("queued", "running"))
    assert done["status"] == "done" and done["done"] == done["total"] == 3, done
    assert len(done["result"]["hits"]) == 2 and done["result"]["snapshots_scanned"] == 3


def test_a_search_job_can_be_cancelled_and_the_api_answers_meanwhile(h: ApiHarness, faces_dir: Path) -> None:
    _snapshots(h, faces_dir, ["group-6-faces.jpg"] * 40)
    investigator = h.bearer("investigator")
    job = _start(h, investigator, faces_dir)
    _poll(h, job["id"], investigator, lambda j: j["done"] >= 2)
    assert h.client.get("/api/cameras", headers=investigator).status_code == 200  # not blocked by the search
    running = h.client.get(f"/api/biometrics/search/jobs/{job['id']}", headers=investigator).json()
    assert running["status"] == "running"  # the API answered while the search was still scanning
    r = h.client.post(f"/api/biometrics/search/jobs/{job['id']}/cancel", headers=investigator)
    assert r.status_code == 200
    end = _poll(h, job["id"], investigator, lambda j: j["status"] not in ("queued", "running"))
    assert end["status"] == "cancelled" and end["done"] < 40, end
    with h.node.engine.connect() as conn:
        (entry,) = audit.entries(conn, limit=1, action="biometrics.search.cancelled")
    assert '"snapshots_in_range":40' in entry.details


def test_a_bulk_import_is_bounded(h: ApiHarness) -> None:
    """Attack: one request with hundreds of photos, each a face-model pass, would hold the server."""
    with h.node.session() as db:
        wl = reviewed_watchlist(db, ["c1"], [template(1)])
        db.commit()
    photos = [("photos", (f"p{i}.jpg", b"\xff\xd8 not decoded", "image/jpeg")) for i in range(51)]
    manifest = [{"label": f"p{i}", "source": "registry", "source_registry": "sdi", "legal_basis": "art. 5",
                 "expires_at": (now() + timedelta(days=5)).isoformat()} for i in range(51)]  # fmt: skip
    r = h.client.post(
        f"/api/biometrics/watchlists/{wl.id}/import",
        data={"manifest": json.dumps(manifest)},
        files=photos,
        headers=h.bearer("investigator"),
    )
    assert r.status_code == 413 and "at most 50 photos" in r.json()["detail"]


def test_a_bulk_enrolment_job_turns_photos_into_entries(tmp_path: Path, faces_dir: Path) -> None:
    with ApiHarness.start(tmp_path, biometrics={"verified_sources": ["sdi"]}) as h:
        with h.node.session() as db:
            wl = reviewed_watchlist(db, ["c1"], [template(1)])
            db.commit()
        investigator = h.bearer("investigator")

        def start(names: list[str]) -> Any:
            photos = [("photos", (n, (faces_dir / n).read_bytes(), "image/jpeg")) for n in names]
            manifest = [{"label": n, "source": "registry", "source_registry": "sdi", "legal_basis": "art. 5",
                         "expires_at": (now() + timedelta(days=5)).isoformat()} for n in names]  # fmt: skip
            r = h.client.post(
                f"/api/biometrics/watchlists/{wl.id}/import/jobs",
                data={"manifest": json.dumps(manifest)},
                files=photos,
                headers=investigator,
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                job = h.client.get(f"/api/biometrics/import/jobs/{job_id}", headers=investigator).json()
                if job["status"] not in ("queued", "running"):
                    return job
                time.sleep(0.1)
            raise AssertionError("the import job did not end")

        done = start(["obama.jpg", "biden.jpg"])
        assert done["status"] == "done" and done["done"] == done["total"] == 2 and len(done["entry_ids"]) == 2
        failed = start(["obama2.jpg", "group-6-faces.jpg"])
        assert (
            failed["status"] == "failed"
            and "photo 2" in failed["error"]
            and "exactly one face" in failed["error"]
        )
        with h.node.session() as db:
            # the first template and the two imported ones; nothing of the failed job
            assert len(live_entries(db, wl.id)) == 3
