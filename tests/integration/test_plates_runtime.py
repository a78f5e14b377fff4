"""Plates on a node, on real plate photos: blurred in stored snapshots, `plate_read` events without the
text, reads stored short-lived and purged by retention with their crops."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session

from safecity.governance.retention import Retention
from safecity.governance.retention_config import RetentionConfig
from safecity.media.storage import LocalMediaStorage
from safecity.pipeline.analyzer import Analysis
from safecity.plates.models import PlateReadRow
from safecity.plates.retention import PlateRetention
from safecity.plates.runtime import Plates
from safecity.store import make_engine
from safecity.store.migrate import upgrade
from safecity.store.models import EventRow
from safecity.types import Event, EventKind, Frame
from safecity.vision.detector import OnnxDetector
from safecity.vision.models import ModelNotInstalledError
from safecity.vision.plate_formats import normalize
from safecity.vision.plate_stage import VEHICLES
from safecity.vision.plates import PlateReader
from safecity.vision.plates_config import PlatesConfig
from support.plates import us_plate_reader

pytestmark = pytest.mark.models
CAMERA = "gate"


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return us_plate_reader()


def _photo(shared_data: Path, index: int) -> tuple[np.ndarray, str]:
    txt = sorted((shared_data / "plates" / "us").glob("*.txt"))[index]
    name, *_, plate = txt.read_text().split()[:6]
    return cv2.imread(str(txt.with_name(name))), normalize(plate)


def _car(image: np.ndarray, nanodet_model: Path) -> sv.Detections:
    cars = OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2).detect(image)
    assert len(cars) >= 1, "NanoDet finds the car"
    area = (cars.xyxy[:, 2] - cars.xyxy[:, 0]) * (cars.xyxy[:, 3] - cars.xyxy[:, 1])
    car = cars[int(np.argmax(area))]
    car.tracker_id = np.array([7])
    return car


def _plates(
    config: PlatesConfig, reader: PlateReader, tmp_path: Path, engine: Engine | None = None
) -> Plates:
    sessions = (lambda: Session(engine, expire_on_commit=False)) if engine is not None else None
    media = LocalMediaStorage(tmp_path / "media")
    return Plates(config, tmp_path, sessions, media, reader=lambda: reader)  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [2, 5])
def test_plates_are_blurred_in_stored_snapshots(
    shared_data: Path, reader: PlateReader, nanodet_model: Path, tmp_path: Path, index: int
) -> None:
    image, plate = _photo(shared_data, index)
    assert reader.read(image) and reader.read(image)[0].plate == plate, "readable before redaction"
    car = _car(image, nanodet_model)
    analysis = Analysis(Frame(CAMERA, 1, 0.0, 1000.0, image), car, [], detected=True)

    redacted = _plates(PlatesConfig(), reader, tmp_path).redact_snapshot(image, analysis, "snapshots/x.jpg")
    assert redacted is not image and np.array_equal(image, cv2.imread(str(_source(shared_data, index))))
    assert all(r.plate != plate for r in reader.read(redacted)), "the plate is still readable"

    # no vehicle in the snapshot: nothing touched, nothing located; and `plates.redact: false` is honoured
    empty = Analysis(analysis.frame, sv.Detections.empty(), [], detected=True)
    assert _plates(PlatesConfig(), reader, tmp_path).redact_snapshot(image, empty, "k") is image
    assert (
        _plates(PlatesConfig(redact=False), reader, tmp_path).redact_snapshot(image, analysis, "k") is image
    )


def test_plate_redaction_fails_closed_without_models(
    shared_data: Path, reader: PlateReader, nanodet_model: Path, tmp_path: Path
) -> None:
    image, plate = _photo(shared_data, 2)
    car = _car(image, nanodet_model)
    analysis = Analysis(Frame(CAMERA, 1, 0.0, 1000.0, image), car, [], detected=True)

    def missing() -> PlateReader:
        raise ModelNotInstalledError("no plate models here")

    plates = Plates(PlatesConfig(), tmp_path, None, LocalMediaStorage(tmp_path), reader=missing)  # type: ignore[arg-type]
    redacted = plates.redact_snapshot(image, analysis, "k")
    assert all(r.plate != plate for r in reader.read(redacted)), "the vehicle box is obscured whole"


def _source(shared_data: Path, index: int) -> Path:
    txt = sorted((shared_data / "plates" / "us").glob("*.txt"))[index]
    return txt.with_name(txt.read_text().split()[0])


def _scan_db(engine: Engine, plate: str) -> list[str]:
    """Tables holding the plate's text in any column (every table, every row)."""
    meta = MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if any(plate in str(value) for row in conn.execute(select(table)) for value in row):
                found.append(table.name)
    return found


def _scan_media(root: Path, crops: set[bytes], plate: str) -> list[str]:
    """Files under `root` that are a plate crop or name the plate."""
    files = [p for p in root.rglob("*") if p.is_file()]
    return sorted(str(p.relative_to(root)) for p in files if p.read_bytes() in crops or plate in str(p))


def _drive(step: object, image: np.ndarray, car: sv.Detections, base: float) -> None:
    """Six frames of one vehicle track moving down the picture (approaching), like a car coming closer."""
    for i in range(6):
        shift = 6 * i
        tracks = sv.Detections(
            xyxy=car.xyxy + np.array([[0, shift, 0, shift]], np.float32),
            confidence=car.confidence,
            class_id=car.class_id,
            tracker_id=np.array([7]),
        )
        frame = Frame(CAMERA, i, 0.2 * i, base + 0.2 * i, np.roll(image, shift, axis=0))
        step.observe(Analysis(frame, tracks, [], detected=True))  # type: ignore[attr-defined]


