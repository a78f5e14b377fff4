"""G6: the transparency report, HTML and JSON, generated from the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from safecity.biometrics import watchlists as wl
from safecity.biometrics.common import log_action
from safecity.biometrics.matches import NewMatch, record_match, review_match
from safecity.biometrics.transparency import build_report, render_html
from support.biometrics_fixtures import (
    ALICE,
    BOB,
    CAROL,
    CONFIG,
    REVIEWER,
    authorization,
    now,
    reviewed_watchlist,
    template,
)


def _scenario(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1", "c2"], [template(1), template(2)])
    wl.activate(db, row.id, authorization(db, ["c1", "c2"], purpose="imminent_threat").id, ALICE)
    entries = wl.live_entries(db, row.id)
    log_action(
        db,
        "safecity",
        "biometrics.faces_processed",
        "camera:c1",
        {"faces": 40, "matched": 2, "discarded": 38},
    )
    log_action(
        db,
        "safecity",
        "biometrics.faces_processed",
        "camera:c2",
        {"faces": 10, "matched": 0, "discarded": 10},
    )
    good = record_match(db, NewMatch(row.id, entries[0].id, "c1", 1, now(), 0.7, 0.5, None))
    bad = record_match(db, NewMatch(row.id, entries[1].id, "c1", 2, now(), 0.52, 0.5, None))
    review_match(db, good.id, True, "", ALICE, REVIEWER)
    review_match(db, good.id, True, "", BOB, REVIEWER)
    review_match(db, bad.id, False, "not him", CAROL, REVIEWER)
    wl.remove_entry(db, entries[1].id, "wrongly listed", ALICE)
    db.commit()


def test_the_report_counts_what_the_log_says(db: Session, sessions: Callable[[], Session]) -> None:
    _scenario(db)
    with sessions() as s:
        report = build_report(
            s.connection(), now() - timedelta(hours=1), now() + timedelta(minutes=1), CONFIG
        )
    assert report["audit_chain"]["ok"] is True
    assert report["authorizations_by_purpose"] == {"imminent_threat": 1}
    assert len(report["deployments"]) == 1 and report["deployments"][0]["urgent"] is False
    assert report["faces_processed"] == 50  # a count, nothing else about those faces
    assert (report["matches"], report["matches_confirmed"], report["matches_false"]) == (2, 1, 1)
    assert report["deletions"]["templates_of_non_matches_discarded"] == 48
    assert report["deletions"]["entries_removed"] == 1
    assert report["policy"]["classification_by_age_gender_ethnicity_emotion"] is False
    html = render_html(report)
    assert "<script" not in html and "imminent_threat" in html and ">50<" in html


def test_the_period_bounds_the_report(db: Session, sessions: Callable[[], Session]) -> None:
    _scenario(db)
    with sessions() as s:
        report = build_report(s.connection(), now() - timedelta(days=3), now() - timedelta(days=2), CONFIG)
    assert report["matches"] == 0 and report["faces_processed"] == 0 and report["authorizations"] == []


def test_html_escapes_what_people_typed(db: Session, sessions: Callable[[], Session]) -> None:
    authorization(db, ["c1"], reference="<script>alert(1)</script>")
    db.commit()
    with sessions() as s:
        html = render_html(
            build_report(s.connection(), now() - timedelta(hours=1), now() + timedelta(minutes=1), CONFIG)
        )
    assert "<script>" not in html and "&lt;script&gt;" in html
