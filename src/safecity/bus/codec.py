"""Event <-> JSON codec, for buses that carry bytes (NATS JetStream) and for exports.

The dict form is JSON-ready: `kind` is the enum value, times are ISO 8601 in UTC with an explicit
offset, `schema_version` travels with every event. A reader rejects events from a newer schema than
it knows, and ignores keys it does not know (a tolerant reader within one schema version).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from safecity.types import EVENT_SCHEMA_VERSION, Event, EventKind, OccupancyGrid

_REQUIRED = ("id", "schema_version", "camera_id", "kind", "start", "end")
_OPTIONAL_STR = ("label", "line_id", "zone_id", "direction", "snapshot")
_OPTIONAL_INT = ("track_id", "count")


def _iso(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: events carry timezone-aware times")
    return value.astimezone(UTC).isoformat()


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-serialisable dict of `event` (`value` only when set: readers of schema 1 ignore it)."""
    data = {
        "schema_version": event.schema_version,
        "id": event.id,
        "camera_id": event.camera_id,
        "kind": EventKind(event.kind).value,
        "start": _iso(event.start),
        "end": _iso(event.end),
        "label": event.label,
        "track_id": event.track_id,
        "line_id": event.line_id,
        "zone_id": event.zone_id,
        "direction": event.direction,
        "count": event.count,
        "score": event.score,
        "snapshot": event.snapshot,
        "grid": None if event.grid is None else event.grid.to_dict(),
    }
    if event.value is not None:
        data["value"] = event.value
    return data


def _time(data: dict[str, Any], key: str) -> datetime:
    raw = data[key]
    if not isinstance(raw, str):
        raise ValueError(f"event field {key!r} must be an ISO 8601 string, got {type(raw).__name__}")
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError(f"event field {key!r} has no UTC offset: {raw!r}")
    return value.astimezone(UTC)


def _typed(data: dict[str, Any], key: str, types: tuple[type, ...], optional: bool) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, types):
        names = "/".join(t.__name__ for t in types)
        raise ValueError(f"event field {key!r} must be {names}, got {value!r}")
    return value


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an `Event` from `event_to_dict`'s output; ValueError on a malformed or newer event."""
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"event is missing field(s): {', '.join(missing)}")
    version = _typed(data, "schema_version", (int,), optional=False)
    if version < 1:
        raise ValueError(f"event schema_version must be >= 1, got {version}")
    if version > EVENT_SCHEMA_VERSION:
        raise ValueError(f"event schema_version {version} is newer than this reader ({EVENT_SCHEMA_VERSION})")
    score = _typed(data, "score", (int, float), optional=True)
    value = _typed(data, "value", (int, float), optional=True)
    return Event(
        id=_typed(data, "id", (str,), optional=False),
        schema_version=version,
        camera_id=_typed(data, "camera_id", (str,), optional=False),
        kind=EventKind(_typed(data, "kind", (str,), optional=False)),
        start=_time(data, "start"),
        end=_time(data, "end"),
        score=None if score is None else float(score),
        value=None if value is None else float(value),
        grid=None if data.get("grid") is None else OccupancyGrid.from_dict(data["grid"]),
        **{key: _typed(data, key, (str,), optional=True) for key in _OPTIONAL_STR},
        **{key: _typed(data, key, (int,), optional=True) for key in _OPTIONAL_INT},
    )


def event_to_json(event: Event) -> bytes:
    """UTF-8 JSON of `event` (compact, keys sorted: the same event always gives the same bytes)."""
    return json.dumps(event_to_dict(event), sort_keys=True, separators=(",", ":")).encode()


def event_from_json(data: bytes | str) -> Event:
    """Parse `event_to_json`'s output."""
    decoded = json.loads(data)
    if not isinstance(decoded, dict):
        raise ValueError(f"an event is a JSON object, got {type(decoded).__name__}")
    return event_from_dict(decoded)
