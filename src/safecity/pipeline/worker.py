"""A camera worker: a reader thread (decode) and an analysis thread joined by a bounded queue.

Live sources never block the decoder: when analysis falls behind, the oldest queued frame is dropped and
counted. Files that are not paced are read losslessly (the reader waits), so a file run is reproducible.

Memory (docs/performance.md): the camera's pictures live in a small `FramePool` (reused buffers, no fresh
1.3 MB array per frame), the queues hold few frames (a frame queued behind a busy analysis is stale
anyway), and events waiting for their snapshot keep at most `SNAPSHOT_FRAMES` pictures as arrays: beyond
that their frame is kept as a JPEG (encoded once, at `BACKLOG_JPEG_QUALITY`, shared by the frame's events)
and decoded again for redaction, so a snapshot backlog costs ~0.1 MB a frame instead of 1.3 MB.
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
from safecity.ingest import FramePool, SourceSpec, VideoSource, open_source
from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.media.storage import MediaStorage
from safecity.pipeline.analyzer import Analysis, FrameAnalyzer
from safecity.types import Event, Frame

log = logging.getLogger(__name__)
QUEUE_SIZE = 2  # frames between the reader and the analysis
SOURCE_QUEUE_SIZE = 1  # frames the decoder runs ahead of the reader thread (which paces and drops)
POOL_SIZE = 9  # decoder 1 + hand-off 1 + reader 1 + queue 2 + analysis 1 + latest 1 + snapshots 2
OUTBOX_SIZE = 64
SNAPSHOT_FRAMES = 2  # pending snapshots kept as arrays; more are kept as JPEG until their turn
BACKLOG_JPEG_QUALITY = 95
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
    result: Analysis | None  # the frame the snapshot is taken from (its image a placeholder if `jpeg`)
    subject: int | None
    jpeg: bytes | None = None  # the frame as JPEG, when too many snapshots were pending to keep arrays
    release: bool = False  # the last event of a frame kept as an array: frees its snapshot slot


_NO_IMAGE = np.zeros((1, 1, 3), np.uint8)


def _picture(result: Analysis, jpeg: bytes | None) -> Analysis:
    """The analysis with its picture: decoded again when it waited as a JPEG."""
    if jpeg is None:
        return result
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:  # never: the worker encoded it; the event is then published without a picture
        raise ValueError("a pending snapshot's JPEG could not be decoded")
    return replace(result, frame=replace(result.frame, image=image))


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
        self.pool = FramePool(POOL_SIZE)
        self.source: VideoSource = open_source(
            SourceSpec(camera_id=camera.id, url=camera.source, fps=camera.fps, loop=camera.loop),
            pool=self.pool,
            queue_size=SOURCE_QUEUE_SIZE,
        )
        self.metrics = CameraMetrics()
        self.latest: Analysis | None = None
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=QUEUE_SIZE)
        # events wait here for their snapshot (redaction costs ~0.2 s a picture): analysis never waits for it
        self._outbox: queue.Queue[_Outgoing | None] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._snapshot_frames = threading.BoundedSemaphore(SNAPSHOT_FRAMES)
        self.snapshots_as_jpeg = 0  # frames whose pending snapshots were kept as JPEG (a backlog)
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
                del frame  # not held while the source decodes the next one: its pool buffer may be reused
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
                self._send(self.latest, [(event, None)])
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
            try:
                if self.publish_while is not None and not self.publish_while():
                    continue  # the lease is gone: its holder's output ends here (and stopping is quick)
                event = item.event
                if item.result is not None:
                    event = self._with_snapshot(event, _picture(item.result, item.jpeg), item.subject)
                self.bus.publish(event)
                self.metrics.events += 1
            except Exception:
                log.exception("camera %s: event %s not published", self.camera.id, item.event.id)
            finally:
                if item.release:
                    self._snapshot_frames.release()

    def _handle(self, result: Analysis) -> None:
        self.latest = result
        self.metrics.frames_analysed += 1
        if self.observe is not None:
            self.observe(result)
        self.metrics.last_frame_ts = result.frame.ts
        self._send(result, [(hit.event, hit.subject) for hit in result.hits])

    def _send(self, result: Analysis | None, hits: list[tuple[Event, int | None]]) -> None:
        """Queue a frame's events for their snapshot: the frame as an array while fewer than
        `SNAPSHOT_FRAMES` frames wait, else as a JPEG encoded once for all its events."""
        if not hits:
            return
        jpeg: bytes | None = None
        raw = result is not None and self._snapshot_frames.acquire(blocking=False)
        if result is not None and not raw:
            jpeg = encode_jpeg(result.frame.image, BACKLOG_JPEG_QUALITY)
            result = replace(result, frame=replace(result.frame, image=_NO_IMAGE))  # frees the buffer
            self.snapshots_as_jpeg += 1
        for i, (event, subject) in enumerate(hits):
            self._outbox.put(_Outgoing(event, result, subject, jpeg, release=raw and i == len(hits) - 1))

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
