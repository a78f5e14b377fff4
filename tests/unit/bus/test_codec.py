"""Event <-> dict/JSON codec: lossless round trips, UTC times, schema version checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from safecity.bus import event_from_dict, event_from_json, event_to_dict, event_to_json
from safecity.types import EVENT_SCHEMA_VERSION, Event, EventKind

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def full_event(kind: EventKind) -> Event:
    return Event(
        camera_id="cam/é 1", kind=kind, start=T0, end=T0 + timedelta(seconds=3), label="person",
        track_id=12, line_id="gate", zone_id="plaza", direction="in", count=4, score=0.5,
        snapshot="snapshots/cam1/2025-03-01/x.jpg",
    )  # fmt: skip


@pytest.mark.parametrize("kind", list(EventKind))
def test_round_trip_every_kind(kind: EventKind) -> None:
    e = full_event(kind)
    assert event_from_dict(event_to_dict(e)) == e
    assert event_from_json(event_to_json(e)) == e
    minimal = Event(camera_id="c", kind=kind, start=T0, end=T0)
    assert event_from_json(event_to_json(minimal)) == minimal


def test_dict_is_plain_json_with_schema_version() -> None:
    d = event_to_dict(full_event(EventKind.CROWDING))
    assert json.loads(json.dumps(d)) == d
    assert d["schema_version"] == EVENT_SCHEMA_VERSION
    assert d["kind"] == "crowding"
    assert d["start"] == "2025-03-01T12:00:00.123456+00:00"


def test_times_are_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    start = datetime(2025, 1, 1, 13, 0, tzinfo=cet)
    e = Event(camera_id="c", kind=EventKind.ZONE_ENTER, start=start, end=start)
    d = event_to_dict(e)
    assert d["start"] == "2025-01-01T12:00:00+00:00"
    back = event_from_dict(d)
    assert back.start == start and back.start.utcoffset() == timedelta(0)


def test_json_is_deterministic() -> None:
    e = full_event(EventKind.LOITERING)
    assert event_to_json(e) == event_to_json(event_from_json(event_to_json(e)))


def test_naive_time_is_rejected_both_ways() -> None:
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        event_to_dict(Event(camera_id="c", kind=EventKind.CROWDING, start=naive, end=naive))
    d = event_to_dict(full_event(EventKind.CROWDING))
    d["start"] = "2025-01-01T00:00:00"
    with pytest.raises(ValueError, match="offset"):
        event_from_dict(d)


def test_newer_schema_version_is_rejected() -> None:
    d = event_to_dict(full_event(EventKind.CROWDING))
    d["schema_version"] = EVENT_SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        event_from_dict(d)


def test_unknown_keys_are_ignored() -> None:
    e = full_event(EventKind.ZONE_EXIT)
    d = event_to_dict(e) | {"future_field": 1}
    assert event_from_dict(d) == e


@pytest.mark.parametrize(
    ("key", "value"),
    [("kind", "teleport"), ("track_id", "12"), ("count", True), ("score", "high"), ("camera_id", None),
     ("start", 1700000000)],
)  # fmt: skip
def test_malformed_fields_are_rejected(key: str, value: object) -> None:
    d = event_to_dict(full_event(EventKind.CROWDING))
    d[key] = value
    with pytest.raises(ValueError):
        event_from_dict(d)


def test_missing_required_field_is_rejected() -> None:
    d = event_to_dict(full_event(EventKind.CROWDING))
    del d["camera_id"]
    with pytest.raises(ValueError, match="camera_id"):
        event_from_dict(d)


def test_json_must_be_an_object() -> None:
    with pytest.raises(ValueError):
        event_from_json(b"[1, 2]")
