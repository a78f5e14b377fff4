"""Loopholes of the face-matching rules, each performed and caught (issue 16): a second urgent start after
stopping the first, data kept after an unauthorized urgent start ends, a rejected match keeping its face
crop, a crop stored without its row, and one person both recording an authorization and using it.
Real SQLite (migrated), real local media storage; the clock is the `at` the sweep is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from safecity.biometrics import watchlists as wl
from safecity.biometrics.common import ConflictError, PolicyError
from safecity.biometrics.matches import NewMatch, record_match, review_match
from safecity.biometrics.models import EntryRow, MatchReviewRow, MatchRow, WatchlistStatus
from safecity.biometrics.stage import FaceStage, Hit, WatchlistRegistry
from safecity.governance import audit
from safecity.media.storage import LocalMediaStorage
from safecity.vision.faces import Candidate
from support.biometrics_fixtures import (
    ALICE,
    BOB,
    CAROL,
    CLERK,
    CONFIG,
    REVIEWER,
    authorization,
    now,
    reviewed_watchlist,
    template,
)

JUSTIFICATION = "child reported missing at the station 20 minutes ago, parents on site"


def _crop(media: LocalMediaStorage, name: str) -> str:
    return media.put(f"biometrics/matches/c1/{name}.jpg", b"\xff\xd8 face crop \xff\xd9")


def _match(db: Session, watchlist_id: int, media: LocalMediaStorage, name: str) -> MatchRow:
    entry_id = db.scalars(select(EntryRow.id).where(EntryRow.watchlist_id == watchlist_id)).first()
    assert entry_id is not None
    key = _crop(media, name)
    return record_match(db, NewMatch(watchlist_id, entry_id, "c1", 7, now(), 0.7, 0.5, key))


def _actions(db: Session) -> list[str]:
    return [e.action for e in audit.entries(db.connection(), limit=1000)]


def test_stopping_an_urgent_start_purges_it_and_a_second_urgent_start_is_refused(
    db: Session, tmp_path: Path
) -> None:
    media = LocalMediaStorage(tmp_path / "sealed")
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    match = _match(db, row.id, media, "m1")
    review_match(db, match.id, True, "looks like her", BOB, REVIEWER)
    with pytest.raises(PolicyError, match="purged"):  # without a way to delete its crops, no stop
        wl.stop(db, row.id, "found", ALICE)
    wl.stop(db, row.id, "stop before 24 h, to start again", ALICE, delete_media=media.delete)
    assert row.status == WatchlistStatus.PURGED
    assert db.scalars(select(MatchRow)).all() == [] and db.scalars(select(MatchReviewRow)).all() == []
    assert not list((tmp_path / "sealed").rglob("*.jpg"))  # the crop file is gone
    assert all(e.template is None for e in db.scalars(select(EntryRow)))
    assert "biometrics.match" in _actions(db) and "biometrics.watchlist.urgent_purge" in _actions(db)
    with pytest.raises((ConflictError, PolicyError)):  # the attack: a fresh 24 h
        wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)


def test_one_urgent_start_per_watchlist_until_an_authorization_is_recorded(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    row.status = WatchlistStatus.STOPPED.value  # however it came to be stopped (an older version, by hand)
    db.flush()
    with pytest.raises(PolicyError, match="already had its urgent start"):
        wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)


def test_the_24_h_deadline_purges_match_rows_and_crops(
    db: Session, sessions: Callable[[], Session], tmp_path: Path
) -> None:
    media = LocalMediaStorage(tmp_path / "sealed")
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    _match(db, row.id, media, "m1"), _match(db, row.id, media, "m2")
    db.commit()
    registry = WatchlistRegistry(sessions, CONFIG, media.delete)
    assert len(registry.refresh(now() + timedelta(hours=23, minutes=59))) == 1  # the clock: 1 min before
    assert registry.refresh(now() + timedelta(hours=24, seconds=1)) == []
    db.expire_all()
    assert db.scalars(select(MatchRow)).all() == [] and not list((tmp_path / "sealed").rglob("*.jpg"))


def test_a_rejected_match_loses_its_face_crop_at_once(db: Session, tmp_path: Path) -> None:
    media = LocalMediaStorage(tmp_path / "sealed")
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.activate(db, row.id, authorization(db, ["c1"]).id, ALICE)
    match = _match(db, row.id, media, "m1")
    key = match.crop_key
    assert key is not None and media.exists(key)
    review_match(db, match.id, False, "not her", BOB, REVIEWER, media.delete)
    assert match.status == "rejected" and match.crop_key is None and not media.exists(key)
    assert "biometrics.match.review" in _actions(db)


def test_no_crop_is_left_when_its_match_row_cannot_be_written(
    db: Session, sessions: Callable[[], Session], tmp_path: Path
) -> None:
    media = LocalMediaStorage(tmp_path / "sealed")
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.activate(db, row.id, authorization(db, ["c1"]).id, ALICE)
    db.commit()
    registry = WatchlistRegistry(sessions, CONFIG, media.delete)
    (active,) = registry.refresh()
    stage = FaceStage("c1", registry, None, sessions, media, CONFIG)  # type: ignore[arg-type]
    db.execute(text("DROP TABLE bio_match_reviews"))
    db.execute(text("DROP TABLE bio_matches"))  # the fault: the row cannot be written
    db.commit()
    face = np.full((120, 100, 3), 128, np.uint8)
    with pytest.raises(Exception, match="bio_matches"):
        stage._record(
            7, Candidate(1.0, now().timestamp(), face), np.array([10, 10, 90, 110]), Hit(active, 1, 0.7)
        )
    assert not list((tmp_path / "sealed").rglob("*.jpg"))


def test_who_records_an_authorization_may_not_use_it(db: Session, tmp_path: Path) -> None:
    media = LocalMediaStorage(tmp_path / "sealed")
    auth = authorization(db, ["c1"], by=CAROL)
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    with pytest.raises(PolicyError, match="separation of duties"):
        wl.activate(db, row.id, auth.id, CAROL)
    wl.activate(db, row.id, auth.id, ALICE)
    match = _match(db, row.id, media, "m1")
    with pytest.raises(PolicyError, match="separation of duties"):
        review_match(db, match.id, True, "same person", CAROL, REVIEWER)
    review_match(db, match.id, True, "same person", BOB, REVIEWER)
    review_match(db, match.id, True, "agree", CLERK, REVIEWER)  # not the recorder of this authorization
    urgent = reviewed_watchlist(db, ["c1"], [template(2)])
    wl.start_urgent(db, urgent.id, JUSTIFICATION, ALICE, CONFIG)
    with pytest.raises(PolicyError, match="separation of duties"):
        wl.attach_authorization(db, urgent.id, auth.id, CAROL, CONFIG)
    wl.attach_authorization(db, urgent.id, auth.id, BOB, CONFIG)
