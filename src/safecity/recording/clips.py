"""Clips: a time range of one camera cut from its recorded segments by remuxing (no re-encoding).

A clip starts at the last keyframe at or before the requested start (a remux can only begin on a
keyframe), so it may begin up to one GOP early (typically 1-4 s with IP cameras); it ends with the last
packet whose decoding time is within the requested end. It may span several segments; a change of codec
or resolution between segments (a camera reconfigured) ends the clip there. Output: plain MP4 with
`+faststart` (a deliverable file that browsers play at once), its SHA-256 recorded in the index.

`EventClipper` is the bus subscriber: events of the configured kinds queue a clip request (bounded; the
handler never blocks the bus); a thread cuts it once the segments covering the post-roll are stored, or
at a deadline with whatever was recorded. A clip per event id at most (redelivery safe).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream
from sqlalchemy import Engine

from safecity.media.storage import ManagedStorage
from safecity.recording.config import ClipsConfig
from safecity.recording.index import (
    ClipRecord,
    SegmentRecord,
    clip_for_event,
    clip_key,
    insert_clip,
    latest_segment_end,
    segments_between,
)
from safecity.types import Event, utc

log = logging.getLogger(__name__)
CLIP_TIME_BASE = Fraction(1, 90_000)


class _ClipWriter:
    """Receives packets with their wall-clock times; writes from the keyframe before `start`."""

    def __init__(self, path: Path, start: float) -> None:
        self.path = path
        self.start = start
        self.out: OutputContainer | None = None
        self.stream: VideoStream | None = None
        self.signature: tuple[str, int, int, bytes] | None = None
        self.gop: list[tuple[Packet[VideoStream], float, float]] = []
        self.started = False
        self.origin = 0.0
        self.first_wall: float | None = None
        self.end_wall = 0.0
        self.last_dts = -1
        self.packets = 0

    def accepts(self, template: VideoStream) -> bool:
        """Open the output on the first segment; False when a later one has other codec parameters."""
        ctx = template.codec_context
        signature = (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))
        if self.signature is None:
            self.signature = signature
            self.out = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
            self.stream = self.out.add_stream_from_template(template)
            return True
        return signature == self.signature

    def offer(self, packet: Packet[VideoStream], wall_pts: float, wall_dts: float, duration: float) -> None:
        if self.started:
            self._write(packet, wall_pts, wall_dts, duration)
            return
        if packet.is_keyframe:
            self.gop = []
        elif not self.gop:
            return  # no keyframe yet to start from
        self.gop.append((packet, wall_pts, wall_dts))
        if wall_pts >= self.start:
            self.started = True
            self.origin = self.gop[0][1]
            for p, wp, wd in self.gop:
                self._write(p, wp, wd, duration)
            self.gop = []

    def _write(self, packet: Packet[VideoStream], wall_pts: float, wall_dts: float, duration: float) -> None:
        assert self.out is not None and self.stream is not None
        dts = max(round((wall_dts - self.origin) / CLIP_TIME_BASE), self.last_dts + 1)
        pts = max(round((wall_pts - self.origin) / CLIP_TIME_BASE), dts)
        packet.dts, packet.pts = dts, pts
        packet.time_base = CLIP_TIME_BASE
        packet.stream = self.stream
        self.out.mux(packet)
        self.last_dts = dts
        self.first_wall = wall_pts if self.first_wall is None else min(self.first_wall, wall_pts)
        self.end_wall = max(self.end_wall, wall_pts + duration)
        self.packets += 1

    def close(self) -> bool:
        """Finish the file; False (and no file) when nothing was written."""
        if self.out is not None:
            if self.packets == 0:
                self.out.close()
                self.path.unlink(missing_ok=True)
                return False
            self.out.close()
        return self.packets > 0


@dataclass(frozen=True, slots=True)
class Cut:
    path: Path
    start: datetime
    end: datetime
    packets: int


def cut_clip(
    storage: ManagedStorage, segments: list[SegmentRecord], start: datetime, end: datetime, out: Path
) -> Cut | None:
    """Remux [start, end] out of `segments` (oldest first) into the MP4 `out`; None if nothing in range."""
    writer = _ClipWriter(out, start.timestamp())
    until = end.timestamp()
    try:
        for segment in segments:
            if not _feed_segment(storage, segment, writer, until):
                break
    finally:
        written = writer.close()
    if not written or writer.first_wall is None:
        return None
    return Cut(out, utc(writer.first_wall), utc(writer.end_wall), writer.packets)


def _feed_segment(storage: ManagedStorage, segment: SegmentRecord, writer: _ClipWriter, until: float) -> bool:
    """Offer one segment's packets; False once the clip is complete (or cannot continue)."""
    base = segment.start.timestamp()
    with storage.local_file(segment.key) as path, av.open(str(path)) as container:
        stream = container.streams.video[0]
        if not writer.accepts(stream):
            log.warning("clip: segment %s has other codec parameters; the clip ends before it", segment.id)
            return False
        tb = stream.time_base or Fraction(1, 90_000)
        step = float(1 / stream.average_rate) if stream.average_rate else 0.04
        for packet in container.demux(stream):
            if not packet.size or packet.pts is None or packet.dts is None:
                continue
            wall_dts = base + float(packet.dts * tb)
            if wall_dts > until:
                return False
            duration = float(packet.duration * tb) if packet.duration else step
            writer.offer(packet, base + float(packet.pts * tb), wall_dts, duration)
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_clip(
    engine: Engine,
    storage: ManagedStorage,
    work_dir: Path,
    camera_id: str,
    start: datetime,
    end: datetime,
    *,
    reason: str,
    created_by: str,
    event_id: str | None = None,
) -> ClipRecord | None:
    """Cut, store and index a clip (unredacted); None when nothing was recorded in the range."""
    with engine.connect() as conn:
        segments = segments_between(conn, camera_id, start, end)
    if not segments:
        return None
    work_dir.mkdir(parents=True, exist_ok=True)
    clip_id = uuid.uuid4().hex
    cut = cut_clip(storage, segments, start, end, work_dir / f"{clip_id}.mp4")
    if cut is None:
        return None
    digest = sha256_file(cut.path)
    key = clip_key(camera_id, cut.start, clip_id)
    size = storage.put_file(key, cut.path)
    clip = ClipRecord(
        id=clip_id,
        camera_id=camera_id,
        event_id=event_id,
        start=cut.start,
        end=cut.end,
        key=key,
        bytes=size,
        sha256=digest,
        reason=reason,
        redacted=False,
        created_by=created_by,
        created_at=datetime.now(UTC),
    )
    with engine.begin() as conn:
        insert_clip(conn, clip)
    return clip


