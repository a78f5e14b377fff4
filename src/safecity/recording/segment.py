"""Writing one recording segment (fragmented MP4 in the spool) and probing one after a crash.

Segments are fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`): the header is written first
and each GOP is appended as a self-contained fragment, flushed to the OS as soon as it is complete
(`flush_packets`), so a recorder killed mid-segment leaves a file that PyAV/FFmpeg (and browsers) can read
up to its last whole fragment (the GOP in progress is lost); the reconciler salvages it. A power cut can
also lose what the OS had not written yet: an fsync per fragment would bound that, at a disk cost not paid.

Time. In a fragmented MP4 the first packet's decoding time is 0 and its presentation time is its
pts - dts. A spool file is named after the wall-clock time at which its first packet is presented, so the
wall-clock time of file time 0 (the segment's `start`) is that minus the first packet's presentation
time, both while writing and when salvaging. Playing a segment at time t shows wall-clock `start + t`.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import OutputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from safecity.types import utc

FRAGMENTED = "frag_keyframe+empty_moov+default_base_moof"
SPOOL_SUFFIX = ".mp4.part"
TRANSCODE_TIME_BASE = Fraction(1, 90_000)
TRANSCODED_TAG = "safecity:transcoded"
COPIED_TAG = "safecity:copied"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A finished segment file in the spool, ready to be stored and indexed."""

    id: str
    camera_id: str
    path: Path
    start: datetime
    end: datetime
    bytes: int
    codec: str
    width: int
    height: int
    transcoded: bool
    packets: int


def spool_name(first_wall: float, segment_id: str) -> str:
    return f"{round(first_wall * 1000)}_{segment_id}{SPOOL_SUFFIX}"


def parse_spool_name(name: str) -> tuple[float, str] | None:
    """(wall-clock seconds of the first presented packet, segment id) from a spool file name."""
    if not name.endswith(SPOOL_SUFFIX):
        return None
    stem = name[: -len(SPOOL_SUFFIX)]
    ms, _, seg_id = stem.partition("_")
    if not ms.isdigit() or len(seg_id) != 32:
        return None
    return int(ms) / 1000, seg_id


class _Segment:
    """The shared part: the output container, the time mapping, the byte and packet counts."""

    def __init__(self, spool: Path, camera_id: str, first_wall: float, *, transcoded: bool) -> None:
        self.id = uuid.uuid4().hex
        self.camera_id = camera_id
        self.first_wall = first_wall
        spool.mkdir(parents=True, exist_ok=True)
        self.path = spool / spool_name(first_wall, self.id)
        # flush_packets: each fragment reaches the OS when the muxer writes it, not when a 32 KiB buffer fills
        options = {"movflags": FRAGMENTED, "flush_packets": "1"}
        self.out: OutputContainer = av.open(str(self.path), "w", format="mp4", options=options)
        self.out.metadata["comment"] = TRANSCODED_TAG if transcoded else COPIED_TAG  # read back by `probe`
        self.start_wall: float | None = None
        self.end_wall = first_wall
        self.packets = 0
        self.last_dts: int | None = None

    def _mux(self, packet: Packet[VideoStream], wall_pts: float, duration_s: float) -> bool:
        """Mux one packet; False (and dropped) when its dts does not increase."""
        if packet.dts is None or packet.pts is None:
            return False
        if self.last_dts is not None and packet.dts <= self.last_dts:
            return False
        if self.start_wall is None:
            tb = packet.time_base or Fraction(1, 1)
            self.start_wall = wall_pts - float((packet.pts - packet.dts) * tb)
        self.out.mux(packet)
        self.last_dts = packet.dts
        self.end_wall = max(self.end_wall, wall_pts + duration_s)
        self.packets += 1
        return True

    def _info(self, stream: VideoStream, codec: str, transcoded: bool) -> SegmentInfo:
        size = self.path.stat().st_size
        start = self.start_wall if self.start_wall is not None else self.first_wall
        return SegmentInfo(
            id=self.id,
            camera_id=self.camera_id,
            path=self.path,
            start=utc(start),
            end=utc(self.end_wall),
            bytes=size,
            codec=codec,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            transcoded=transcoded,
            packets=self.packets,
        )

    def abort(self) -> None:
        """Close and remove the file (a segment that must not be kept)."""
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self.out.close()
        self.path.unlink(missing_ok=True)


