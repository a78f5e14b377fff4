"""Plates masked beyond stored snapshots, on real plate photos read by the project's own plate reader:
in live frames (snapshot and MJPEG, the frame a viewer without `media:unredacted` gets) and in exported
clips. Each attack reads the plate from what a viewer receives; each test first shows the plate is read
from the unmasked picture, so it fails if the masking call is removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import supervision as sv

from safecity.api.annotate import annotated_jpeg
from safecity.api.live_privacy import mask_live
from safecity.config.models import CameraConfig
from safecity.media.plate_redaction import ClipPlateRedactor, PlateRedactor, RedactorChain
from safecity.media.storage import LocalMediaStorage
from safecity.pipeline.analyzer import Analysis
from safecity.plates.runtime import Plates
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.export import UNREDACTED_PERMISSION, export_range
from safecity.recording.index import SegmentStore
from safecity.recording.recorder import CameraRecorder
from safecity.store import make_engine, upgrade
from safecity.types import Frame
from safecity.vision.detector import OnnxDetector
from safecity.vision.models import ModelNotInstalledError
from safecity.vision.plate_formats import normalize
from safecity.vision.plate_stage import VEHICLES
from safecity.vision.plates import PlateReader
from safecity.vision.plates_config import PlatesConfig
from support.plates import us_plate_reader

pytestmark = [pytest.mark.models, pytest.mark.slow]  # OCR of full-size photos: 5-30 s a test here
CAMERA = "gate"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PHOTO = 1  # a US photo whose car NanoDet scores 0.75 and whose plate the reader reads exactly


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return us_plate_reader()


@pytest.fixture(scope="module")
def detector(nanodet_model: Path) -> OnnxDetector:
    return OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2)


@pytest.fixture(scope="module")
def photo(shared_data: Path, detector: OnnxDetector) -> tuple[np.ndarray, str, sv.Detections]:
    """(image, its plate, the car as a one-track Detections)."""
    txt = sorted((shared_data / "plates" / "us").glob("*.txt"))[PHOTO]
    name, *_, plate = txt.read_text().split()[:6]
    image = cv2.imread(str(txt.with_name(name)))
    cars = detector.detect(image)
    assert len(cars), "NanoDet finds the car"
    car = cars[int(np.argmax(cars.confidence))]
    car.tracker_id = np.array([3])
    return image, normalize(plate), car


def _reads(reader: PlateReader, image: np.ndarray, car: sv.Detections) -> list[str]:
    """What the plate reader reads inside the (widened) car box of `image`."""
    x1, y1, x2, y2 = (float(v) for v in car.xyxy[0])
    px, py = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
    return [r.plate for r in reader.read(image, (x1 - px, y1 - py, x2 + px, y2 + py))]


def _plates(reader: object, tmp_path: Path, **config: object) -> Plates:
    media = LocalMediaStorage(tmp_path / "media")
    return Plates(PlatesConfig(**config), tmp_path, None, media, reader=lambda: reader)  # type: ignore[arg-type,return-value]


def _analysis(image: np.ndarray, car: sv.Detections, seq: int = 1, ts: float = 1000.0) -> Analysis:
    return Analysis(Frame(CAMERA, seq, ts - 1000.0, ts, image), car, [], detected=True)


def test_live_frames_mask_plates_for_viewers_without_unredacted(
    photo: tuple[np.ndarray, str, sv.Detections], reader: PlateReader, tmp_path: Path
) -> None:
    image, plate, car = photo
    original = image.copy()
    analysis = _analysis(image, car)
    assert plate in _reads(reader, mask_live(analysis, None), car), "heads only: the plate is readable"

    plates = _plates(reader, tmp_path)
    shown = mask_live(analysis, plates)  # the live snapshot's picture
    assert plate not in _reads(reader, shown, car)  # (the phone number painted on the truck stays)
    assert np.array_equal(image, original), "the analysed frame itself is untouched"

    camera = CameraConfig(id=CAMERA, source="x.mp4")
    mjpeg = cv2.imdecode(np.frombuffer(annotated_jpeg(analysis, camera, plates=plates), np.uint8), 1)
    assert plate not in _reads(reader, mjpeg, car), "an MJPEG part shows the plate"
    unmasked = annotated_jpeg(analysis, camera, mask=False, plates=plates)  # media:unredacted, audited
    assert plate in _reads(reader, cv2.imdecode(np.frombuffer(unmasked, np.uint8), 1), car)

    # `plates.redact: false` turns plate masking off, live as in snapshots
    assert plate in _reads(reader, mask_live(analysis, _plates(reader, tmp_path, redact=False)), car)


class Misses:
    """The real plate reader, except that its text detector misses every plate after the first frame (a
    motion-blurred or glinting frame in a live stream)."""

    def __init__(self, reader: PlateReader) -> None:
        self.reader, self.calls = reader, 0

    def locate(
        self, image: np.ndarray, region: object = None, upscale: float = 1.0, side: int | None = None
    ) -> list[tuple[int, int, int, int]]:
        self.calls += 1
        found = self.reader.locate(image, region, upscale, side)  # type: ignore[arg-type]
        return found if self.calls == 1 else []


@pytest.mark.parametrize("hold_s", [1.0, 0.0])
def test_live_mask_holds_a_plate_the_detector_misses_for_a_frame(
    photo: tuple[np.ndarray, str, sv.Detections], reader: PlateReader, tmp_path: Path, hold_s: float
) -> None:
    image, plate, car = photo
    plates = _plates(Misses(reader), tmp_path)
    plates._live.clear()
    first = mask_live(_analysis(image, car, seq=1, ts=1000.0), plates)
    assert plate not in _reads(reader, first, car)
    for live in plates._live.values():
        live.masker.hold_s = hold_s
    moved = car[:]
    moved.xyxy = moved.xyxy + np.array([6, 3, 6, 3], np.float32)  # the car moved a little
    second = mask_live(_analysis(image, moved, seq=2, ts=1000.2), plates)  # located nothing this frame
    if hold_s:
        assert plate not in _reads(reader, second, car), "the plate flashed readable in the next frame"
    else:  # without the memory the missed frame shows the plate: the memory is what masks it
        assert plate in _reads(reader, second, car)
    # the same frame for a second viewer: located once, not again
    calls = plates.live_redactor._reader.calls  # type: ignore[union-attr]
    mask_live(_analysis(image, moved, seq=2, ts=1000.2), plates)
    assert plates.live_redactor._reader.calls == calls  # type: ignore[union-attr]


def test_live_mask_fails_closed_without_plate_models(
    photo: tuple[np.ndarray, str, sv.Detections], reader: PlateReader, tmp_path: Path
) -> None:
    image, plate, car = photo

    def missing() -> PlateReader:
        raise ModelNotInstalledError("no plate models here")

    plates = Plates(PlatesConfig(), tmp_path, None, LocalMediaStorage(tmp_path), reader=missing)
    assert plate not in _reads(reader, mask_live(_analysis(image, car), plates), car)


def _video(image: np.ndarray, path: Path, frames: int = 8, fps: int = 4) -> Path:
    """An H.264 MP4 of `image`, keyframe every 4 frames: a camera's stream of a parked car."""
    small = image
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"g": "4", "preset": "veryfast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = small.shape[1], small.shape[0], "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(small, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as clip:
        return [f.to_ndarray(format="bgr24") for f in clip.decode(video=0)]


@pytest.mark.db
def test_exported_clip_masks_plates_unless_unredacted(
    photo: tuple[np.ndarray, str, sv.Detections],
    reader: PlateReader,
    detector: OnnxDetector,
    database_url: str,
    tmp_path: Path,
) -> None:
    image, plate, car = photo
    half = car
    upgrade(database_url)
    engine = make_engine(database_url)
    store = SegmentStore(engine, LocalMediaStorage(tmp_path / "media"))
    source = _video(image, tmp_path / "parked.mp4")
    policy = recording_policy(RecordingConfig(enabled=True, segment_seconds=10), CAMERA, str(source), None)
    CameraRecorder(policy, tmp_path / "spool", store.commit, clock=T0.timestamp, pace=False).run()
    common = dict(actor="alice", camera_id=CAMERA, start=T0, end=T0 + timedelta(seconds=2), reason="case 14")

    plain = export_range(
        engine, store.storage, tmp_path / "work", permissions=frozenset({UNREDACTED_PERMISSION}),
        unredacted=True, **common,  # type: ignore[arg-type]
    )  # fmt: skip
    raw = _frames(store.storage.path_for(plain.key))  # type: ignore[arg-type]
    assert raw and plate in _reads(reader, raw[0], half), "the unredacted export shows the plate"

    redactor = RedactorChain(ClipPlateRedactor(detector.detect, PlateRedactor(lambda: reader)))
    clip = export_range(
        engine, store.storage, tmp_path / "work", permissions=frozenset({"media:read"}), unredacted=False,
        redactor=redactor, **common,  # type: ignore[arg-type]
    )  # fmt: skip
    shown = _frames(store.storage.path_for(clip.key))  # type: ignore[arg-type]
    assert clip.redacted and len(shown) == len(raw)
    leaked = [i for i, frame in enumerate(shown) if plate in _reads(reader, frame, half)]
    assert leaked == [], f"frames of the redacted export with a readable plate: {leaked}"
    engine.dispose()


def test_api_exports_blur_faces_then_plates_with_a_memory_per_clip(
    tmp_path: Path, photo: tuple[np.ndarray, str, sv.Detections], reader: PlateReader
) -> None:
    """The redactor the export routes hand to `export_range`: faces, then plates in the vehicles the node's
    detector finds; a new plate memory for every export; none with `plates.redact: false`."""
    from safecity.api.routers.recordings import export_redactor
    from support.api_harness import make_node

    node = make_node(tmp_path / "on")
    try:
        first, second = export_redactor(node), export_redactor(node)
        assert isinstance(first, RedactorChain) and isinstance(second, RedactorChain)
        assert node.biometrics is not None and first.redactors[0] is node.biometrics.redactor
        plates = first.redactors[1]
        assert isinstance(plates, ClipPlateRedactor) and plates.masker is not second.redactors[1].masker  # type: ignore[attr-defined]
        image, plate, car = photo
        plates.detect = lambda _image: car  # the harness's NullDetector finds nothing: give it the car
        node.factory.plates.export_redactor._factory = lambda: reader  # type: ignore[union-attr]
        assert plate not in _reads(reader, first.redact(image), car)
    finally:
        node.close()
    off = make_node(tmp_path / "off", plates={"redact": False})
    try:
        assert export_redactor(off) is off.biometrics.redactor  # type: ignore[union-attr]
    finally:
        off.close()
