"""Plate reading on real photos (OpenALPR benchmark, US): found inside the vehicle box and read."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from safecity.vision.models import default_cache_dir
from safecity.vision.plate_formats import normalize
from safecity.vision.plates import PlateReader, PlateReaderConfig, rank
from safecity.vision.plates_models import plate_model_paths
from support.plates import us_plate_reader

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return us_plate_reader()


def _truth(txt: Path) -> tuple[Path, tuple[int, int, int, int], str]:
    name, x, y, w, h, plate = txt.read_text().split()[:6]
    return txt.with_name(name), (int(x), int(y), int(x) + int(w), int(y) + int(h)), normalize(plate)


def test_reads_real_plates(shared_data: Path, reader: PlateReader) -> None:
    cases = [_truth(t) for t in sorted((shared_data / "plates" / "us").glob("*.txt"))[:12]]
    found = exact = 0
    for image_path, (x1, y1, x2, y2), plate in cases:
        image = cv2.imread(str(image_path))
        reads = reader.read(image)
        # the candidate boxes are in image coordinates and one covers the true plate
        found += any(r.box[0] < x2 and x1 < r.box[2] and r.box[1] < y2 and y1 < r.box[3] for r in reads)
        exact += bool(reads) and reads[0].plate == plate
        assert all(0 < r.confidence <= 1 and r.country == "us" for r in reads)
    assert found >= 10, f"plates found in {found}/12 photos"
    assert exact >= 7, f"exact reads {exact}/12"


def test_region_limits_the_search_and_maps_boxes_back(shared_data: Path, reader: PlateReader) -> None:
    image_path, (x1, y1, x2, y2), plate = _truth(sorted((shared_data / "plates" / "us").glob("*.txt"))[2])
    image = cv2.imread(str(image_path))
    around = (x1 - 150, y1 - 100, x2 + 150, y2 + 100)
    reads = reader.read(image, around)
    assert reads and reads[0].plate == plate
    bx1, by1, bx2, by2 = reads[0].box
    assert x1 - 10 <= bx1 < bx2 <= x2 + 10 and y1 - 10 <= by1 < by2 <= y2 + 10
    above = reader.read(image, (0, 0, image.shape[1], max(1, y1 - 50)))  # a region without the plate
    assert all(r.plate != plate for r in above)


def test_plate_stage_reads_each_vehicle_track_once(shared_data: Path, reader: PlateReader,
                                                   nanodet_model: Path) -> None:  # fmt: skip
    """A vehicle track over several frames (a real photo, shifted down as if the car came closer): the
    stage votes its reads into one plate, with the direction of travel and a crop of the plate."""
    import numpy as np
    import supervision as sv

    from safecity.types import Frame
    from safecity.vision.detector import OnnxDetector
    from safecity.vision.plate_stage import VEHICLES, PlateStage
    from safecity.vision.plates_config import PlatesConfig

    image_path, _, plate = _truth(sorted((shared_data / "plates" / "us").glob("*.txt"))[2])
    image = cv2.imread(str(image_path))
    detector = OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2)
    cars = detector.detect(image)
    assert len(cars) >= 1
    car = cars[np.argmax((cars.xyxy[:, 2] - cars.xyxy[:, 0]) * (cars.xyxy[:, 3] - cars.xyxy[:, 1]))]
    config = PlatesConfig(enabled=True, countries=("us",), per_track=2, window_s=0.6)
    stage = PlateStage(config, lambda: reader)
    results = []
    for i in range(6):
        shift = 6 * i  # the car moves down the picture: approaching
        moved = np.roll(image, shift, axis=0)
        tracks = sv.Detections(
            xyxy=car.xyxy + np.array([[0, shift, 0, shift]], np.float32),
            confidence=car.confidence,
            class_id=car.class_id,
            tracker_id=np.array([7]),
        )
        results += stage.observe(Frame("cam", i, 0.2 * i, 1000.0 + 0.2 * i, moved), tracks)
    assert len(results) == 1, "one read per track, however many frames"
    got = results[0]
    assert (got.track_id, got.read.plate, got.direction) == (7, plate, "approaching")
    assert 0 < got.read.confidence <= 1
    assert got.crop.size and got.crop.shape[0] < got.crop.shape[1]  # a plate: wider than tall


def test_locate_finds_the_plate_to_blur(shared_data: Path, reader: PlateReader) -> None:
    hits = 0
    cases = [_truth(t) for t in sorted((shared_data / "plates" / "us").glob("*.txt"))[:6]]
    for image_path, (x1, y1, x2, y2), _ in cases:
        boxes = reader.locate(cv2.imread(str(image_path)))
        # the true plate's centre lies inside a located box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hits += any(bx1 <= cx <= bx2 and by1 <= cy <= by2 for bx1, by1, bx2, by2 in boxes)
    assert hits >= 5, f"plate located in {hits}/6 photos"


def test_second_look_finds_a_small_plate_the_first_misses(shared_data: Path, reader: PlateReader,
                                                         nanodet_model: Path) -> None:  # fmt: skip
    """A photo whose plate the text detector misses in every vehicle box at the crop's size: the second
    look, on the crops upscaled twice, finds and reads it; without it nothing is read."""
    from safecity.vision.detector import OnnxDetector
    from safecity.vision.plate_stage import VEHICLES

    image_path, (x1, y1, x2, y2), plate = _truth(shared_data / "plates" / "us" / "wts-lg-000041.txt")
    image = cv2.imread(str(image_path))
    vehicles = OnnxDetector(nanodet_model, class_ids=list(VEHICLES), threads=2).detect(image).xyxy
    assert len(vehicles) >= 1
    regions = [(bx1 - 0.05 * (bx2 - bx1), by1 - 0.05 * (by2 - by1), bx2 + 0.05 * (bx2 - bx1),
                by2 + 0.05 * (by2 - by1)) for bx1, by1, bx2, by2 in vehicles]  # fmt: skip
    assert reader.config.second_look
    reads = sorted((r for region in regions for r in reader.read(image, region)), key=rank, reverse=True)
    assert reads and reads[0].plate == plate
    bx1, by1, bx2, by2 = reads[0].box  # in image coordinates, on the plate
    assert x1 - 10 <= bx1 < bx2 <= x2 + 10 and y1 - 10 <= by1 < by2 <= y2 + 10
    config = PlateReaderConfig(countries=("us",), threads=2, second_look=False)
    single = PlateReader(*plate_model_paths(default_cache_dir()), config)
    assert all(r.plate != plate for region in regions for r in single.read(image, region))


def test_two_views_read_what_the_box_as_found_misreads(
    shared_data: Path, reader: PlateReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """car16: the box as the detector gives it reads `0020HHH` (the frame's edge and a smudge read as
    characters); the tightened and the contrast-stretched views read the plate."""
    import safecity.vision.plates as plates

    image_path, (x1, y1, x2, y2), plate = _truth(shared_data / "plates" / "us" / "car16.txt")
    image = cv2.imread(str(image_path))
    around = (2 * x1 - x2, 2 * y1 - y2, 2 * x2 - x1, 2 * y2 - y1)  # the plate with its width/height around
    reads = reader.read(image, around)
    assert reads and reads[0].plate == plate
    monkeypatch.setattr(plates, "TIGHTEN", 0.0)
    monkeypatch.setattr(plates, "stretch_contrast", lambda view: view)
    as_found = reader.read(image, around)
    assert not as_found or as_found[0].plate != plate
