"""G5: a match is an alert pending review. G9: acting on it needs confirmation by two different users
holding the reviewer permission."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from safecity.biometrics.common import Actor, ConflictError, PolicyError
from safecity.biometrics.matches import NewMatch, dispatch_match, list_matches, record_match, review_match
from safecity.biometrics.models import MatchStatus
from safecity.biometrics.watchlists import live_entries
from support.biometrics_fixtures import ALICE, BOB, CAROL, REVIEWER, now, reviewed_watchlist, template


def _match(db: Session) -> int:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    (e,) = live_entries(db, row.id)
    return record_match(db, NewMatch(row.id, e.id, "c1", 3, now(), 0.62, 0.5, None)).id


def test_a_match_starts_pending_review(db: Session) -> None:
    match_id = _match(db)
    (pending,) = list_matches(db, MatchStatus.PENDING)
    assert pending.id == match_id and pending.acted_at is None


def test_dispatch_needs_two_different_reviewers(db: Session) -> None:
    match_id = _match(db)
    with pytest.raises(PolicyError, match="2 different reviewers"):
        dispatch_match(db, match_id, "unit 12 to platform 3", ALICE, REVIEWER)
    review_match(db, match_id, True, "same person", ALICE, REVIEWER)
    with pytest.raises(PolicyError, match="already reviewed"):
        review_match(db, match_id, True, "really, same person", ALICE, REVIEWER)  # one person, twice
    with pytest.raises(PolicyError, match="2 different reviewers"):
        dispatch_match(db, match_id, "unit 12 to platform 3", ALICE, REVIEWER)
    row = review_match(db, match_id, True, "agree", BOB, REVIEWER)
    assert row.status == MatchStatus.CONFIRMED
    assert (
        dispatch_match(db, match_id, "unit 12 to platform 3", CAROL, REVIEWER).status
        == MatchStatus.DISPATCHED
    )


def test_only_holders_of_the_reviewer_permission_review(db: Session) -> None:
    match_id = _match(db)
    with pytest.raises(PolicyError, match="biometrics:review"):
        review_match(db, match_id, True, "", ALICE, frozenset({"alerts:act"}))
    with pytest.raises(PolicyError):
        review_match(db, match_id, True, "", Actor(None, "system"), REVIEWER)  # not a user
    review_match(db, match_id, True, "", ALICE, REVIEWER)
    with pytest.raises(PolicyError, match="biometrics:review"):
        review_match(db, match_id, True, "", BOB, frozenset({"alerts:act"}))
    assert list_matches(db)[0].status == MatchStatus.PENDING


def test_a_rejection_marks_a_false_match_that_cannot_be_acted_on(db: Session) -> None:
    match_id = _match(db)
    review_match(db, match_id, True, "", ALICE, REVIEWER)
    assert review_match(db, match_id, False, "different ears", BOB, REVIEWER).status == MatchStatus.REJECTED
    with pytest.raises(ConflictError):
        review_match(db, match_id, True, "", CAROL, REVIEWER)
    with pytest.raises(PolicyError):
        dispatch_match(db, match_id, "go", CAROL, REVIEWER)
