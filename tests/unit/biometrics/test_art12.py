"""EU AI Act Art. 12(3): per use of face matching the audit log answers when (each active period), against
what (the watchlist and a hash of its version), on which input (camera, track, frame time, crop key while
kept) and who verified it; `safecity audit export --case ID` gives that as one document."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from safecity.biometrics import matches as mt
from safecity.biometrics import watchlists as wl
from safecity.biometrics.art12 import reference_version
from safecity.cli import app as cli
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_witness import install
from support.biometrics_fixtures import (
    ALICE,
    BOB,
    CAROL,
    REVIEWER,
    authorization,
    now,
    reviewed_watchlist,
    template,
)


def test_case_export_answers_art_12_3(db: Session, sqlite_url: str, tmp_path: Path) -> None:
    sealer = install(sqlite_url, AuditConfig(), tmp_path, follow=False)
    try:
        row = reviewed_watchlist(db, ["c1"], [template(1), template(2)])
        wl.activate(db, row.id, authorization(db, ["c1"]).id, ALICE)
        version = reference_version(db, row.id, now())
        entries = wl.live_entries(db, row.id)
        seen = now()
        good = mt.record_match(
            db, mt.NewMatch(row.id, entries[0].id, "c1", 7, seen, 0.7, 0.5, "biometrics/matches/c1/a.jpg")
        )
        bad = mt.record_match(
            db, mt.NewMatch(row.id, entries[1].id, "c1", 9, seen, 0.52, 0.5, "biometrics/matches/c1/b.jpg")
        )
        mt.review_match(db, good.id, True, "same person", ALICE, REVIEWER)
        mt.review_match(db, good.id, True, "agreed", BOB, REVIEWER)
        mt.dispatch_match(db, good.id, "unit 7", CAROL, REVIEWER)
        mt.review_match(db, bad.id, False, "not him", CAROL, REVIEWER)
        bad.crop_key = None  # the crop is deleted (rejection, retention): the record says so
        wl.stop(db, row.id, "child found", BOB)
        db.commit()
        sealer.sync()
    finally:
        sealer.close()
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"storage: {{data_dir: {tmp_path}, database_url: '{sqlite_url}'}}\n")
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(settings), "--case", str(row.id)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["audit_chain"]["ok"] is True
    [period] = doc["active_periods"]
    assert (period["started_by"], period["how"], period["ended_by"], period["why"]) == (
        "alice",
        "activate",
        "bob",
        "child found",
    )
    assert datetime.fromisoformat(period["start"]) < datetime.fromisoformat(period["end"])
    assert doc["reference_database"] == {"watchlist": row.id, "versions": [version]}
    by_id = {m["match"]: m for m in doc["matches"]}
    g, b = by_id[good.id], by_id[bad.id]
    assert g["reference"] == {"watchlist": row.id, "version": version}
    crop = "biometrics/matches/c1/a.jpg"
    expected = {"camera": "c1", "track": 7, "frame_time": seen.isoformat(), "crop_key": crop}
    assert g["input"] == {**expected, "crop_key_at_match": crop}
    assert [(v["by"], v["action"]) for v in g["verified_by"]] == [
        ("alice", "review"),
        ("bob", "review"),
        ("carol", "dispatch"),
    ]
    assert b["input"]["crop_key"] is None and b["input"]["crop_key_at_match"] == "biometrics/matches/c1/b.jpg"
    assert [(v["by"], v.get("decision")) for v in b["verified_by"]] == [("carol", "reject")]
    missing = CliRunner().invoke(cli, ["audit", "export", "-c", str(settings), "--case", "999"])
    assert missing.exit_code == 2 and "no audit entry for watchlist 999" in missing.output
