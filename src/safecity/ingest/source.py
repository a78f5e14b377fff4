"""VideoSource: decode one camera (file, RTSP, HTTP MJPEG) through PyAV into `Frame`s.

Design
- `frames()` starts one reader thread per call. The reader opens the input, demuxes the first video stream,
  decodes, stamps, samples and hands Frames over a small queue to the generator, which the caller iterates
  in its own thread. The thread exists so that `stop()` ends `frames()` at once even while FFmpeg is
  blocked in a read of a silent stream: the generator returns immediately, and the reader, which FFmpeg only
  releases after `read_timeout_s`, finishes on its own (it holds nothing the caller sees) and closes its
  input. Leaving the generator (break, close, garbage collection) stops the reader the same way.
- Files are read losslessly (the reader waits for the consumer); a file that is missing, unreadable, or
  yields no frame raises SourceError, never retried. `loop=True` reopens the file at EOF and keeps pts and
  ts monotonic across passes (see `Timeline`).
- Live sources (rtsp://, http(s):// MJPEG, other FFmpeg URLs) never make the decoder wait: when the
  consumer has not taken the previous frame, the oldest queued one is dropped (`stats.frames_dropped`).
  A failed open, a read error, a read timeout or the end of the stream counts as a drop: the source
  reconnects after an exponential backoff with jitter, for ever or up to `max_reconnects` attempts in a
  row, then raises SourceError. Timeouts: PyAV's interrupt callback (`timeout=(open, read)`) bounds every
  open and read for all protocols; RTSP also gets the demuxer's socket `timeout` (microseconds; the older
  `stimeout` no longer exists in FFmpeg >= 5) and `rtsp_transport`.
- Timestamps: Frame.pts is the stream's pts in seconds (packet/frame pts * time_base), per connection for
  live streams; Frame.ts is the wall clock when the connection was opened plus the pts elapsed since
  its first frame. MJPEG over HTTP has no timestamps (FFmpeg invents 25 fps), so its frames are stamped
  on arrival.
- Sampling to `fps` happens on pts before the costly steps: a skipped frame is never converted to BGR, and
  with intra-only codecs (MJPEG) a skipped packet is not even decoded. A packet that fails to decode is
  counted in `stats.errors` and skipped.
- Buffers: with a `FramePool` (`ingest.pool`), a sampled frame is converted into one of the camera's
  reused buffers instead of a fresh array. When all are in use, a live source drops its oldest queued
  frame (counted in `stats.frames_dropped`) to free one; when none frees (all held downstream: analysis,
  pending snapshots) the frame gets an unpooled array (counted in the pool's stats), never a wait.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Generator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from safecity.ingest.pool import FramePool
from safecity.ingest.spec import SourceError, SourceKind, SourceSpec, SourceStats, file_path
from safecity.ingest.timing import FpsSampler, Timeline, backoff_delay
from safecity.types import Frame

log = logging.getLogger(__name__)

LIVE_ANALYZE_DURATION_US = 1_000_000  # FFmpeg's default 5 s probe makes each (re)connect ~2 s slower
FILE_QUEUE_SIZE = 4
LIVE_QUEUE_SIZE = 2
READER_JOIN_S = 0.25
UNTIMED_FORMATS = frozenset({"mpjpeg", "mjpeg"})
_AV_ERRORS = (av.error.FFmpegError, OSError, EOFError)
_END = object()
_WAKE = object()


class _Handoff:
    """The reader -> consumer queue: blocking for files, drop-oldest for live sources."""

    def __init__(self, size: int, drop_oldest: bool, halt: threading.Event, stats: SourceStats) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=size)
        self._drop_oldest = drop_oldest
        self._halt = halt
        self._stats = stats

    def put(self, item: object) -> None:
        """Queue a Frame; returns without queueing once halted."""
        if self._drop_oldest:
            while not self._halt.is_set():
                try:
                    self._queue.put_nowait(item)
                    return
                except queue.Full:
                    self._drop_one()
            return
        self.put_final(item)

    def put_final(self, item: object) -> None:
        """Queue the end marker or an exception: waits for room rather than dropping it, unless halted."""
        while not self._halt.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> object:
        return self._queue.get()

    def wake(self) -> None:
        """Unblock a consumer waiting in get() (a full queue needs no waking)."""
        with suppress(queue.Full):
            self._queue.put_nowait(_WAKE)

    def _drop_one(self) -> None:
        try:
            dropped = self._queue.get_nowait()
        except queue.Empty:
            return
        if isinstance(dropped, Frame):
            self._stats.frames_dropped += 1

    def drop_oldest(self) -> bool:
        """Drop the oldest queued frame (back-pressure from the frame pool); whether one was dropped. A
        wake-up marker is put back: stop() relies on it to unblock the consumer."""
        try:
            oldest = self._queue.get_nowait()
        except queue.Empty:
            return False
        if isinstance(oldest, Frame):
            self._stats.frames_dropped += 1
            return True
        with suppress(queue.Full):
            self._queue.put_nowait(oldest)
        return False


@dataclass
class _Run:
    """The state of one frames() call, owned by its reader thread."""

    out: _Handoff
    halt: threading.Event
    timeline: Timeline
    sampler: FpsSampler
    thread: threading.Thread | None = field(default=None)

    @property
    def halted(self) -> bool:
        return self.halt.is_set()


class VideoSource:
    """One camera's frames; see the module docstring for the design.

    `clock` stamps frames (wall-clock seconds); `sleep` is called for backoff waits only when one is
    injected (tests): the default waits on an event that stop() sets, so a backoff never delays stop().
    `pool`: reused frame buffers (see the module docstring); `queue_size`: frames decoded ahead of the
    consumer (default: 4 for files, 2 for live sources).
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        pool: FramePool | None = None,
        queue_size: int | None = None,
    ) -> None:
        self.spec = spec
        self.pool = pool
        self._queue_size = queue_size
        self.kind: SourceKind = spec.kind
        self.stats = SourceStats()
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random()
        self._seq = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._run: _Run | None = None

    def __repr__(self) -> str:
        return f"<VideoSource {self.spec.camera_id} {self.kind.value} {self.spec.safe_url}>"

    @property
    def name(self) -> str:
        return f"camera {self.spec.camera_id} ({self.spec.safe_url})"

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Make frames() return promptly; safe from any thread, idempotent, permanent."""
        self._stopped.set()
        with self._lock:
            run = self._run
        if run is not None:
            run.halt.set()
            run.out.wake()

    def frames(self) -> Generator[Frame, None, None]:
        """Yield Frames until EOF (files without loop), stop(), or a SourceError; close() it to end early."""
        run = self._start_run()
        if run is None:
            return
        try:
            while not run.halted:
                item = run.out.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Frame) and not run.halted:
                    self.stats.frames_emitted += 1
                    yield item
                item = None  # not held while waiting for the next one (its buffer may be reused)
        finally:
            self._end_run(run)

    def _start_run(self) -> _Run | None:
        halt = threading.Event()
        live = self.kind.live
        size = self._queue_size or (LIVE_QUEUE_SIZE if live else FILE_QUEUE_SIZE)
        out = _Handoff(size, live, halt, self.stats)
        run = _Run(out, halt, Timeline(self._clock), FpsSampler(self.spec.fps))
        with self._lock:
            if self._run is not None:
                raise RuntimeError(f"{self.name}: frames() is already being iterated")
            if self._stopped.is_set():
                return None
            self._run = run
        run.thread = threading.Thread(
            target=self._read, args=(run,), name=f"ingest-{self.spec.camera_id}", daemon=True
        )
        run.thread.start()
        return run

    def _end_run(self, run: _Run) -> None:
        run.halt.set()
        if run.thread is not None:
            run.thread.join(READER_JOIN_S)  # a reader blocked in FFmpeg ends by itself within read_timeout_s
        with self._lock:
            self._run = None

    # -- reader thread ---------------------------------------------------------------------------------

    def _read(self, run: _Run) -> None:
        try:
            if self.kind.live:
                self._read_live(run)
            else:
                self._read_file(run)
            run.out.put_final(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it in its own thread
            run.out.put_final(exc)
        finally:
            with self._lock:
                if self._run in (run, None):  # a late reader must not overwrite its successor's state
                    self.stats.connected = False

    def _read_file(self, run: _Run) -> None:
        try:
            path = file_path(self.spec.url)
        except ValueError as exc:
            raise SourceError(f"{self.name}: {exc}") from exc
        while not run.halted:
            opened_at = self._clock()
            with closing(self._open_file(path)) as container:
                self.stats.connected = True
                decoded, error = self._play(container, run, opened_at, continuous=True)
                self.stats.connected = False
            if decoded == 0 and not run.halted:
                detail = f": {error}" if error else ""
                raise SourceError(f"{self.name}: no video frame could be decoded from {path.name}{detail}")
            if error is not None:
                log.warning("%s: read error in %s, treated as its end: %s", self.name, path.name, error)
            if not self.spec.loop:
                return

    def _open_file(self, path: Path) -> InputContainer:
        if not path.is_file():
            raise SourceError(f"{self.name}: video file not found: {path.name} ({path})")
        try:
            container = av.open(str(path), metadata_errors="replace")
        except (*_AV_ERRORS, UnicodeDecodeError, ValueError) as exc:
            raise SourceError(f"{self.name}: cannot read video file {path.name}: {exc}") from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.name}: no video stream in {path.name}")
        return container

    def _read_live(self, run: _Run) -> None:
        limit = self.spec.max_reconnects
        attempts = 0  # reconnect attempts since the last connection that delivered a frame
        while not run.halted:
            if self._connect_and_play(run) > 0:
                attempts = 0
            if run.halted:
                return
            if limit is not None and attempts >= limit:
                raise SourceError(
                    f"{self.name}: gave up after {attempts} reconnect attempts in a row; "
                    f"last error: {self.stats.last_error}"
                )
            attempts += 1
            self.stats.reconnects += 1
            delay = backoff_delay(attempts, self.spec.backoff_initial_s, self.spec.backoff_max_s, self._rng)
            log.warning("%s: %s; reconnect %d in %.2f s", self.name, self.stats.last_error, attempts, delay)
            self._wait(delay, run)

    def _connect_and_play(self, run: _Run) -> int:
        """One connection: open, decode until it drops; the number of frames decoded (0 if open failed)."""
        opened_at = self._clock()
        try:
            container = self._open_live()
        except _AV_ERRORS as exc:
            self._record_error(f"open failed: {exc}")
            return 0
        with closing(container):
            if not container.streams.video:
                self._record_error("no video stream")
                return 0
            self.stats.connected = True
            log.info("%s: connected", self.name)
            decoded, error = self._play(container, run, opened_at, continuous=False)
            self.stats.connected = False
        if run.halted:
            return decoded
        if isinstance(error, av.error.ExitError):  # PyAV's interrupt callback: the read timeout
            self._record_error(f"stream dropped: no data for {self.spec.read_timeout_s:g} s")
        else:
            self._record_error(f"stream dropped: {error}" if error else "stream ended")
        return decoded

    def _open_live(self) -> InputContainer:
        spec = self.spec
        options = {"analyzeduration": str(LIVE_ANALYZE_DURATION_US)}
        if self.kind is SourceKind.RTSP:
            options["rtsp_transport"] = spec.rtsp_transport
            options["timeout"] = str(int(spec.read_timeout_s * 1_000_000))
        elif self.kind is SourceKind.HTTP:
            options["rw_timeout"] = str(int(spec.read_timeout_s * 1_000_000))
        return av.open(
            spec.url,
            options=options,
            timeout=(spec.open_timeout_s, spec.read_timeout_s),
            metadata_errors="replace",
        )

    def _wait(self, delay: float, run: _Run) -> None:
        if self._sleep is time.sleep:
            run.halt.wait(delay)  # stop() sets halt, so the backoff ends at once
        else:
            self._sleep(delay)

    def _record_error(self, message: str) -> None:
        """Count an error; FFmpeg's messages quote the URL, so its password is masked first."""
        message = message.replace(self.spec.url, self.spec.safe_url)
        password = urlsplit(self.spec.url).password
        if password:
            message = message.replace(password, "***")
        self.stats.errors += 1
        self.stats.last_error = message

    # -- decoding --------------------------------------------------------------------------------------

    def _play(
        self, container: InputContainer, run: _Run, opened_at: float, *, continuous: bool
    ) -> tuple[int, Exception | None]:
        """Decode one opened input to its end; (frames decoded, the read error that ended it or None)."""
        stream = container.streams.video[0]
        intra = stream.codec_context.codec.intra_only
        # frame threads add a frame of latency per thread and would detach frames from their packets
        stream.thread_type = "AUTO" if not (self.kind.live or intra) else "SLICE"
        untimed = self.kind.live and container.format.name in UNTIMED_FORMATS
        run.timeline.start_segment(
            step=_frame_step(stream), continuous=continuous, untimed=untimed, opened_at=opened_at
        )
        if not continuous:
            run.sampler.reset()
        decoded = 0
        try:
            for packet in container.demux(stream):
                if run.halted:
                    break
                decoded += self._feed(packet, intra, run)
        except _AV_ERRORS as exc:
            return decoded, exc
        return decoded, None

    def _feed(self, packet: Packet[VideoStream], intra: bool, run: _Run) -> int:
        """Decode, stamp, sample and deliver one packet; the number of frames it decoded."""
        if intra and packet.size:  # one packet is one picture: sample before paying for the decode
            pts, ts = run.timeline.stamp(_seconds(packet.pts, packet.time_base))
            if not run.sampler.take(pts):
                self.stats.frames_skipped += 1
                return 0
            frames = self._decode(packet)
            if frames:
                self._deliver(frames[0], pts, ts, run)
            return len(frames)
        frames = self._decode(packet)
        for frame in frames:
            pts, ts = run.timeline.stamp(_seconds(frame.pts, frame.time_base))
            if run.sampler.take(pts):
                self._deliver(frame, pts, ts, run)
            else:
                self.stats.frames_skipped += 1
        return len(frames)

    def _decode(self, packet: Packet[VideoStream]) -> list[VideoFrame]:
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            self._record_error(f"undecodable packet: {exc}")
            return []
        if frames:
            self.stats.frames_decoded += len(frames)
            self.stats.last_frame_wall = self._clock()
        return frames

    def _deliver(self, frame: VideoFrame, pts: float, ts: float, run: _Run) -> None:
        if run.halted:
            return
        image = frame.to_ndarray(format="bgr24")
        if self.pool is not None:
            buffer = self._buffer(image.shape, run)
            if buffer is None:
                return
            np.copyto(buffer, image)  # the converted picture is freed here, in the thread that made it
            image = buffer
        out = Frame(camera_id=self.spec.camera_id, seq=self._seq, pts=pts, ts=ts, image=image)
        self._seq += 1
        run.out.put(out)

    def _buffer(self, shape: tuple[int, ...], run: _Run) -> np.ndarray | None:
        """A free pool buffer; a live source drops its oldest queued frames for one. An unpooled array when
        every buffer is held downstream (a file's queue already bounds what it holds); None once halted."""
        assert self.pool is not None
        while not run.halted:
            buffer = self.pool.acquire(shape)
            if buffer is not None:
                return buffer
            if not (self.kind.live and run.out.drop_oldest()):
                return self.pool.overflow(shape)
        return None


def _seconds(pts: int | None, time_base: Fraction | None) -> float | None:
    if pts is None or time_base is None:
        return None
    return float(pts * time_base)


def _frame_step(stream: VideoStream) -> float:
    """Seconds per frame from the stream's average (or guessed) rate; 25 fps when it declares none."""
    rate = stream.average_rate or stream.guessed_rate
    return float(1 / rate) if rate else 0.04


def open_source(
    spec: SourceSpec, *, pool: FramePool | None = None, queue_size: int | None = None
) -> VideoSource:
    """The source for a spec; the kind (file, RTSP, HTTP, other stream) follows from its URL."""
    return VideoSource(spec, pool=pool, queue_size=queue_size)
