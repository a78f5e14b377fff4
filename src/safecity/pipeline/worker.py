"""A camera worker: a reader thread (decode) and an analysis thread joined by a bounded queue.

Live sources never block the decoder: when analysis falls behind, the oldest queued frame is dropped and
counted. Files that are not paced are read losslessly (the reader waits), so a file run is reproducible.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from safecity.bus.base import Bus
from safecity.config.models import CameraConfig
from safecity.ingest import SourceSpec, VideoSource, open_source
from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.media.storage import MediaStorage
from safecity.pipeline.analyzer import Analysis, FrameAnalyzer
from safecity.types import Event, Frame

log = logging.getLogger(__name__)
QUEUE_SIZE = 4
OUTBOX_SIZE = 64
SNAPSHOT_BOX = (0, 0, 255)


@dataclass(slots=True)
class CameraMetrics:
    frames_in: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    events: int = 0
    analysed_fps: float = 0.0
    last_frame_ts: float | None = None
    running: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Outgoing:
    event: Event
    result: Analysis | None  # the frame the snapshot is taken from
    subject: int | None


def is_file_source(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


class CameraWorker:
    def __init__(
        self,
        camera: CameraConfig,
        analyzer: FrameAnalyzer,
        bus: Bus,
        media: MediaStorage,
        *,
        pace: bool | None = None,
        observe: Callable[[Analysis], None] | None = None,
        redact: Callable[[np.ndarray, Analysis, str], np.ndarray] | None = None,
        publish_while: Callable[[], bool] | None = None,
    ) -> None:
        self.camera = camera
        self.analyzer = analyzer
        self.bus = bus
        self.media = media
        self.observe = observe  # the face step (biometrics), after each analysed frame
        self.redact = redact  # faces blurred in the snapshot before it is encoded (biometrics)
        self.publish_while = publish_while  # a cluster lease: once it closes, no snapshot, no event leaves
        file = is_file_source(camera.source)
        self.pace = camera.loop if pace is None else pace  # a looped demo file plays at its own speed
        self.lossless = file and not self.pace
        self.source: VideoSource = open_source(
            SourceSpec(camera_id=camera.id, url=camera.source, fps=camera.fps, loop=camera.loop)
        )
        self.metrics = CameraMetrics()
        self.latest: Analysis | None = None
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=QUEUE_SIZE)
        # events wait here for their snapshot (redaction costs ~0.2 s a picture): analysis never waits for it
        self._outbox: queue.Queue[_Outgoing | None] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.metrics.running = True
        for target, name in (
            (self._read, "read"),
            (self._analyse_loop, "analyse"),
            (self._publish_loop, "publish"),
        ):
            t = threading.Thread(target=target, name=f"{name}-{self.camera.id}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.source.stop()
        self.join(timeout=10)

    def join(self, timeout: float | None = None) -> None:
        for t in self._threads:
            t.join(timeout)

    @property
    def done(self) -> bool:
        return bool(self._threads) and not any(t.is_alive() for t in self._threads)

    def _read(self) -> None:
        start_wall: float | None = None
        first_pts = 0.0
        try:
            for frame in self.source.frames():
                if self._stop.is_set():
                    break
                if self.pace:
                    if start_wall is None:
                        start_wall, first_pts = time.monotonic(), frame.pts
                    delay = (frame.pts - first_pts) - (time.monotonic() - start_wall)
                    if delay > 0 and self._stop.wait(delay):
                        break
                self.metrics.frames_in += 1
                self._enqueue(frame)
        except (
            Exception
        ) as exc:  # a source that gives up (bad file, retries exhausted) stops this camera only
            log.error("camera %s: source stopped: %s", self.camera.id, exc)
            self.metrics.error = str(exc)
        finally:
            self._put_end()

    def _enqueue(self, frame: Frame) -> None:
        if self.lossless:
            while not self._stop.is_set():
                try:
                    self._queue.put(frame, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.metrics.frames_dropped += 1
                except queue.Empty:
                    pass

    def _put_end(self) -> None:
        while True:
            try:
                self._queue.put(None, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()

    def _analyse_loop(self) -> None:
        reconnects = 0
        last_pts = float("-inf")
        window_start, window_frames = time.monotonic(), 0
        try:
            while (frame := self._queue.get()) is not None:
                if self.source.stats.reconnects != reconnects or frame.pts <= last_pts:
                    reconnects = self.source.stats.reconnects
                    self.analyzer.reset_tracks()
                last_pts = frame.pts
                self._handle(self.analyzer.analyse(frame))
                window_frames += 1
                now = time.monotonic()
                if now - window_start >= 2.0:
                    self.metrics.analysed_fps = window_frames / (now - window_start)
                    window_start, window_frames = now, 0
            for event in self.analyzer.finish():  # the stream ended: the partial occupancy sample
                self._outbox.put(_Outgoing(event, self.latest, None))
        except Exception as exc:
            log.exception("camera %s: analysis failed", self.camera.id)
            self.metrics.error = str(exc)
            self.source.stop()
        finally:
            self._outbox.put(None)
            self.metrics.running = False

    def _publish_loop(self) -> None:
        """Snapshot, then publish, in analysis order; the bounded outbox holds analysis back only when full,
        so no event is ever dropped."""
        while (item := self._outbox.get()) is not None:
            if self.publish_while is not None and not self.publish_while():
                continue  # the lease is gone: its holder's output ends here (and stopping is quick)
            try:
                event = item.event
                if item.result is not None:
                    event = self._with_snapshot(event, item.result, item.subject)
                self.bus.publish(event)
                self.metrics.events += 1
            except Exception:
                log.exception("camera %s: event %s not published", self.camera.id, item.event.id)

    def _handle(self, result: Analysis) -> None:
        self.latest = result
        self.metrics.frames_analysed += 1
        if self.observe is not None:
            self.observe(result)
        self.metrics.last_frame_ts = result.frame.ts
        for hit in result.hits:
            self._outbox.put(_Outgoing(hit.event, result, hit.subject))

    def _with_snapshot(self, event: Event, result: Analysis, subject: int | None) -> Event:
        image = result.frame.image
        key = snapshot_key(event)
        if self.redact is not None:
            try:
                image = self.redact(image, result, key)  # a blurred copy: the frame itself is untouched
            except Exception:  # never store an unredacted snapshot
                log.exception("camera %s: snapshot %s not redacted, not written", self.camera.id, key)
                return event
        if subject is not None:
            image = image.copy()
            x1, y1, x2, y2 = (int(v) for v in result.tracks.xyxy[subject])
            cv2.rectangle(image, (x1, y1), (x2, y2), SNAPSHOT_BOX, 2)
        try:
            self.media.put(key, encode_jpeg(image))
        except OSError as exc:  # the event matters more than its picture
            log.error("camera %s: snapshot %s not written: %s", self.camera.id, key, exc)
            return event
        return replace(event, snapshot=key)
