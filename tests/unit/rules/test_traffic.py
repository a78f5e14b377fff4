"""Traffic rules on tracks moving through real supervision line and polygon zones."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from safecity.config.models import CameraConfig
from safecity.rules.engine import CameraRules
from safecity.types import EventKind

CAR, PERSON = 2, 0
LABELS = ("person", "car")


def camera(**extra: object) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "road",
            "source": "x.mp4",
            "lines": [
                {"id": "a", "start": [0, 100], "end": [640, 100]},
                {"id": "b", "start": [0, 300], "end": [640, 300]},
            ],
            **extra,
        }
    )


def frame(*objects: tuple[int, int, float, float]) -> sv.Detections:
    """(track id, class, x, y bottom centre) -> a 40x30 box standing on (x, y)."""
    if not objects:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array([[x - 20, y - 30, x + 20, y] for _, _, x, y in objects], np.float32),
        confidence=np.full(len(objects), 0.9, np.float32),
        class_id=np.array([c for _, c, _, _ in objects]),
        tracker_id=np.array([t for t, _, _, _ in objects]),
    )


def drive(rules: CameraRules, path: list[tuple[float, list[tuple[int, int, float, float]]]]) -> list:
    hits = []
    for ts, objects in path:
        hits += rules.update(frame(*objects), ts)
    return [h.event for h in hits]


def test_speed_between_two_lines_in_either_order() -> None:
    cam = camera(speeds=[{"id": "s", "from_line": "a", "to_line": "b", "distance_m": 20, "limit_kmh": 50}])
    rules = CameraRules(cam, LABELS)
    # car 1 goes down from y=60 to y=340 in 1.6 s: crosses a at ~0.4 s... measured between the crossings
    down = [(1000 + 0.2 * k, [(1, CAR, 320, 60 + 40 * k)]) for k in range(9)]
    up = [(2000 + 0.5 * k, [(2, CAR, 100, 340 - 40 * k)]) for k in range(9)]
    events = drive(rules, down + up)
    speeds = [e for e in events if e.kind == EventKind.SPEED]
    assert [(e.track_id, e.direction) for e in speeds] == [(1, "a->b"), (2, "b->a")]
    crossings = {(e.track_id, e.line_id): e.start.timestamp() for e in events if e.line_id in ("a", "b")
                 and e.kind == EventKind.LINE_CROSSING}  # fmt: skip
    for e in speeds:
        dt = abs(crossings[(e.track_id, "b")] - crossings[(e.track_id, "a")])
        assert e.value == pytest.approx(20 / dt * 3.6, abs=0.1)
    assert speeds[0].value is not None and speeds[0].value > 50  # 200 px per 0.2 s: fast
    speeding = [e for e in events if e.kind == EventKind.SPEEDING]
    assert [e.track_id for e in speeding] == [1]  # car 2 is slower than the limit


def test_people_are_not_timed_by_a_vehicle_rule() -> None:
    cam = camera(speeds=[{"id": "s", "from_line": "a", "to_line": "b", "distance_m": 20}])
    events = drive(CameraRules(cam, LABELS), [(0.5 * k, [(3, PERSON, 320, 60 + 40 * k)]) for k in range(9)])
    assert any(e.kind == EventKind.LINE_CROSSING for e in events)
    assert not any(e.kind == EventKind.SPEED for e in events)


def test_wrong_way_once_per_track_against_the_allowed_direction() -> None:
    zone = {"id": "oneway", "polygon": [[0, 0], [640, 0], [640, 480], [0, 480]], "direction": [0, 1]}
    rules = CameraRules(camera(zones=[zone]), LABELS)
    with_flow = [(0.2 * k, [(1, CAR, 100, 50 + 20 * k)]) for k in range(10)]
    against = [(10 + 0.2 * k, [(2, CAR, 300, 400 - 20 * k)]) for k in range(10)]
    sideways = [(20 + 0.2 * k, [(3, CAR, 50 + 30 * k, 200)]) for k in range(10)]
    events = [e for e in drive(rules, with_flow + against + sideways) if e.kind == EventKind.WRONG_WAY]
    assert [(e.track_id, e.zone_id, e.label) for e in events] == [(2, "oneway", "car")]


def test_speed_rule_must_name_lines_of_the_camera() -> None:
    with pytest.raises(ValidationError, match="no line c"):
        camera(speeds=[{"id": "s", "from_line": "a", "to_line": "c", "distance_m": 20}])
    with pytest.raises(ValidationError, match="two different lines"):
        camera(speeds=[{"id": "s", "from_line": "a", "to_line": "a", "distance_m": 20}])
