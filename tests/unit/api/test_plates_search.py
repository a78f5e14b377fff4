"""`GET /api/plates/reads`: exact and fuzzy search of stored plate reads (plates from the real OpenALPR
photos' truth files), camera access lists applied, every search audited, bad input a 422 with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from safecity.governance import audit
from safecity.plates.models import PlateReadRow
from safecity.plates.search import within_one
from safecity.vision.plate_formats import normalize
from support.api_harness import ApiHarness

SEEN = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _plates(shared_data: Path) -> list[str]:
    txts = sorted((shared_data / "plates" / "us").glob("*.txt"))[:8]
    return [normalize(t.read_text().split()[5]) for t in txts]


def _misread(plate: str, i: int = 1) -> str:
    return plate[:i] + ("0" if plate[i] != "0" else "8") + plate[i + 1 :]


def _store(h: ApiHarness, reads: list[tuple[str, str]]) -> None:
    with Session(h.node.engine) as db:
        for n, (camera, plate) in enumerate(reads):
            db.add(PlateReadRow(id=f"{n:032x}", event_id=f"{n:032x}", camera_id=camera, track_id=n,
                                plate=plate, confidence=0.9, country="us", direction="", crop=None, hit=False,
                                seen_at=SEEN + timedelta(minutes=n)))  # fmt: skip
        db.commit()


def _searches(h: ApiHarness) -> list[dict[str, object]]:
    with h.node.engine.connect() as conn:
        rows = audit.entries(conn, limit=1000, action="plates.search")
    return [json.loads(e.details) if isinstance(e.details, str) else e.details for e in rows]


def test_search_exact_fuzzy_audited_and_within_camera_access(harness: ApiHarness, shared_data: Path) -> None:
    h = harness
    target, *others = _plates(shared_data)
    far = _misread(_misread(target, 1), 3)  # two characters off: not a fuzzy match
    assert not within_one(far, target)
    _store(h, [("gate", target), ("lobby", target), ("gate", _misread(target)), ("gate", target[:-1]),
               ("gate", far), *(("gate", p) for p in others)])  # fmt: skip
    who = h.bearer("investigator")
    spaced = f"{target[:3]} {target[3:].lower()}"  # as typed: case and spaces ignored

    got = h.client.get("/api/plates/reads", params={"plate": spaced, "reason": "case 42"}, headers=who)
    assert got.status_code == 200, got.text
    assert sorted((r["camera_id"], r["plate"]) for r in got.json()["items"]) == [
        ("gate", target),
        ("lobby", target),
    ]

    fuzzy = h.client.get("/api/plates/reads", params={"plate": target, "fuzzy": True, "reason": "case 42"},
                         headers=who).json()["items"]  # fmt: skip
    assert sorted(r["plate"] for r in fuzzy) == sorted([target, target, _misread(target), target[:-1]])

    # a supervisor limited to the lobby camera sees only the lobby's read
    lobby = h.bearer("supervisor", cameras=["lobby"])
    seen = h.client.get(
        "/api/plates/reads", params={"plate": target, "reason": "case 42"}, headers=lobby
    ).json()
    assert [r["camera_id"] for r in seen["items"]] == ["lobby"]
    asked = {"plate": target, "camera_id": "gate", "reason": "case 42"}
    assert h.client.get("/api/plates/reads", params=asked, headers=lobby).json()["items"] == []

    # every search is in the audit log: who, what, why, how many found
    log = _searches(h)
    assert len(log) == 4
    assert {(d["plate"], d["reason"], d["found"]) for d in log} >= {
        (target, "case 42", 2),
        (target, "case 42", 4),
    }

    # operators may not search; bad input is a 422 with a reason, and is not audited as a search
    assert h.client.get("/api/plates/reads", params={"plate": target, "reason": "x" * 5},
                        headers=h.bearer("operator")).status_code == 403  # fmt: skip
    bad = h.client.get("/api/plates/reads", params={"plate": "-- --", "reason": "case 42"}, headers=who)
    assert bad.status_code == 422 and "plate" in bad.text
    assert h.client.get("/api/plates/reads", params={"plate": target}, headers=who).status_code == 422
    assert len(_searches(h)) == 4
