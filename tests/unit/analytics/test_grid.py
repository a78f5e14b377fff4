"""The occupancy grid sampler: distinct tracks per cell and period, no track ids out, real zeros."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import supervision as sv

from safecity.analytics.config import GridConfig
from safecity.analytics.grid import OccupancySampler
from safecity.bus import event_from_json, event_to_json
from safecity.store import EventQuery, open_store
from safecity.types import Event, EventKind, OccupancyGrid

W, H = 400, 300
T = 1_741_000_000.0 - (1_741_000_000.0 % 60)  # a period boundary for period_s=60


def tracks(*boxes: tuple[float, float, float, float, int, int]) -> sv.Detections:
    """Boxes (x1, y1, x2, y2, coco class, track id)."""
    arr = np.array(boxes, dtype=np.float64).reshape(-1, 6)
    d = sv.Detections(xyxy=arr[:, :4], class_id=arr[:, 4].astype(np.int64), confidence=np.ones(len(arr)))
    d.tracker_id = arr[:, 5].astype(np.int64)
    return d


def sampler(labels: tuple[str, ...] = ("person", "car")) -> OccupancySampler:
    return OccupancySampler("cam", GridConfig(cols=4, rows=3, period_s=60), labels)


def test_counts_distinct_tracks_per_cell_and_emits_at_the_next_period() -> None:
    s = sampler()
    # track 7 stands at bottom centre (50, 90) -> col 0, row 0 (cell 0) in every frame: counted once
    for i in range(10):
        assert s.update(tracks((40, 10, 60, 90, 0, 7)), T + i, W, H) == []
    s.update(tracks((40, 10, 60, 90, 0, 8), (340, 200, 360, 290, 2, 9)), T + 20, W, H)  # person 8, car 9
    s.update(tracks((140, 110, 160, 190, 0, 7)), T + 30, W, H)  # track 7 moves to col 1, row 1 (cell 5)
    out = s.update(sv.Detections.empty(), T + 61, W, H)
    by_label = {e.label: e for e in out}
    assert set(by_label) == {"person", "car"}
    person = by_label["person"]
    assert person.kind is EventKind.OCCUPANCY and person.count == 2  # tracks 7 and 8
    assert person.grid == OccupancyGrid(4, 3, ((0, 2), (5, 1)))
    assert by_label["car"].grid == OccupancyGrid(4, 3, ((11, 1),))  # (350, 290) -> col 3, row 2
    assert (
        person.start == datetime.fromtimestamp(T, UTC) and (person.end - person.start).total_seconds() == 60
    )
    assert all(e.track_id is None and e.snapshot is None for e in out)  # no id leaves the sampler


def test_a_period_without_tracks_is_a_real_zero_and_labels_are_filtered() -> None:
    s = sampler(labels=("person",))
    s.update(tracks((0, 0, 10, 10, 2, 1)), T + 1, W, H)  # a car: not a class of this camera
    (heartbeat,) = s.update(sv.Detections.empty(), T + 60, W, H)
    assert heartbeat.count == 0 and heartbeat.grid is None and heartbeat.label is None
    assert s.flush()[0].count == 0  # the next (partial) period, flushed at the end of the stream
    assert s.flush() == []


def test_positions_outside_the_frame_are_clamped_to_the_border_cells() -> None:
    cells = sampler().cells(np.array([[-50, -50, -10, -5], [500, 500, 600, 900]], dtype=np.float64), W, H)
    assert cells.tolist() == [0, 11]


def test_grid_events_survive_the_store_and_the_bus_codec(database_url: str) -> None:
    grid = OccupancyGrid(16, 12, ((3, 4), (191, 1)))
    event = Event(
        camera_id="cam",
        kind=EventKind.OCCUPANCY,
        start=datetime(2025, 3, 3, 9, tzinfo=UTC),
        end=datetime(2025, 3, 3, 9, 5, tzinfo=UTC),
        label="person",
        count=5,
        grid=grid,
    )
    assert event_from_json(event_to_json(event)) == event
    store = open_store(database_url)
    try:
        store.append([event])
        assert store.query(EventQuery(kind=EventKind.OCCUPANCY)) == [event]
    finally:
        store.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"cols": 2, "rows": 2, "cells": [[4, 1]]},  # index out of the grid
        {"cols": 2, "rows": 2, "cells": [[0, 0]]},  # a zero cell (sparse: only non-zero)
        {"cols": 0, "rows": 2, "cells": []},
        {"cols": 2, "rows": 2, "cells": [[0, "1"]]},
        {"cols": 2, "rows": 2},
    ],
)
def test_malformed_grids_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OccupancyGrid.from_dict(bad)