class CopySegment(_Segment):
    """Packets of the source muxed as they are (H.264 / H.265)."""

    def __init__(self, spool: Path, camera_id: str, first_wall: float, template: VideoStream) -> None:
        super().__init__(spool, camera_id, first_wall, transcoded=False)
        self.stream: VideoStream = self.out.add_stream_from_template(template)
        self.codec = template.codec_context.name
        self._offset: int | None = None

    def write(self, packet: Packet[VideoStream], wall_pts: float, duration_s: float) -> bool:
        if packet.dts is None or packet.pts is None:
            return False
        if self._offset is None:
            self._offset = packet.dts
        packet.pts -= self._offset
        packet.dts -= self._offset
        packet.stream = self.stream
        return self._mux(packet, wall_pts, duration_s)

    def close(self) -> SegmentInfo:
        self.out.close()
        return self._info(self.stream, self.codec, transcoded=False)


class TranscodeSegment(_Segment):
    """Decoded frames re-encoded with libx264; each segment has its own encoder (starts on a keyframe)."""

    def __init__(
        self,
        spool: Path,
        camera_id: str,
        first_wall: float,
        frame: VideoFrame,
        rate: Fraction,
        *,
        preset: str,
        crf: int,
    ) -> None:
        super().__init__(spool, camera_id, first_wall, transcoded=True)
        options = {"preset": preset, "crf": str(crf)}
        stream = self.out.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height = frame.width, frame.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = TRANSCODE_TIME_BASE
        stream.codec_context.gop_size = max(1, round(2 * float(rate)))  # a keyframe every 2 s
        self.stream: VideoStream = stream
        self._step = float(1 / rate)

    def write_frame(self, frame: VideoFrame, wall: float) -> None:
        image = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        image.pts = round((wall - self.first_wall) / TRANSCODE_TIME_BASE)
        image.time_base = TRANSCODE_TIME_BASE
        for packet in self.stream.encode(image):
            self._mux_encoded(packet)

    def _mux_encoded(self, packet: Packet[VideoStream]) -> None:
        pts = packet.pts if packet.pts is not None else 0
        self._mux(packet, self.first_wall + float(pts * TRANSCODE_TIME_BASE), self._step)

    def close(self) -> SegmentInfo:
        for packet in self.stream.encode(None):
            self._mux_encoded(packet)
        self.out.close()
        return self._info(self.stream, "h264", transcoded=True)


@dataclass(frozen=True, slots=True)
class Probe:
    """What a stored or salvaged MP4 holds, read with PyAV (times in seconds of file time)."""

    codec: str
    width: int
    height: int
    first_pts_s: float
    end_s: float
    packets: int
    transcoded: bool


def probe(path: Path) -> Probe | None:
    """Read every packet and decode the first keyframe; None if the file holds no usable video."""
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            tb = stream.time_base or Fraction(1, 1)
            step = float(1 / stream.average_rate) if stream.average_rate else 0.04
            first: float | None = None
            end, packets, decoded = 0.0, 0, False
            for packet in container.demux(stream):
                if packet.pts is None or not packet.size:
                    continue
                t = float(packet.pts * tb)
                first = t if first is None else min(first, t)
                end = max(end, t + (float(packet.duration * tb) if packet.duration else step))
                packets += 1
                if not decoded:
                    decoded = bool(packet.decode())
            ctx = stream.codec_context
            if first is not None and not decoded:  # a decoder with delay: flush it
                decoded = bool(ctx.decode(None))
            if first is None or not decoded:
                return None
            transcoded = container.metadata.get("comment") == TRANSCODED_TAG
            return Probe(ctx.name, ctx.width, ctx.height, first, end, packets, transcoded)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
