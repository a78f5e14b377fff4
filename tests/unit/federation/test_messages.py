"""The allow-list in the types: what a city may publish, and what the national consumer accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from safecity.federation.city import event_summary
from safecity.federation.messages import (
    AlertSummary,
    Envelope,
    decode,
    down_subject,
    encode,
    msg_id,
    up_subject,
)
from safecity.types import Event, EventKind, OccupancyGrid

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def alert(**extra: object) -> AlertSummary:
    return AlertSummary(
        alert_id=1,
        alert_kind="crowding",
        severity="high",
        status="new",
        title="Crowding",
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
        **extra,
    )  # type: ignore[arg-type]


def test_a_summary_has_no_room_for_a_template_or_a_snapshot() -> None:
    with pytest.raises(ValidationError, match="template"):
        alert(template="AAAA")
    with pytest.raises(ValidationError, match="snapshot"):
        alert(snapshot="snapshots/rome/1.jpg")


def test_the_national_decoder_refuses_unknown_kinds_and_extra_fields() -> None:
    good = encode(Envelope(site="rome", sent_at=NOW, body=alert()))
    assert decode(good).body == alert()
    with pytest.raises(ValueError):
        decode(good.replace(b'"kind":"alert"', b'"kind":"face_template"'))
    with pytest.raises(ValueError):
        decode(good.replace(b'"severity":"high"', b'"severity":"high","crop_key":"biometrics/x.jpg"'))


def test_subjects_are_allow_listed_per_direction() -> None:
    assert up_subject("rome", "alert") == "safecity.fed.rome.alert"
    assert down_subject("rome", "media_request") == "safecity.fedctl.rome.media_request"
    for kind in ("watchlist", "face_template", "match", "media_request"):
        with pytest.raises(ValueError, match="may not leave"):
            up_subject("rome", kind)
    with pytest.raises(ValueError, match="may not flow down"):
        down_subject("rome", "alert")
    with pytest.raises(ValueError, match="site id"):
        up_subject("rome.>", "alert")  # a wildcard would widen the subject


def test_an_event_summary_drops_track_id_snapshot_and_grid() -> None:
    e = Event(
        camera_id="c1",
        kind=EventKind.OCCUPANCY,
        start=NOW,
        end=NOW,
        track_id=42,
        snapshot="s/1.jpg",
        grid=OccupancyGrid(4, 4, ((1, 2),)),
        label="person",
    )
    data = encode(Envelope(site="rome", sent_at=NOW, body=event_summary(e)))
    for secret in (b"987654", b"s/1.jpg", b"cells", b"track"):
        assert secret not in data
    assert msg_id(decode(data)) == f"rome.ev.{e.id}"


def test_federation_settings_name_the_missing_key() -> None:
    from safecity.federation.config import FederationConfig

    with pytest.raises(ValidationError, match=r"federation\.site is required"):
        FederationConfig(mode="national")
    with pytest.raises(ValidationError, match=r"federation\.parent_domain"):
        FederationConfig.model_validate({"mode": "city", "site": {"id": "rome", "name": "Roma"}})
    with pytest.raises(ValidationError, match="pattern"):
        FederationConfig.model_validate({"mode": "off", "site": {"id": "Rome.>", "name": "x"}})
