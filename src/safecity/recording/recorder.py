"""Continuous recording of one camera: its own demux connection, packets into MP4 segments.

Why a second connection rather than a packet tap in ingest: the analysis reader decodes, samples to a few
fps and, for live sources, drops frames when analysis falls behind; a recorder must keep every packet and
never decode (for H.264/H.265). Sharing one reader would tie recording to the analysis loop's health and
restarts, and put a second consumer with opposite needs into a tested module. A second RTSP session per
camera is what NVRs do (cameras accept several), and it lets a camera be analysed on its sub stream
while its main stream is recorded (`recording.source`). For files it costs one more read of the file.

Loop: open -> demux -> packets into the current segment (cut at the first keyframe after
`segment_seconds`) -> on EOF/drop, finish the segment; live sources reconnect with the same backoff as
ingest (`ingest.timing.backoff_delay`). File sources are paced at their own speed (a recording must not
run ahead of the wall clock), and reopened at EOF when looped. Finished segments go to `sink` (which
stores and indexes them); a sink failure leaves the file in the spool, where the reconciler finds it.
Time: wall-clock seconds of a packet = connection opened_at + (pts - first pts) * time_base.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.ingest.spec import SourceError, SourceKind, file_path, redact_url, source_kind
from safecity.ingest.timing import backoff_delay
from safecity.recording.config import RecordingPolicy
from safecity.recording.segment import CopySegment, SegmentInfo, TranscodeSegment

log = logging.getLogger(__name__)
SegmentSink = Callable[[SegmentInfo], None]
LIVE_ANALYZE_DURATION_US = 1_000_000
_AV_ERRORS = (av.error.FFmpegError, OSError, EOFError, UnicodeDecodeError, ValueError)


class RecorderState(enum.StrEnum):
    STARTING = "starting"
    RECORDING = "recording"
    RECONNECTING = "reconnecting"
    REFUSED = "refused"  # codec policy says no: a configuration matter, never retried
    FAILED = "failed"  # a file that cannot be read
    ENDED = "ended"  # a file that was recorded to its end
    STOPPED = "stopped"


@dataclass
class RecorderStatus:
    state: RecorderState = RecorderState.STARTING
    codec: str | None = None
    mode: str | None = None  # copy | transcode
    segments: int = 0
    bytes: int = 0
    packets: int = 0
    dropped_packets: int = 0  # non-increasing timestamps, undecodable packets
    waited_for_keyframe: int = 0  # packets before the first keyframe of a connection
    reconnects: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class _Connection:
    stream: VideoStream
    mode: str
    opened_at: float
    time_base: Fraction
    step: float
    pts0: int | None = None

    def wall(self, pts: int) -> float:
        if self.pts0 is None:
            self.pts0 = pts
        return self.opened_at + float((pts - self.pts0) * self.time_base)


class CameraRecorder:
    """Records one camera until stop(); see the module docstring."""

    def __init__(
        self,
        policy: RecordingPolicy,
        spool: Path,
        sink: SegmentSink,
        *,
        clock: Callable[[], float] = time.time,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        pace: bool | None = None,
    ) -> None:
        self.policy = policy
        self.spool = spool / quote(policy.camera_id, safe="-_.~")
        self.status = RecorderStatus()
        self._sink = sink
        self._clock = clock
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._kind = source_kind(policy.source)
        self._pace = not self._kind.live if pace is None else pace  # files play at their own speed
        self._stop = threading.Event()
        self._segment: CopySegment | TranscodeSegment | None = None
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    @property
    def name(self) -> str:
        return f"recorder {self.policy.camera_id} ({redact_url(self.policy.source)})"

    @property
    def current_path(self) -> Path | None:
        """The spool file being written now (the reconciler leaves it alone)."""
        segment = self._segment
        return segment.path if segment is not None else None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"record-{self.policy.camera_id}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the recorder to finish its segment and end (returns at once)."""
        self._stop.set()

    def stop(self, timeout: float | None = 15.0) -> None:
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def run(self) -> None:
        """Record until stop() (or the end of a file that does not loop); blocking."""
        attempts = 0
        try:
            while not self._stop.is_set():
                delivered = self._session()
                if self.status.state in (RecorderState.REFUSED, RecorderState.FAILED):
                    return
                if not self._kind.live:
                    if self.policy.loop and delivered:
                        continue
                    self.status.state = RecorderState.ENDED if delivered else RecorderState.FAILED
                    return
                attempts = 0 if delivered else attempts + 1
                self.status.reconnects += 1
                self.status.state = RecorderState.RECONNECTING
                self._stop.wait(backoff_delay(max(attempts, 1), *self._backoff, self._rng))
        finally:
            self._finish_segment()
            if self.status.state in (RecorderState.RECORDING, RecorderState.RECONNECTING):
                self.status.state = RecorderState.STOPPED

    def _session(self) -> int:
        """One connection: open, record until it ends; the number of packets recorded."""
        opened_at = self._clock()
        try:
            container = self._open()
        except (*_AV_ERRORS, SourceError) as exc:
            self._error(f"open failed: {exc}")
            return 0
        with closing(container):
            if not container.streams.video:
                self._error("no video stream")
                return 0
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            mode = self.policy.mode_for(codec)
            if mode == "refuse":
                self._refuse(codec)
                return 0
            self.status.codec, self.status.mode = codec, mode
            self.status.state = RecorderState.RECORDING
            conn = _Connection(
                stream, mode, opened_at, stream.time_base or Fraction(1, 90_000), _step(stream)
            )
            before = self.status.packets
            try:
                return self._pump(container, conn)
            except _AV_ERRORS as exc:
                self._error(f"stream dropped: {exc}")
                return self.status.packets - before
            finally:
                self._finish_segment()  # a segment never spans two connections

    def _open(self) -> InputContainer:
        if not self._kind.live:
            path = file_path(self.policy.source)
            if not path.is_file():
                raise SourceError(f"video file not found: {path}")
            return av.open(str(path), metadata_errors="replace")
        options = {"analyzeduration": str(LIVE_ANALYZE_DURATION_US)}
        if self._kind is SourceKind.RTSP:
            options["rtsp_transport"] = "tcp"
            options["timeout"] = str(int(self._timeouts[1] * 1_000_000))
        return av.open(self.policy.source, options=options, timeout=self._timeouts, metadata_errors="replace")

    def _pump(self, container: InputContainer, conn: _Connection) -> int:
        recorded = 0
        for packet in container.demux(conn.stream):
            if self._stop.is_set():
                break
            ts = packet.pts if packet.pts is not None else packet.dts
            if not packet.size or ts is None:
                continue
            wall = conn.wall(ts)
            if self._pace and not self._wait_until(wall):
                break
            if conn.mode == "copy":
                self._copy(packet, wall, conn)
            else:
                self._transcode(packet, conn)
            recorded += 1
            self.status.packets += 1
        return recorded

    def _wait_until(self, wall: float) -> bool:
        """Pace a file at its own speed; False when stopped meanwhile."""
        delay = wall - self._clock()
        return not (delay > 0 and self._stop.wait(delay))

    def _copy(self, packet: Packet[VideoStream], wall: float, conn: _Connection) -> None:
        if packet.pts is None:
            packet.pts = packet.dts
        if packet.dts is None:
            packet.dts = packet.pts
        duration = float(packet.duration * conn.time_base) if packet.duration else conn.step
        segment = self._segment
        if (
            segment is not None
            and packet.is_keyframe
            and wall - segment.first_wall >= self.policy.segment_seconds
        ):
            self._finish_segment()
            segment = None
        if segment is None:
            if not packet.is_keyframe:
                self.status.waited_for_keyframe += 1
                return
            segment = self._segment = CopySegment(self.spool, self.policy.camera_id, wall, conn.stream)
        if not isinstance(segment, CopySegment) or not segment.write(packet, wall, duration):
            self.status.dropped_packets += 1

    def _transcode(self, packet: Packet[VideoStream], conn: _Connection) -> None:
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            self.status.dropped_packets += 1
            return
        for frame in frames:
            wall = conn.wall(frame.pts if frame.pts is not None else packet.pts or 0)
            segment = self._segment
            if segment is not None and wall - segment.first_wall >= self.policy.segment_seconds:
                self._finish_segment()
                segment = None
            if segment is None:
                rate = conn.stream.average_rate or Fraction(round(1 / conn.step))
                segment = self._segment = TranscodeSegment(
                    self.spool,
                    self.policy.camera_id,
                    wall,
                    frame,
                    Fraction(rate),
                    preset=self.policy.transcode_preset,
                    crf=self.policy.transcode_crf,
                )
            assert isinstance(segment, TranscodeSegment)
            segment.write_frame(frame, wall)

    def _finish_segment(self) -> None:
        segment = self._segment
        if segment is None:
            return
        try:  # `current_path` keeps naming the file until the sink has it (the reconciler skips it)
            self._close_and_hand_over(segment)
        finally:
            self._segment = None

    def _close_and_hand_over(self, segment: CopySegment | TranscodeSegment) -> None:
        try:
            info = segment.close()
        except _AV_ERRORS as exc:
            self._error(f"segment {segment.path.name} could not be finished: {exc}")
            segment.abort()
            return
        if info.packets == 0:
            info.path.unlink(missing_ok=True)
            return
        self.status.segments += 1
        self.status.bytes += info.bytes
        try:
            self._sink(info)
        except Exception as exc:  # left in the spool: the reconciler stores it later
            self._error(f"segment {info.id} not stored yet: {exc}")

    def _refuse(self, codec: str) -> None:
        self.status.state = RecorderState.REFUSED
        self.status.codec = codec
        self.status.last_error = (
            f"codec {codec} is not H.264/H.265 and recording.other_codecs is refuse; set "
            f"`recording: {{other_codecs: transcode}}` on camera {self.policy.camera_id} to re-encode it"
        )
        log.error("%s: %s", self.name, self.status.last_error)

    def _error(self, message: str) -> None:
        message = message.replace(self.policy.source, redact_url(self.policy.source))
        self.status.errors += 1
        self.status.last_error = message
        log.warning("%s: %s", self.name, message)


def _step(stream: VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(1 / rate) if rate else 0.04
