"""Time for frames: stream timestamps to Frame.pts/ts, fps sampling on pts, reconnect backoff.

Pure logic, no I/O, so each rule is tested without a video.
"""

from __future__ import annotations

import random
from collections.abc import Callable

# pts within this fraction of a sampling period count as "due" (float steps such as 0.1 + 0.2).
_DUE_TOLERANCE = 1e-3


class FpsSampler:
    """Keeps the frames whose pts reaches the next due time, then advances it by exactly 1/fps.

    The due time advances on a fixed grid (no drift from frame jitter); when the stream runs far ahead of
    the grid (a gap, a stall) or jumps back (a new connection), the grid restarts at the current frame.
    """

    def __init__(self, fps: float | None) -> None:
        self.period = None if fps is None else 1.0 / fps
        self._next_due: float | None = None
        self._last_pts: float | None = None

    def reset(self) -> None:
        self._next_due = None
        self._last_pts = None

    def take(self, pts: float) -> bool:
        """Whether the frame at `pts` is kept; advances the grid when it is."""
        if self.period is None:
            return True
        backwards = self._last_pts is not None and pts < self._last_pts
        self._last_pts = pts
        if self._next_due is None or backwards:
            self._next_due = pts + self.period
            return True
        if pts < self._next_due - self.period * _DUE_TOLERANCE:
            return False
        self._next_due += self.period
        if self._next_due <= pts:  # far behind the grid: resync rather than emit a burst
            self._next_due = pts + self.period
        return True


class Timeline:
    """Maps one source's raw stream times (seconds) to `Frame.pts` and `Frame.ts` across its connections.

    - A segment is one open of the input. `start_segment(continuous=True)` (the next pass of a looped file)
      continues pts after the previous segment, by one frame step; `continuous=False` (a live reconnect)
      keeps the stream's own pts and re-anchors ts to the wall clock.
    - ts = the wall clock when the segment's input was opened + (pts - the segment's first pts): live
      servers start sending at the open, and the first frames arrive late (FFmpeg buffers them while it
      probes the stream), so the open is the better anchor. ts never decreases: a segment anchored before
      the last ts continues from it.
    - A missing pts is the previous one plus one frame step (1 / average rate); a pts that goes back within
      a segment (a discontinuity) is moved to just after the previous one.
    - `untimed` streams (MJPEG over HTTP, whose demuxer invents 25 fps) use the arrival time instead.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._step = 0.04
        self._continuous = False
        self._untimed = False
        self._segment_wall = 0.0
        self._first = True  # the next frame is the first of its segment
        self._offset = 0.0  # output pts = raw pts + offset
        self._last_raw: float | None = None
        self._anchor_wall = 0.0
        self._anchor_pts = 0.0
        self.last_pts: float | None = None
        self.last_ts: float | None = None

    def start_segment(
        self, *, step: float, continuous: bool, untimed: bool = False, opened_at: float | None = None
    ) -> None:
        """Begin a segment; `opened_at` is the wall-clock time when its open started (default: now)."""
        self._step = 0.001 if untimed else step if step > 0 else 0.04
        self._continuous = continuous and self.last_pts is not None
        self._untimed = untimed
        self._segment_wall = self._clock() if opened_at is None else opened_at
        self._first = True
        self._last_raw = None

    def stamp(self, raw: float | None) -> tuple[float, float]:
        """(pts, ts) of the next frame, given its raw stream time in seconds or None."""
        if self._untimed:
            raw = self._clock() - self._segment_wall
        elif raw is None:
            raw = 0.0 if self._last_raw is None else self._last_raw + self._step
        self._last_raw = raw
        if self._first:
            return self._first_stamp(raw)
        pts = raw + self._offset
        if self.last_pts is not None and pts <= self.last_pts:
            if not self._untimed:  # a discontinuity: shift the rest of the segment with it
                self._offset += self.last_pts + self._step - pts
            pts = self.last_pts + self._step
        return self._finish(pts, self._anchor_wall + (pts - self._anchor_pts))

    def _first_stamp(self, raw: float) -> tuple[float, float]:
        self._first = False
        if self._continuous and self.last_pts is not None:
            self._offset = self.last_pts + self._step - raw
            pts = raw + self._offset
            return self._finish(pts, self._anchor_wall + (pts - self._anchor_pts))
        self._offset = 0.0
        self._anchor_pts = 0.0 if self._untimed else raw
        self._anchor_wall = self._segment_wall
        if self.last_ts is not None and self._anchor_wall + (raw - self._anchor_pts) <= self.last_ts:
            self._anchor_wall = self.last_ts + self._step - (raw - self._anchor_pts)
        return self._finish(raw, self._anchor_wall + (raw - self._anchor_pts))

    def _finish(self, pts: float, ts: float) -> tuple[float, float]:
        self.last_pts = pts
        self.last_ts = ts
        return pts, ts


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect `attempt` (1, 2, ...): initial * 2**(attempt-1), capped at
    `maximum`, minus up to 20% jitter so that many cameras dropped together do not retry in lockstep."""
    base = min(maximum, initial * 2.0 ** min(attempt - 1, 60))
    jitter = (rng or random).random() * 0.2
    return base * (1.0 - jitter)
