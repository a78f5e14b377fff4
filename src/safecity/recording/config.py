"""The `recording:` section (global defaults) and a camera's `recording:` overrides.

```yaml
recording:
  enabled: false          # continuous recording is off unless a deployment turns it on (privacy by default)
  segment_seconds: 60     # one MP4 file per minute, cut at the first keyframe after it
  other_codecs: refuse    # H.264/H.265 are remuxed as they are; refuse | transcode anything else
  clips: {pre_roll_s: 5, post_roll_s: 10, event_kinds: [crowding, loitering]}
cameras:
  - id: gate-1
    source: rtsp://10.0.0.5/sub          # analysed (decoded) at 5 fps
    recording: {enabled: true, source: rtsp://10.0.0.5/main, other_codecs: transcode}
```

Codec policy. H.264 and H.265 sources are recorded without re-encoding: packets are demuxed and muxed into
MP4 as the camera sent them (bit-exact evidence; the CPU cost is that of copying bytes). Other codecs
(MJPEG, MPEG-4 Part 2 such as the PETS2009 sample's DivX `msmpeg4v3`, ...) either cannot go into MP4 or
would not play in a browser, so they need a choice:
- `refuse` (default): the camera is not recorded, its recorder reports `refused` with the codec and the
  fix, and analysis goes on. Re-encoding is a per-camera decision because it alters the evidence (a
  re-encoded copy, not the camera's bitstream) and costs a real share of a CPU core per camera
  (bench/recording.py, CPU time: libx264 `veryfast` about 5% of one core for 768x576 at 10 fps and about
  37% for 1080p at 25 fps, against 0.03-0.1% for a remux of the same streams); a default that silently
  spent that on every odd camera would starve analysis.
- `transcode`: decode and re-encode with libx264 (`transcode_preset`, `transcode_crf`); segments are
  flagged `transcoded` in the index.
Audio is never recorded (audio surveillance of public space is a separate legal question).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CodecChoice = Literal["refuse", "transcode"]
EventKindName = Literal["line_crossing", "zone_enter", "zone_exit", "crowding", "loitering"]
COPY_CODECS = frozenset({"h264", "hevc"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClipsConfig(_Strict):
    pre_roll_s: float = Field(5.0, ge=0, le=600, description="Seconds of recording kept before an event")
    post_roll_s: float = Field(10.0, ge=0, le=600, description="Seconds of recording kept after an event")
    event_kinds: tuple[EventKindName, ...] = Field(
        ("crowding", "loitering"), description="Events of these kinds get a clip automatically"
    )
    max_pending: int = Field(1000, ge=1, description="Clips waiting for their post-roll; more are dropped")
    max_export_s: float = Field(3600.0, gt=0, description="Longest clip one export may cut")


class RecordingConfig(_Strict):
    enabled: bool = Field(False, description="Record every camera continuously (cameras may override)")
    segment_seconds: float = Field(60.0, ge=2, le=3600, description="Target length of one MP4 segment")
    other_codecs: CodecChoice = Field(
        "refuse", description="Sources other than H.264/H.265: refuse (default) or transcode (libx264)"
    )
    transcode_preset: str = Field("veryfast", description="libx264 preset when transcoding")
    transcode_crf: int = Field(23, ge=0, le=51, description="libx264 constant rate factor when transcoding")
    clips: ClipsConfig = ClipsConfig()


class CameraRecordingConfig(_Strict):
    """Per-camera overrides of `recording:`; unset fields inherit the global value."""

    enabled: bool | None = Field(None, description="Record this camera (default: recording.enabled)")
    segment_seconds: float | None = Field(None, ge=2, le=3600)
    other_codecs: CodecChoice | None = None
    source: str | None = Field(
        None, description="Record this URL or absolute path instead of the analysed source (a main stream)"
    )


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """The effective recording settings of one camera."""

    camera_id: str
    source: str
    enabled: bool
    segment_seconds: float
    other_codecs: CodecChoice
    transcode_preset: str
    transcode_crf: int
    loop: bool = False  # a looped demo file is recorded as it plays

    def mode_for(self, codec: str) -> Literal["copy", "transcode", "refuse"]:
        if codec in COPY_CODECS:
            return "copy"
        return self.other_codecs


def recording_policy(
    defaults: RecordingConfig,
    camera_id: str,
    source: str,
    override: CameraRecordingConfig | None,
    *,
    loop: bool = False,
) -> RecordingPolicy:
    o = override or CameraRecordingConfig()
    return RecordingPolicy(
        camera_id=camera_id,
        source=o.source or source,
        enabled=defaults.enabled if o.enabled is None else o.enabled,
        segment_seconds=o.segment_seconds or defaults.segment_seconds,
        other_codecs=o.other_codecs or defaults.other_codecs,
        transcode_preset=defaults.transcode_preset,
        transcode_crf=defaults.transcode_crf,
        loop=loop,
    )
