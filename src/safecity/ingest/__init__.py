"""Video sources: files, RTSP and HTTP MJPEG cameras decoded by PyAV into `Frame`s.

`open_source(SourceSpec(camera_id, url, fps=...))` gives a `VideoSource`; iterate `source.frames()` in a
thread of your own and call `source.stop()` from any other to end it. Files end at EOF (or loop); live
streams reconnect with backoff. The design is described in `safecity.ingest.source`.
"""

from safecity.ingest.pool import FramePool, PoolStats
from safecity.ingest.source import VideoSource, open_source
from safecity.ingest.spec import SourceError, SourceKind, SourceSpec, SourceStats, source_kind

__all__ = [
    "FramePool",
    "PoolStats",
    "SourceError",
    "SourceKind",
    "SourceSpec",
    "SourceStats",
    "VideoSource",
    "open_source",
    "source_kind",
]
