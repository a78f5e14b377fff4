"""What a video source is (`SourceSpec`), how it is doing (`SourceStats`) and how it fails (`SourceError`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

RTSP_TRANSPORTS = frozenset({"tcp", "udp", "udp_multicast", "http", "https"})


class SourceKind(enum.StrEnum):
    FILE = "file"  # finite: ends at EOF (or loops); a file that cannot be read raises, never retried
    RTSP = "rtsp"  # live: reconnects with backoff
    HTTP = "http"  # live: MJPEG (multipart/x-mixed-replace) or anything else FFmpeg reads over HTTP
    STREAM = "stream"  # live: any other FFmpeg protocol (rtmp://, srt://, udp://, ...)

    @property
    def live(self) -> bool:
        return self is not SourceKind.FILE


def source_kind(url: str) -> SourceKind:
    """A local path or file:// URL is a file; rtsp(s)://, http(s):// and other schemes are live streams."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("", "file") or len(scheme) == 1:  # a one-letter "scheme" is a drive: C:\video.mp4
        return SourceKind.FILE
    if scheme in ("rtsp", "rtsps"):
        return SourceKind.RTSP
    if scheme in ("http", "https"):
        return SourceKind.HTTP
    return SourceKind.STREAM


def file_path(url: str) -> Path:
    """The local path of a file source (`/a/b.mp4`, `b.mp4` or `file:///a/b.mp4`)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return Path(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file URL with a remote host is not supported: {url}")
    return Path(url2pathname(unquote(parts.path)))


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class SourceSpec:
    """One camera's video source.

    `fps` is the analysis rate (frames are sampled on their timestamps; None keeps every frame).
    `max_reconnects` bounds the reconnect attempts *in a row* (reset once a connection delivers a frame);
    None retries forever. Timeouts bound opening a stream and waiting for its next packet.
    """

    camera_id: str
    url: str
    fps: float | None = None
    loop: bool = False
    rtsp_transport: str = "tcp"
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_reconnects: int | None = None

    def __post_init__(self) -> None:
        if not self.camera_id:
            raise ValueError("camera_id must not be empty")
        if not self.url:
            raise ValueError(f"camera {self.camera_id}: url must not be empty")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"camera {self.camera_id}: fps must be > 0 or None, got {self.fps}")
        if self.rtsp_transport not in RTSP_TRANSPORTS:
            raise ValueError(
                f"camera {self.camera_id}: rtsp_transport must be one of {sorted(RTSP_TRANSPORTS)}, "
                f"got {self.rtsp_transport!r}"
            )
        for name in ("open_timeout_s", "read_timeout_s", "backoff_initial_s", "backoff_max_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"camera {self.camera_id}: {name} must be > 0")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(f"camera {self.camera_id}: backoff_max_s must be >= backoff_initial_s")
        if self.max_reconnects is not None and self.max_reconnects < 0:
            raise ValueError(f"camera {self.camera_id}: max_reconnects must be >= 0 or None")

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.url)

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)


@dataclass
class SourceStats:
    """Counters of one source, written by its reader and readable from any thread.

    frames_decoded: pictures the decoder produced; frames_emitted: Frames that frames() yielded;
    frames_skipped: left out by fps sampling (for intra-only codecs such as MJPEG those are not even
    decoded); frames_dropped: live frames discarded because the consumer had not taken the previous one;
    reconnects: reconnect attempts of a live source; errors: failed opens, dropped connections and packets
    that did not decode; last_frame_wall: wall-clock time of the last decoded frame.
    """

    frames_decoded: int = 0
    frames_emitted: int = 0
    frames_skipped: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    errors: int = 0
    last_frame_wall: float | None = None
    last_error: str | None = None
    connected: bool = False


class SourceError(Exception):
    """A source that cannot deliver: a missing or unreadable file, or a live stream out of reconnects."""
