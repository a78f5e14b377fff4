"""Rules on tracks that move the way people do: crossing a line, gathering in a zone, lingering."""

from __future__ import annotations

import numpy as np
import supervision as sv

from safecity.config.models import CameraConfig, CrowdingRule, LineConfig, LoiteringRule, ZoneConfig
from safecity.rules import CameraRules
from safecity.types import EventKind

LABELS = ("person", "car")


def tracks(boxes: list[tuple[int, float, float, int]]) -> sv.Detections:
    """(track id, foot x, foot y, coco class) -> a 20x60 box standing on (x, y)."""
    if not boxes:
        return sv.Detections.empty()
    xyxy = np.array([[x - 10, y - 60, x + 10, y] for _, x, y, _ in boxes], np.float32)
    return sv.Detections(
        xyxy=xyxy,
        confidence=np.full(len(boxes), 0.9, np.float32),
        class_id=np.array([c for *_, c in boxes]),
        tracker_id=np.array([t for t, *_ in boxes]),
    )


def camera(**kw: object) -> CameraConfig:
    return CameraConfig.model_validate({"id": "cam", "source": "x.mp4", **kw})


def test_line_counts_each_direction_and_class_once() -> None:
    line = LineConfig(id="l1", start=(100, 0), end=(100, 200), in_name="east", out_name="west")
    rules = CameraRules(camera(lines=[line]), LABELS)
    events = []
    for step in range(20):
        x = 50 + step * 5  # track 1 walks left to right across x=100, track 2 drives right to left
        hits = rules.update(tracks([(1, x, 100, 0), (2, 150 - step * 5, 150, 2)]), 1000.0 + step)
        events += [h.event for h in hits]
    assert sorted((e.track_id, e.label) for e in events) == [(1, "person"), (2, "car")]
    # start->end points down the image; walking towards +x leaves its right-hand side: "in"
    assert {e.track_id: e.direction for e in events} == {1: "east", 2: "west"}
    assert all(e.kind == EventKind.LINE_CROSSING and e.line_id == "l1" for e in events)
    assert sum(rules.line_counts()["l1"].values()) == 2


def test_line_class_filter_and_no_count_without_crossing() -> None:
    line = LineConfig(id="l1", start=(100, 0), end=(100, 200), classes=("person",))
    rules = CameraRules(camera(lines=[line]), LABELS)
    hits = []
    for step in range(20):
        hits += rules.update(tracks([(1, 50 + step * 5, 100, 2), (3, 20 + step, 100, 0)]), float(step))
    assert hits == []  # the car is filtered out, the person never reaches the line


ZONE = [(0, 0), (200, 0), (200, 200), (0, 200)]


def test_crowding_is_one_event_per_episode_after_min_duration() -> None:
    zone = ZoneConfig(id="z", polygon=ZONE, crowding=CrowdingRule(threshold=3, min_duration_s=2))
    rules = CameraRules(camera(zones=[zone]), LABELS)
    crowd = [(i, 50 + 10 * i, 100, 0) for i in range(4)]
    kinds = []
    for t in range(10):  # 4 people for 10 s: one event, after 2 s
        kinds += [(t, h.event.kind, h.event.count) for h in rules.update(tracks(crowd), float(t))]
    assert kinds == [(2, EventKind.CROWDING, 4)]
    for t in range(10, 14):  # they leave for 4 s: the episode ends
        rules.update(tracks([]), float(t))
    kinds = [h.event.kind for t in range(14, 18) for h in rules.update(tracks(crowd), float(t))]
    assert kinds == [EventKind.CROWDING]


def test_short_peaks_do_not_raise_crowding() -> None:
    zone = ZoneConfig(id="z", polygon=ZONE, crowding=CrowdingRule(threshold=3, min_duration_s=2))
    rules = CameraRules(camera(zones=[zone]), LABELS)
    for t in range(20):
        n = 4 if t % 2 == 0 else 1  # flickers above and below the threshold every second
        assert rules.update(tracks([(i, 20 + 10 * i, 100, 0) for i in range(n)]), float(t)) == []


def test_loitering_once_per_track_and_survives_a_short_miss() -> None:
    zone = ZoneConfig(id="z", polygon=ZONE, loitering=LoiteringRule(after_s=5), enter_exit_events=True)
    rules = CameraRules(camera(zones=[zone]), LABELS)
    seen = []
    for t in range(12):
        present = [(7, 100, 100, 0)] if t != 3 else []  # missed by the detector for one frame
        present.append((8, 300, 100, 0))  # outside the zone all along
        seen += [(t, h.event.kind, h.event.track_id) for h in rules.update(tracks(present), float(t))]
    assert seen == [(0, EventKind.ZONE_ENTER, 7), (5, EventKind.LOITERING, 7)]
    for t in range(12, 16):
        seen += [(t, h.event.kind, h.event.track_id) for h in rules.update(tracks([]), float(t))]
    assert seen[-1][1:] == (EventKind.ZONE_EXIT, 7)
    exit_event = [h for h in seen if h[1] == EventKind.ZONE_EXIT]
    assert len(exit_event) == 1
