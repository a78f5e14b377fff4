"""A real plate photo (OpenALPR benchmark, shared data) read by the camera's plate step hits a vehicle
hotlist: the read is kept as evidence even with a non-hit period of 0, a `plate_hit` alert with the read
text, confidence, hotlist and crop reference goes to the reviewers; another car's read is no hit and is
not kept; a look-alike listing hits only a fuzzy list, flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import AuthorizationInput, create_authorization
from safecity.biometrics.common import Actor
from safecity.biometrics.config import BiometricsConfig
from safecity.media.storage import LocalMediaStorage
from safecity.operations.live import NullLive
from safecity.pipeline.analyzer import Analysis
from safecity.plates import hotlists as hl
from safecity.plates.models import PlateHitRow, PlateReadRow
from safecity.plates.runtime import Plates
from safecity.store import make_engine
from safecity.store.migrate import upgrade
from safecity.types import Event, Frame
from safecity.vision.detector import OnnxDetector
from safecity.vision.models import default_cache_dir
from safecity.vision.plate_formats import normalize
from safecity.vision.plate_stage import VEHICLES, TrackPlate, plate_crop
from safecity.vision.plates import PlateReader, PlateReaderConfig
from safecity.vision.plates_config import PlatesConfig
from safecity.vision.plates_models import plate_model_paths

pytestmark = pytest.mark.models
CAM = "gate"
CLERK, ANNA = Actor(1, "clerk"), Actor(2, "anna")


def _photo(shared_data: Path, index: int) -> tuple[np.ndarray, str]:
    txt = sorted((shared_data / "plates" / "us").glob("*.txt"))[index]
    name, *_, plate = txt.read_text().split()[:6]
    return cv2.imread(str(txt.with_name(name))), normalize(plate)


def _hotlist(db: Session, plate: str, fuzzy: bool) -> int:
    now = datetime.now(UTC)
    data = AuthorizationInput("Court", f"order {fuzzy}", "stolen_vehicle", [CAM], now - timedelta(minutes=1),
                              now + timedelta(hours=2), scope="vehicles")  # fmt: skip
    auth = create_authorization(db, data, CLERK, BiometricsConfig())
    row = hl.create_hotlist(db, f"stolen-{fuzzy}", "", [CAM], fuzzy, ANNA)
    entry = hl.HotlistEntryInput(plate, "stolen", "report 1", now + timedelta(days=1))
    hl.add_entries(db, row.id, [entry], ANNA, PlatesConfig())
    hl.activate(db, row.id, auth.id, ANNA)
    db.commit()
    return row.id


def _look_alike(plate: str) -> str:
    """The plate with its first look-alike character swapped (0<->O, 1<->I, L->1, 8<->B, ...), as a clerk
    typing the listing or the OCR might confuse them."""
    swap = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G", "O": "0", "I": "1",
            "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6", "D": "0", "Q": "0"}  # fmt: skip
    i = next(i for i, c in enumerate(plate) if c in swap)
    return plate[:i] + swap[plate[i]] + plate[i + 1 :]


def test_a_real_read_hits_a_hotlist(
    shared_data: Path, nanodet_model: Path, tmp_path: Path, database_url: str
) -> None:
    paths = plate_model_paths(default_cache_dir())
    reader = PlateReader(*paths, PlateReaderConfig(countries=("us",), threads=2))
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = lambda: Session(engine, expire_on_commit=False)  # noqa: E731
    image, plate = _photo(shared_data, 2)
    with sessions() as db:
        hotlist_id = _hotlist(db, plate, fuzzy=False)

    config = PlatesConfig(
        enabled=True, countries=("us",), per_track=2, window_s=0.6, non_hit_retention_hours=0
    )
    live = NullLive()
    plates = Plates(
        config, tmp_path, sessions, LocalMediaStorage(tmp_path / "media"), reader=lambda: reader, live=live
    )
    events: list[Event] = []
    step = plates.step_for(CAM, events.append)
    assert step is not None
    cars = OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2).detect(image)
    car = cars[int(np.argmax((cars.xyxy[:, 2] - cars.xyxy[:, 0]) * (cars.xyxy[:, 3] - cars.xyxy[:, 1])))]
    base = datetime.now(UTC).timestamp()
    for i in range(6):  # one vehicle track over six frames, then lost
        tracks = sv.Detections(
            xyxy=car.xyxy, confidence=car.confidence, class_id=car.class_id, tracker_id=np.array([7])
        )
        step.observe(Analysis(Frame(CAM, i, 0.2 * i, base + 0.2 * i, image), tracks, [], detected=True))
    step.close()

    assert len(events) == 1
    ((kind, alert, camera, _),) = live.sent
    assert (kind, camera, alert["plate"], alert["listed"], alert["hotlist_id"], alert["fuzzy"]) == (
        "plate_hit",
        CAM,
        plate,
        plate,
        hotlist_id,
        False,
    )
    assert 0 < float(alert["confidence"]) <= 1
    with sessions() as db:
        (read,) = db.scalars(select(PlateReadRow)).all()
        (hit,) = db.scalars(select(PlateHitRow)).all()
    assert read.hit and read.plate == plate, "a hit's read is kept even with a non-hit period of 0"
    assert alert["crop"] == f"/api/hotlists/hits/{hit.id}/crop" and hit.crop_key == read.crop
    crop = cv2.imdecode(np.frombuffer(plates.media.get(read.crop or ""), np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[1] > crop.shape[0], "the crop shown to the reviewers is the plate"

    # another car: no hit, and with a period of 0 nothing of it is kept
    other, other_plate = _photo(shared_data, 5)
    assert other_plate != plate
    (best, *_) = reader.read(other)
    step.record(TrackPlate(9, best, plate_crop(other, best.box), ""), datetime.now(UTC).timestamp())
    with sessions() as db:
        assert [r.plate for r in db.scalars(select(PlateReadRow))] == [plate]
    assert len(live.sent) == 1

    # listed with a look-alike (e.g. O for 0): only a fuzzy list raises the real read, flagged fuzzy
    (first, *_) = reader.read(image)
    listed = _look_alike(first.plate)
    with sessions() as db:
        fuzzy_id = _hotlist(db, listed, fuzzy=True)
        lists = [h for h in hl.active_hotlists(db) if h.id == fuzzy_id]
    found = hl.match(lists, CAM, first.plate, datetime.now(UTC))
    assert found is not None and found.fuzzy and found.entry.plate == listed
    engine.dispose()