def test_plate_reads_are_stored_evented_without_text_and_purged(
    shared_data: Path,
    reader: PlateReader,
    nanodet_model: Path,
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    upgrade(database_url)
    engine = make_engine(database_url)
    image, plate = _photo(shared_data, 2)
    car = _car(image, nanodet_model)
    config = PlatesConfig(
        enabled=True,
        cameras=(CAMERA,),
        countries=("us",),
        per_track=2,
        window_s=0.6,
        non_hit_retention_hours=24,
    )
    plates = _plates(config, reader, tmp_path, engine)
    events: list[Event] = []
    assert plates.step_for("lobby", events.append) is None, "a camera not in plates.cameras reads no plate"
    step = plates.step_for(CAMERA, events.append)
    assert step is not None
    seen = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    _drive(step, image, car, seen.timestamp())
    step.close()  # the step's thread has read every queued frame

    assert len(events) == 1, "one plate_read per vehicle track"
    event = events[0]
    assert (event.kind, event.camera_id, event.track_id, event.direction) == (
        EventKind.PLATE_READ,
        CAMERA,
        7,
        "approaching",
    )
    assert event.score is not None and 0 < event.score <= 1
    assert plate not in repr(event), "the long-lived event carries no plate text"
    with Session(engine) as db:
        (row,) = db.scalars(select(PlateReadRow)).all()
    assert (row.plate, row.event_id, row.country, row.track_id) == (plate, event.id, "us", 7)
    assert row.crop is not None and row.crop.startswith(f"plates/{CAMERA}/")
    crop = plates.media.get(row.crop)
    decoded = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[1] > decoded.shape[0], "the stored crop is the plate (wider than tall)"
    assert _scan_db(engine, plate) == ["plate_reads"]

    media_root = tmp_path / "media"
    assert isinstance(plates.media, LocalMediaStorage)

    def purge(at: datetime) -> None:
        steps = PlateRetention(engine, plates.media, config).steps()  # type: ignore[arg-type]
        Retention(engine, plates.media, RetentionConfig(), clock=lambda: at, extra_steps=steps).run()  # type: ignore[arg-type]

    purge(seen + timedelta(hours=23))
    assert _scan_db(engine, plate) == ["plate_reads"], "kept within the period"
    purge(seen + timedelta(hours=25))
    assert _scan_db(engine, plate) == [] and _scan_media(media_root, {crop}, plate) == []
    assert plate not in caplog.text, "no log line carries the plate"

    # the scans catch a leak: the text in another table (an event's label), the crop stored elsewhere
    with Session(engine) as db:
        db.add(EventRow(id="f" * 32, schema_version=1, camera_id=CAMERA, kind="plate_read", label=plate,
                        start=seen, end=seen, created_at=seen))  # fmt: skip
        db.commit()
    plates.media.put("snapshots/leak.jpg", crop)
    assert _scan_db(engine, plate) == ["events"]
    assert _scan_media(media_root, {crop}, plate) == ["snapshots/leak.jpg"]
    engine.dispose()


def test_no_read_is_stored_when_the_period_is_zero(
    shared_data: Path, reader: PlateReader, tmp_path: Path, database_url: str
) -> None:
    from safecity.vision.plate_stage import TrackPlate, plate_crop

    upgrade(database_url)
    engine = make_engine(database_url)
    image, plate = _photo(shared_data, 2)
    (best, *_) = reader.read(image)
    config = PlatesConfig(enabled=True, countries=("us",), non_hit_retention_hours=0)
    plates = _plates(config, reader, tmp_path, engine)
    events: list[Event] = []
    step = plates.step_for(CAMERA, events.append)
    assert step is not None
    step.record(TrackPlate(3, best, plate_crop(image, best.box), ""), 1000.0)
    step.close()
    assert [e.kind for e in events] == [EventKind.PLATE_READ]
    assert _scan_db(engine, plate) == [] and not list((tmp_path / "media").rglob("*.jpg"))
    engine.dispose()


def test_camera_factory_wires_plate_redaction_and_the_plate_step(
    shared_data: Path, reader: PlateReader, nanodet_model: Path, tmp_path: Path
) -> None:
    """The one camera factory (serve, run, worker) puts plate redaction in the snapshot path of every
    camera, and a plate step only on the cameras that read plates."""
    from safecity.bus.memory import MemoryBus
    from safecity.config.models import CameraConfig, Settings
    from safecity.runtime.camera import CameraFactory

    image, plate = _photo(shared_data, 5)
    settings = Settings.model_validate(
        {"storage": {"data_dir": str(tmp_path)}, "plates": {"enabled": True, "cameras": [CAMERA]}}
    )
    plates = _plates(settings.plates, reader, tmp_path)
    detector = OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2)
    factory = CameraFactory(settings, detector, MemoryBus(), plates.media, plates=plates)
    source = str(_source(shared_data, 5))
    gate, lobby = (factory.build(CameraConfig(id=c, source=source)) for c in (CAMERA, "lobby"))
    try:
        assert gate.worker.observe is not None and lobby.worker.observe is None
        assert lobby.worker.redact is not None
        analysis = Analysis(
            Frame("lobby", 1, 0.0, 1000.0, image), _car(image, nanodet_model), [], detected=True
        )
        redacted = lobby.worker.redact(image, analysis, "snapshots/lobby/x.jpg")
        assert all(r.plate != plate for r in reader.read(redacted)), "the snapshot path blurs plates"
    finally:
        plates.close()
