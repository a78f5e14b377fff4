"""Multi-object tracking with ByteTrack from Roboflow's maintained `trackers` package.

ByteTrack's Kalman filter steps in frames of a reference rate. When the camera's analysis fps is set, that
is the rate; when every frame is analysed (`fps: null`) the rate is measured from the first two frame
timestamps, so the motion model fits the stream (a 7-10 fps camera moves people much further per frame
than a 25 fps one). Association defaults to buffered IoU (C-BIoU), which keeps fast movers at low frame
rates matched where plain IoU no longer overlaps.
"""

from __future__ import annotations

import warnings
from typing import Any

import supervision as sv

from safecity.config.models import TrackerConfig
from safecity.types import empty_tracks, subset, track_ids


def _association(cfg: TrackerConfig) -> Any:
    import trackers

    if cfg.association == "biou":
        return trackers.BIoU(buffer_ratio=cfg.buffer_ratio)
    if cfg.association == "giou":
        return trackers.GIoU()
    if cfg.association == "diou":
        return trackers.DIoU()
    return trackers.IoU()


class Tracker:
    """`update(detections, pts) -> Tracks`: only confirmed tracks (tracker_id >= 0) come out."""

    def __init__(self, cfg: TrackerConfig, fps: float | None) -> None:
        self.cfg = cfg
        self.fps = fps
        self._tracker: Any = self._make(fps) if fps else None
        self._first: tuple[sv.Detections, float] | None = None

    def _make(self, fps: float) -> Any:
        from trackers import ByteTrackTracker

        cfg = self.cfg
        # trackers counts the lost-track buffer in 30 fps frames, whatever the stream's rate
        return ByteTrackTracker(
            lost_track_buffer=max(1, round(cfg.lost_track_buffer_s * 30)),
            frame_rate=fps,
            track_activation_threshold=cfg.track_activation_threshold,
            high_conf_det_threshold=cfg.high_conf_det_threshold,
            minimum_iou_threshold=cfg.minimum_iou_threshold,
            minimum_consecutive_frames=cfg.minimum_consecutive_frames,
            iou=_association(cfg),
        )

    def update(self, detections: sv.Detections, pts: float) -> sv.Detections:
        if self._tracker is None:
            if self._first is None or pts <= self._first[1]:
                self._first = (detections, pts)  # the rate is not known before the second frame
                return empty_tracks()
            first, first_pts = self._first
            self._tracker = self._make(1.0 / (pts - first_pts))
            self._update(first, first_pts)
        return self._update(detections, pts)

    def _update(self, detections: sv.Detections, pts: float) -> sv.Detections:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ByteTrack warns about frames it ignores
            tracked = self._tracker.update(detections, timestamp=pts)
        if len(tracked) == 0:
            return empty_tracks()
        return subset(tracked, track_ids(tracked) >= 0)

    def reset(self) -> None:
        self._first = None
        self._tracker = self._make(self.fps) if self.fps else None
