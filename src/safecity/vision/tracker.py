"""Multi-object tracking with ByteTrack from Roboflow's maintained `trackers` package."""

from __future__ import annotations

import warnings

import supervision as sv

from safecity.config.models import TrackerConfig
from safecity.types import subset, track_ids


class Tracker:
    """`update(detections, pts) -> Tracks`: only confirmed tracks (tracker_id >= 0) come out."""

    def __init__(self, cfg: TrackerConfig, fps: float) -> None:
        from trackers import ByteTrackTracker

        # trackers counts the lost-track buffer in 30 fps frames, whatever the stream's rate
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(cfg.lost_track_buffer_s * 30)),
            frame_rate=fps,
            track_activation_threshold=cfg.track_activation_threshold,
            high_conf_det_threshold=cfg.high_conf_det_threshold,
            minimum_iou_threshold=cfg.minimum_iou_threshold,
            minimum_consecutive_frames=cfg.minimum_consecutive_frames,
        )

    def update(self, detections: sv.Detections, pts: float) -> sv.Detections:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            tracked = self._tracker.update(detections, timestamp=pts)
        if len(tracked) == 0:
            return sv.Detections.empty()
        return subset(tracked, track_ids(tracked) >= 0)

    def reset(self) -> None:
        self._tracker.reset()