@dataclass(frozen=True, slots=True)
class ClipRequest:
    event_id: str
    camera_id: str
    start: datetime
    end: datetime
    deadline: float  # wall-clock seconds after which the clip is cut with what exists


class EventClipper:
    """Bus handler + thread: a clip with pre- and post-roll for each event of the configured kinds."""

    def __init__(
        self,
        engine: Engine,
        storage: ManagedStorage,
        config: ClipsConfig,
        segment_seconds: dict[str, float],
        work_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        poll_s: float = 2.0,
    ) -> None:
        self.engine, self.storage, self.config = engine, storage, config
        self.segment_seconds = segment_seconds  # the cameras being recorded
        self.work_dir = work_dir
        self.clock = clock
        self.poll_s = poll_s
        self.kinds = frozenset(config.event_kinds)
        self.pending: collections.deque[ClipRequest] = collections.deque()
        self.made = self.dropped = self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: Event) -> None:
        if event.kind.value not in self.kinds or event.camera_id not in self.segment_seconds:
            return
        start = event.start - timedelta(seconds=self.config.pre_roll_s)
        end = event.end + timedelta(seconds=self.config.post_roll_s)
        deadline = end.timestamp() + 2 * self.segment_seconds[event.camera_id] + 30.0
        with self._lock:
            if len(self.pending) >= self.config.max_pending:
                self.dropped += 1
                return
            self.pending.append(ClipRequest(event.id, event.camera_id, start, end, deadline))

    def run_pending(self, *, force: bool = False) -> int:
        """Cut every request whose post-roll is recorded (or whose deadline passed, or all of them with
        `force`: at shutdown, with what was recorded); the number cut."""
        with self._lock:
            requests = list(self.pending)
        done = 0
        for request in requests:
            if not force and not self._ready(request):
                continue
            with self._lock:
                self.pending.remove(request)
            done += self._cut(request)
        return done

    def _ready(self, request: ClipRequest) -> bool:
        if self.clock() >= request.deadline:
            return True
        with self.engine.connect() as conn:
            latest = latest_segment_end(conn, request.camera_id)
        return latest is not None and latest >= request.end

    def _cut(self, request: ClipRequest) -> int:
        try:
            with self.engine.connect() as conn:
                if clip_for_event(conn, request.event_id) is not None:
                    return 0
            clip = make_clip(
                self.engine,
                self.storage,
                self.work_dir,
                request.camera_id,
                request.start,
                request.end,
                reason="event",
                created_by="system",
                event_id=request.event_id,
            )
        except Exception:
            self.failed += 1
            log.exception("clip for event %s failed", request.event_id)
            return 0
        if clip is None:
            log.warning("no recording for the clip of event %s (%s)", request.event_id, request.camera_id)
            return 0
        self.made += 1
        return 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="event-clips", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0, *, flush: bool = True) -> None:
        """End the thread; with `flush`, cut the pending clips now with what was recorded."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if flush:
            self.run_pending(force=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.run_pending()
            except Exception:
                log.exception("event clips: pass failed")
