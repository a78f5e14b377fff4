"""Cost of masking live frames (issue 16, live view): head regions from the detector's person boxes versus
a CenterFace face-detector pass, per frame and per camera at a given analysis rate.

Decodes PETS2009 frames, runs NanoDet once per frame (not timed: the camera runtime already pays for it)
and times, in CPU seconds of this process, `mask_heads` (what the live snapshot and MJPEG use) and
`FaceRedactor.redact` (CenterFace, as stored snapshots use), and the plate mask of live view
(`PlateMasker`: the plate models' text detector inside each vehicle box; PETS shows a parked car and van).

    .venv/bin/python bench/live_mask.py [--frames 100] [--fps 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np
import supervision as sv

from safecity.api.live_privacy import mask_heads, person_boxes
from safecity.app import build_detector
from safecity.config import Settings
from safecity.media.face_redaction import default_redactor
from safecity.media.plate_redaction import PlateMasker, PlateRedactor, vehicle_boxes
from safecity.vision.models import default_cache_dir
from safecity.vision.plates import PlateReader, PlateReaderConfig
from safecity.vision.plates_models import plate_model_paths

ROOT = Path(__file__).resolve().parents[1]
PETS = (ROOT / ".." / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi").resolve()


def frames(count: int) -> list[np.ndarray]:
    out = []
    with av.open(str(PETS)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="bgr24"))
            if len(out) == count:
                break
    return out


def cpu_ms_per_frame(images: list[np.ndarray], step: object) -> float:
    assert callable(step)
    t0 = time.process_time()
    for i, image in enumerate(images):
        step(i, image)
    return (time.process_time() - t0) * 1000 / len(images)


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--fps", type=float, default=10.0, help="analysis rate of one camera")
    args = parser.parse_args()
    images = frames(args.frames)
    detector = build_detector(Settings())
    tracks: list[sv.Detections] = [detector.detect(image) for image in images]
    people = sum(len(person_boxes(t)) for t in tracks) / len(tracks)
    redactor = default_redactor()
    assert redactor.available, "CenterFace is not installed: run `safecity models install`"
    redactor.redact(images[0])  # load the model outside the timing
    heads = cpu_ms_per_frame(images, lambda i, im: mask_heads(im, tracks[i]))
    faces = cpu_ms_per_frame(images, lambda i, im: redactor.redact(im))
    reader = PlateReader(*plate_model_paths(default_cache_dir()), PlateReaderConfig())
    masker = PlateMasker(PlateRedactor(lambda: reader))
    cars = [vehicle_boxes(t) for t in tracks]
    masker.mask(images[0], cars[0], 0.0)  # load the models outside the timing
    plates = cpu_ms_per_frame(images, lambda i, im: masker.mask(im, cars[i], i / args.fps))
    h, w = images[0].shape[:2]
    print(f"frames: {len(images)} ({w}x{h}), people per frame: {people:.1f}, analysis rate: {args.fps:g} fps")
    print(f"vehicles per frame: {sum(len(c) for c in cars) / len(cars):.1f}")
    rows = (("head boxes (live view)", heads), ("CenterFace face detector", faces))
    rows += (("plates (live view)", plates),)
    for name, ms in rows:
        print(f"{name:26s} {ms:8.2f} CPU ms/frame  {ms * args.fps / 10:6.2f} % of one core per camera")


if __name__ == "__main__":
    main()
