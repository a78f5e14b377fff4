"""Vehicle hotlists under the accountability of face watchlists, attacked: a read is matched only under an
authorization of scope `vehicles` in force (expired or revoked: nothing is raised), a hit waits for two
different people, a rejected hit's read falls back to the non-hit retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import AuthorizationInput, create_authorization, revoke_authorization
from safecity.biometrics.common import InvalidError, PolicyError
from safecity.biometrics.models import AuthorizationRow, MatchStatus
from safecity.biometrics.watchlists import activate as activate_watchlist
from safecity.governance import audit
from safecity.governance.evidence import LockSet
from safecity.media.storage import LocalMediaStorage
from safecity.operations.live import NullLive
from safecity.plates import hits as ht
from safecity.plates import hotlists as hl
from safecity.plates.models import HotlistRow, PlateHitRow, PlateReadRow
from safecity.plates.retention import PlateRetention
from safecity.plates.runtime import Plates, PlateStep
from safecity.types import Event
from safecity.vision.plate_stage import TrackPlate
from safecity.vision.plates import PlateRead
from safecity.vision.plates_config import PlatesConfig
from support.biometrics_fixtures import (
    ALICE,
    BOB,
    CAROL,
    CLERK,
    CONFIG,
    authorization,
    now,
    reviewed_watchlist,
    template,
)

CAM = "gate"
REVIEW = frozenset({"plates:review"})
PLATES = PlatesConfig(enabled=True, non_hit_retention_hours=0)


def vehicle_authorization(
    db: Session, hours: float = 24, cameras: tuple[str, ...] = (CAM,)
) -> AuthorizationRow:
    data = AuthorizationInput(
        issuer="Procura di Roma",
        reference="stolen vehicles 2026/881",
        purpose="stolen_vehicle",
        cameras=cameras,
        starts_at=now() - timedelta(minutes=1),
        ends_at=now() + timedelta(hours=hours),
        scope="vehicles",
    )
    return create_authorization(db, data, CLERK, CONFIG)


def active_hotlist(
    db: Session, plates: tuple[str, ...] = ("AB 123 CD",), fuzzy: bool = False, hours: float = 24
) -> tuple[HotlistRow, AuthorizationRow]:
    auth = vehicle_authorization(db, hours)
    row = hl.create_hotlist(db, f"stolen-{fuzzy}-{hours}", "", [CAM], fuzzy, ALICE)
    entries = [
        hl.HotlistEntryInput(p, "stolen 2026-12-01", "report 2026/77", now() + timedelta(days=30))
        for p in plates
    ]
    hl.add_entries(db, row.id, entries, ALICE, PLATES)
    hl.activate(db, row.id, auth.id, ALICE)
    db.commit()
    return row, auth


def _actions(db: Session) -> list[str]:
    return [e.action for e in reversed(audit.entries(db.connection(), limit=1000))]  # oldest first


def test_hotlist_changes_are_audited_and_plates_normalized(db: Session) -> None:
    row, _ = active_hotlist(db, ("ab-123 cd",))
    (entry,) = hl.live_entries(db, row.id)
    assert entry.plate == "AB123CD"
    hl.update_hotlist(db, row.id, BOB, fuzzy=True)
    hl.remove_entry(db, entry.id, "vehicle found", BOB)
    hl.stop(db, row.id, "case closed", BOB)
    assert [a for a in _actions(db) if a.startswith("plates.")] == [
        "plates.hotlist.create",
        "plates.hotlist.entry.add",
        "plates.hotlist.activate",
        "plates.hotlist.update",
        "plates.hotlist.entry.remove",
        "plates.hotlist.stop",
    ]


def test_an_expired_authorization_matches_nothing(db: Session, sessions: Callable[[], Session]) -> None:
    row, auth = active_hotlist(db, hours=1)
    registry = hl.HotlistRegistry(sessions, PLATES)
    lists = registry.refresh()
    assert hl.match(lists, CAM, "AB123CD", now()) is not None, "in force: a hit"
    after = auth.ends_at + timedelta(seconds=1)
    assert hl.match(lists, CAM, "AB123CD", after) is None, "the cached list expires with its authorization"
    assert registry.refresh(after) == []
    with sessions() as s:
        assert hl.get_hotlist(s, row.id).status == "stopped"
        assert "plates.hotlist.stop" in _actions(s)


def test_a_revoked_authorization_matches_nothing(db: Session, sessions: Callable[[], Session]) -> None:
    row, auth = active_hotlist(db)
    revoke_authorization(db, auth.id, "order withdrawn", BOB)
    db.commit()
    assert hl.HotlistRegistry(sessions, PLATES).refresh() == []
    with sessions() as s:
        assert hl.get_hotlist(s, row.id).stop_reason == "authorization revoked"


def test_an_expired_authorization_raises_no_hit_in_the_plate_step(
    engine: Engine, sessions: Callable[[], Session], tmp_path: Path
) -> None:
    with sessions() as db:
        _, auth = active_hotlist(db, hours=1)
    live = NullLive()
    step = _step(sessions, tmp_path, live)
    step.record(_plate("AB123CD"), (auth.ends_at + timedelta(seconds=5)).timestamp())
    with sessions() as db:
        assert db.scalars(select(PlateHitRow)).all() == []
        assert db.scalars(select(PlateReadRow)).all() == [], "a non-hit with period 0 is not even stored"
    assert live.sent == []


def test_authorizations_of_one_scope_are_refused_for_the_other(db: Session) -> None:
    face_auth = authorization(db, [CAM])
    row = hl.create_hotlist(db, "amber", "", [CAM], False, ALICE)
    hl.add_entries(
        db,
        row.id,
        [hl.HotlistEntryInput("XY987", "AMBER", "alert 12", now() + timedelta(days=1))],
        ALICE,
        PLATES,
    )
    with pytest.raises(PolicyError, match="is for faces, not vehicles"):
        hl.activate(db, row.id, face_auth.id, ALICE)
    car_auth = vehicle_authorization(db)
    watchlist = reviewed_watchlist(db, [CAM], [template(1)])
    with pytest.raises(PolicyError, match="is for vehicles, not faces"):
        activate_watchlist(db, watchlist.id, car_auth.id, CAROL)
    with pytest.raises(InvalidError, match="purpose"):
        create_authorization(
            db,
            AuthorizationInput("court", "x", "stolen_vehicle", [CAM], now(), now() + timedelta(hours=1)),
            CLERK,
            CONFIG,
        )  # a face authorization for stolen cars


def test_the_recorder_of_the_authorization_may_not_use_it(db: Session) -> None:
    auth = vehicle_authorization(db)
    row = hl.create_hotlist(db, "stolen", "", [CAM], False, ALICE)
    hl.add_entries(
        db, row.id, [hl.HotlistEntryInput("AB123CD", "s", "r", now() + timedelta(days=1))], ALICE, PLATES
    )
    with pytest.raises(PolicyError, match="separation of duties"):
        hl.activate(db, row.id, auth.id, CLERK)
    other = hl.create_hotlist(db, "other", "", ["other-cam"], False, ALICE)
    hl.add_entries(
        db, other.id, [hl.HotlistEntryInput("ZZ1", "s", "r", now() + timedelta(days=1))], ALICE, PLATES
    )
    with pytest.raises(PolicyError, match="does not cover"):
        hl.activate(db, other.id, auth.id, ALICE)


def test_fuzzy_matches_are_flagged_and_only_on_fuzzy_lists(
    db: Session, sessions: Callable[[], Session]
) -> None:
    active_hotlist(db, ("AB1234",), fuzzy=False)
    lists = hl.active_hotlists(db)
    assert hl.match(lists, CAM, "A81234", now()) is None, "B/8 look-alike: not on an exact-only list"
    active_hotlist(db, ("CD5O12",), fuzzy=True)  # listed with a letter O
    lists = hl.active_hotlists(db)
    exact = hl.match(lists, CAM, "AB1234", now())
    assert exact is not None and not exact.fuzzy
    look_alike = hl.match(lists, CAM, "CD5012", now())  # read with a zero
    assert look_alike is not None and look_alike.fuzzy and look_alike.entry.plate == "CD5O12"
    assert hl.match(lists, CAM, "CD5013", now()) is None, "another character is no look-alike"
    assert hl.match(lists, "other-cam", "AB1234", now()) is None, "only on the hotlist's cameras"


def _plate(text: str) -> TrackPlate:
    crop = np.full((20, 80, 3), 200, np.uint8)
    return TrackPlate(7, PlateRead(text, text, 0.91, "generic", (0, 0, 80, 20)), crop, "approaching")


def _step(
    sessions: Callable[[], Session], tmp_path: Path, live: NullLive, config: PlatesConfig = PLATES
) -> PlateStep:
    plates = Plates(config, tmp_path, sessions, LocalMediaStorage(tmp_path / "media"), live=live)
    events: list[Event] = []
    return PlateStep(CAM, None, plates, events.append)  # type: ignore[arg-type]  # record() needs no stage


def _hit(sessions: Callable[[], Session], tmp_path: Path) -> tuple[int, NullLive]:
    with sessions() as db:
        active_hotlist(db)
    live = NullLive()
    _step(sessions, tmp_path, live).record(_plate("AB123CD"), now().timestamp())
    with sessions() as db:
        (hit,) = db.scalars(select(PlateHitRow)).all()
    return hit.id, live


def test_a_hit_is_kept_as_evidence_and_alerts_the_reviewers(
    sessions: Callable[[], Session], tmp_path: Path
) -> None:
    hit_id, live = _hit(sessions, tmp_path)
    ((kind, alert, camera, _),) = live.sent
    assert (kind, camera, alert["plate"], alert["listed"], alert["fuzzy"]) == (
        "plate_hit",
        CAM,
        "AB123CD",
        "AB123CD",
        False,
    )
    assert alert["confidence"] == 0.91 and alert["crop"] == f"/api/hotlists/hits/{hit_id}/crop"
    with sessions() as db:
        (read,) = db.scalars(select(PlateReadRow)).all()
        hit = db.get(PlateHitRow, hit_id)
        assert read.hit and hit is not None and hit.read_id == read.id and hit.crop_key == read.crop
        assert hit.status == MatchStatus.PENDING.value
        (entry,) = [e for e in audit.entries(db.connection()) if e.action == "plates.hit"]
        assert "AB123CD" not in str(entry.details), "the audit log holds no read text"


def test_a_hit_is_not_actionable_before_two_different_people_confirm(
    sessions: Callable[[], Session], tmp_path: Path
) -> None:
    hit_id, _ = _hit(sessions, tmp_path)
    with sessions() as db:
        with pytest.raises(PolicyError, match="2 different reviewers"):
            ht.dispatch_hit(db, hit_id, "stop the car", ALICE, REVIEW)
        with pytest.raises(PolicyError, match="plates:review"):
            ht.review_hit(db, hit_id, True, "", ALICE, frozenset({"biometrics:review"}))
        with pytest.raises(PolicyError, match="separation of duties"):
            ht.review_hit(db, hit_id, True, "matches", CLERK, REVIEW)  # recorded the authorization
        ht.review_hit(db, hit_id, True, "read matches the crop", ALICE, REVIEW)
        with pytest.raises(PolicyError, match="already reviewed"):
            ht.review_hit(db, hit_id, True, "really", ALICE, REVIEW)  # the same person twice
        with pytest.raises(PolicyError, match="2 different reviewers"):
            ht.dispatch_hit(db, hit_id, "stop the car", ALICE, REVIEW)
        assert ht.review_hit(db, hit_id, True, "agree", BOB, REVIEW).status == MatchStatus.CONFIRMED.value
        assert ht.dispatch_hit(db, hit_id, "unit 4 stops it", CAROL, REVIEW).status == "dispatched"
        actions = _actions(db)
        assert actions.count("plates.hit.review") == 2 and "plates.hit.dispatch" in actions


def test_a_rejected_hit_falls_back_to_the_non_hit_retention(
    engine: Engine, sessions: Callable[[], Session], tmp_path: Path
) -> None:
    hit_id, _ = _hit(sessions, tmp_path)
    media = LocalMediaStorage(tmp_path / "media")
    retention = PlateRetention(engine, media, PLATES)
    retention.purge(now() + timedelta(hours=1), LockSet(), dry_run=False)
    with sessions() as db:
        assert len(db.scalars(select(PlateReadRow)).all()) == 1, (
            "a hit's read is evidence: retention keeps it"
        )
        row = ht.review_hit(db, hit_id, False, "the crop reads AB123CO", ALICE, REVIEW)
        assert (row.status, row.plate, row.crop_key, row.read_id) == ("rejected", None, None, None)
        db.commit()
    retention.purge(now() + timedelta(hours=1), LockSet(), dry_run=False)
    with sessions() as db:
        assert db.scalars(select(PlateReadRow)).all() == []
    assert not list((tmp_path / "media").rglob("*.jpg"))


def test_a_hit_is_stored_once_whatever_the_non_hit_period(
    sessions: Callable[[], Session], tmp_path: Path
) -> None:
    with sessions() as db:
        active_hotlist(db)
    step = _step(sessions, tmp_path, NullLive(), PlatesConfig(enabled=True, non_hit_retention_hours=24))
    step.record(_plate("AB123CD"), now().timestamp())
    step.record(_plate("ZZ999ZZ"), now().timestamp())
    with sessions() as db:
        reads = {r.plate: r.hit for r in db.scalars(select(PlateReadRow))}
        assert (
            reads == {"AB123CD": True, "ZZ999ZZ": False} and len(db.scalars(select(PlateReadRow)).all()) == 2
        )


@pytest.mark.parametrize("plate", ["ÄB12CD", "AB_12", "-", "A" * 17, "AB12\u200b"])
def test_an_entry_is_refused_rather_than_silently_changed(db: Session, plate: str) -> None:
    row = hl.create_hotlist(db, "stolen", "", [CAM], False, ALICE)
    with pytest.raises(InvalidError, match="plate"):
        hl.add_entries(
            db, row.id, [hl.HotlistEntryInput(plate, "s", "r", now() + timedelta(days=1))], ALICE, PLATES
        )
