"""Redaction of clips: every frame through a `Redactor` (faces and plates blurred), re-encoded.

`redact_clip(src, dst, redactor)` decodes the clip, hands each BGR frame to the redactor and encodes the
result with libx264 (re-encoding is unavoidable once pixels change). The redactors the project has are
`safecity.media.face_redaction.FaceRedactor` (faces, CenterFace) and
`safecity.media.plate_redaction.ClipPlateRedactor` (plates inside detected vehicles), chained by
`safecity.media.plate_redaction.RedactorChain`.
`safecity.recording.export` uses this for redacted exports.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

import av
import numpy as np

REDACTION_PRESET = "veryfast"
REDACTION_CRF = "20"


@runtime_checkable
class Redactor(Protocol):
    """Blurs what must not be seen (faces, plates) in one frame."""

    def redact(self, image: np.ndarray) -> np.ndarray:
        """A BGR (HxWx3 uint8) image with faces and plates blurred; same shape."""
        ...


def redact_clip(source: Path, target: Path, redactor: Redactor) -> int:
    """Write `target` (MP4, H.264) with every frame of `source` redacted; the number of frames."""
    with (
        av.open(str(source)) as inp,
        av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        src = inp.streams.video[0]
        rate = src.average_rate or Fraction(25)
        dst = out.add_stream("libx264", rate=rate, options={"preset": REDACTION_PRESET, "crf": REDACTION_CRF})
        dst.width, dst.height = src.codec_context.width, src.codec_context.height
        dst.pix_fmt = "yuv420p"
        dst.codec_context.time_base = src.time_base or Fraction(1, 90_000)
        frames = 0
        for frame in inp.decode(src):
            image = redactor.redact(frame.to_ndarray(format="bgr24"))
            if image.shape != (frame.height, frame.width, 3):
                raise ValueError(f"the redactor changed the frame shape to {image.shape}")
            new = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24").reformat(
                format="yuv420p"
            )
            new.pts, new.time_base = frame.pts, frame.time_base
            out.mux(dst.encode(new))
            frames += 1
        out.mux(dst.encode(None))
    return frames
