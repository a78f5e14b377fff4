"""G1: no watchlist runs without an authorization; it stops by itself at expiry; an urgent start needs a
written justification and is stopped and purged if no authorization is attached within 24 h."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics import watchlists as wl
from safecity.biometrics.authorizations import AuthorizationInput, create_authorization, revoke_authorization
from safecity.biometrics.common import InvalidError, PolicyError
from safecity.biometrics.matches import NewMatch, record_match
from safecity.biometrics.models import EntryRow, MatchRow, WatchlistStatus
from safecity.biometrics.stage import WatchlistRegistry
from support.biometrics_fixtures import ALICE, BOB, CONFIG, authorization, now, reviewed_watchlist, template

JUSTIFICATION = "Child abducted 20 minutes ago near the station; judge unreachable until morning."


def test_an_authorization_records_issuer_reference_purpose_cameras_and_period(db: Session) -> None:
    good = dict(
        issuer="GIP Roma",
        reference="RG 1/25",
        purpose="imminent_threat",
        cameras=["c1"],
        starts_at=now(),
        ends_at=now() + timedelta(hours=1),
    )
    assert create_authorization(db, AuthorizationInput(**good), ALICE, CONFIG).id  # type: ignore[arg-type]
    for bad in (
        {"issuer": " "},
        {"reference": ""},
        {"purpose": "crowd_statistics"},
        {"cameras": []},
        {"ends_at": now() - timedelta(hours=1)},
    ):
        with pytest.raises(InvalidError):
            create_authorization(db, AuthorizationInput(**{**good, **bad}), ALICE, CONFIG)  # type: ignore[arg-type]


def test_a_watchlist_cannot_be_active_without_an_authorization(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    assert wl.active_watchlists(db, CONFIG) == []
    with pytest.raises(PolicyError, match="does not cover camera"):
        wl.activate(db, row.id, authorization(db, ["c2"]).id, ALICE)  # another camera's authorization
    auth = authorization(db, ["c1", "c2"])
    revoke_authorization(db, auth.id, "quashed on appeal", ALICE)
    with pytest.raises(PolicyError, match="revoked"):
        wl.activate(db, row.id, auth.id, ALICE)
    assert db.get(type(row), row.id).status == WatchlistStatus.DRAFT  # type: ignore[union-attr]
    wl.activate(db, row.id, authorization(db, ["c1"]).id, ALICE)
    (active,) = wl.active_watchlists(db, CONFIG)
    assert active.id == row.id and active.cameras == {"c1"} and active.templates.shape == (1, 128)


def test_it_stops_by_itself_at_expiry(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    auth = authorization(db, ["c1"], hours=2)
    wl.activate(db, row.id, auth.id, ALICE)
    later = now() + timedelta(hours=2, seconds=1)
    assert wl.active_watchlists(db, CONFIG, at=later) == []  # never returned past its end, sweep or not
    assert len(wl.active_watchlists(db, CONFIG)) == 1
    result = wl.sweep(db, CONFIG, lambda key: None, at=later)
    assert (
        result.stopped == 1
        and row.status == WatchlistStatus.STOPPED
        and row.stop_reason == "authorization ended"
    )


def test_revoking_the_authorization_stops_the_watchlist(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    auth = authorization(db, ["c1"])
    wl.activate(db, row.id, auth.id, ALICE)
    revoke_authorization(db, auth.id, "purpose achieved: child found", BOB)
    assert wl.active_watchlists(db, CONFIG) == []
    assert wl.sweep(db, CONFIG, lambda key: None).stopped == 1


def test_urgent_start_needs_a_written_justification(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    with pytest.raises(PolicyError, match="justification"):
        wl.start_urgent(db, row.id, "urgent", ALICE, CONFIG)
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    (active,) = wl.active_watchlists(db, CONFIG)
    assert active.ends_at == row.urgent_started_at + timedelta(hours=24)  # type: ignore[operator]


def test_urgent_start_without_authorization_is_stopped_and_purged_after_24_h(
    db: Session, sessions: Callable[[], Session]
) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1), template(2)])
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    entry_id = db.scalars(select(EntryRow.id).where(EntryRow.watchlist_id == row.id)).first()
    assert entry_id is not None
    record_match(db, NewMatch(row.id, entry_id, "c1", 7, now(), 0.7, 0.5, "biometrics/matches/c1/x.jpg"))
    db.commit()
    deleted: list[str] = []
    registry = WatchlistRegistry(sessions, CONFIG, deleted.append)
    assert len(registry.refresh(now() + timedelta(hours=23))) == 1  # still inside the 24 h
    assert registry.refresh(now() + timedelta(hours=24, minutes=1)) == []
    db.expire_all()
    assert db.get(type(row), row.id).status == WatchlistStatus.PURGED  # type: ignore[union-attr]
    entries = db.scalars(select(EntryRow).where(EntryRow.watchlist_id == row.id)).all()
    assert entries and all(e.template is None for e in entries)  # the templates are gone
    assert db.scalars(select(MatchRow)).all() == []  # match rows go too (issue 16); the audit log keeps them
    assert deleted == ["biometrics/matches/c1/x.jpg"]


def test_attaching_an_authorization_in_time_keeps_the_urgent_watchlist(db: Session) -> None:
    row = reviewed_watchlist(db, ["c1"], [template(1)])
    wl.start_urgent(db, row.id, JUSTIFICATION, ALICE, CONFIG)
    auth = authorization(db, ["c1"], hours=72)
    wl.attach_authorization(db, row.id, auth.id, BOB, CONFIG)
    result = wl.sweep(db, CONFIG, lambda key: None, at=now() + timedelta(hours=25))
    assert result.purged == 0 and row.status == WatchlistStatus.ACTIVE
    assert wl.active_watchlists(db, CONFIG, at=now() + timedelta(hours=25))[0].ends_at == auth.ends_at
