"""G7: each entry records source, legal basis and expiry; a watchlist is reviewed after its last change
before it can be activated; bulk import from unverified sources is refused. G11: thresholds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from safecity.biometrics import thresholds as th
from safecity.biometrics import watchlists as wl
from safecity.biometrics.common import ConflictError, InvalidError, PolicyError
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import ThresholdStatus
from support.biometrics_fixtures import ALICE, BOB, CAROL, CONFIG, authorization, entry, now, template


def test_an_entry_needs_source_legal_basis_and_an_expiry(db: Session) -> None:
    row = wl.create_watchlist(db, "missing", "", ["c1"], ALICE, CONFIG)
    good = entry()
    for bad in (
        wl.EntryInput(good.label, " ", good.legal_basis, good.expires_at),
        wl.EntryInput(good.label, good.source, "", good.expires_at),
        wl.EntryInput(good.label, good.source, good.legal_basis, now() - timedelta(days=1)),
        wl.EntryInput(
            good.label, good.source, good.legal_basis, now() + timedelta(days=CONFIG.max_entry_days + 1)
        ),
    ):
        with pytest.raises(InvalidError):
            wl.add_entries(db, row.id, [(bad, template(1))], ALICE, CONFIG)
    (added,) = wl.add_entries(db, row.id, [(good, template(1))], ALICE, CONFIG)
    assert added.source and added.legal_basis and added.expires_at > now()


def test_review_after_the_last_change_by_another_person_before_activation(db: Session) -> None:
    row = wl.create_watchlist(db, "missing", "", ["c1"], ALICE, CONFIG)
    wl.add_entries(db, row.id, [(entry(), template(1))], ALICE, CONFIG)
    auth = authorization(db, ["c1"])
    with pytest.raises(PolicyError, match="reviewed"):
        wl.activate(db, row.id, auth.id, ALICE)
    with pytest.raises(PolicyError, match="another person"):
        wl.review_watchlist(db, row.id, "looks fine", ALICE)  # no self-review
    wl.review_watchlist(db, row.id, "sources checked", BOB)
    wl.add_entries(db, row.id, [(entry("second person"), template(2))], ALICE, CONFIG)  # a change after it
    with pytest.raises(PolicyError, match="changed after its last review"):
        wl.activate(db, row.id, auth.id, ALICE)
    wl.review_watchlist(db, row.id, "second entry checked", CAROL)
    assert wl.activate(db, row.id, auth.id, ALICE).status == "active"
    with pytest.raises(ConflictError, match="stopped or draft"):  # no silent additions while it runs
        wl.add_entries(db, row.id, [(entry("third"), template(3))], ALICE, CONFIG)


def test_removing_an_entry_deletes_its_template_and_needs_a_new_review(db: Session) -> None:
    row = wl.create_watchlist(db, "missing", "", ["c1"], ALICE, CONFIG)
    a, b = wl.add_entries(db, row.id, [(entry("a"), template(1))], ALICE, CONFIG) + wl.add_entries(
        db, row.id, [(entry("b"), template(2))], ALICE, CONFIG
    )
    wl.review_watchlist(db, row.id, "ok", BOB)
    wl.remove_entry(db, a.id, "found safe", ALICE)
    assert a.template is None and a.removed_by == "alice" and b.template is not None
    assert row.reviewed_at is None


def test_expired_entries_lose_their_template(db: Session) -> None:
    row = wl.create_watchlist(db, "missing", "", ["c1"], ALICE, CONFIG)
    (e,) = wl.add_entries(db, row.id, [(entry(days=2), template(1))], ALICE, CONFIG)
    assert wl.sweep(db, CONFIG, lambda k: None, at=now() + timedelta(days=3)).entries_expired == 1
    assert e.template is None and e.remove_reason == "expired"


def test_bulk_import_from_unverified_sources_is_refused(db: Session) -> None:
    config = BiometricsConfig(verified_sources=("sdi-wanted-persons",))
    row = wl.create_watchlist(db, "wanted", "", ["c1"], ALICE, config)
    batch = [
        (entry("x", registry="sdi-wanted-persons"), template(1)),
        (entry("y", registry="a spreadsheet"), template(2)),
    ]
    with pytest.raises(PolicyError, match="bulk import refused: unverified source"):
        wl.add_entries(db, row.id, batch, ALICE, config)
    with pytest.raises(PolicyError):
        wl.add_entries(db, row.id, [(entry("x"), template(1)), (entry("y"), template(2))], ALICE, config)
    assert wl.live_entries(db, row.id) == []
    verified = [(entry(n, registry="sdi-wanted-persons"), template(i)) for i, n in enumerate("xyz")]
    assert len(wl.add_entries(db, row.id, verified, ALICE, config)) == 3
    assert len(wl.add_entries(db, row.id, [(entry("single, by hand"), template(9))], ALICE, config)) == 1


def test_threshold_below_the_validated_minimum_needs_a_second_approver(db: Session) -> None:
    row = wl.create_watchlist(db, "missing", "", ["c1"], ALICE, CONFIG)
    stricter = th.request_threshold(db, row.id, 0.55, "fewer false alarms", ALICE, CONFIG)
    assert stricter.status == ThresholdStatus.APPLIED and row.threshold == 0.55
    looser = th.request_threshold(db, row.id, 0.3, "blurry camera", ALICE, CONFIG)
    assert looser.status == ThresholdStatus.PENDING and row.threshold == 0.55  # not applied yet
    with pytest.raises(PolicyError, match="second approver"):
        th.decide_threshold(db, looser.id, True, ALICE)  # the requester cannot approve it
    assert row.threshold == 0.55
    th.decide_threshold(db, looser.id, True, BOB)
    assert row.threshold == 0.3 and looser.decided_by == "bob"
    with pytest.raises(ConflictError):
        th.decide_threshold(db, looser.id, True, CAROL)  # decided once
    rejected = th.request_threshold(db, row.id, 0.2, "even looser", ALICE, CONFIG)
    th.decide_threshold(db, rejected.id, False, CAROL)
    assert row.threshold == 0.3 and rejected.status == ThresholdStatus.REJECTED
