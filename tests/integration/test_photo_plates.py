"""Plates masked in uploaded photos (issue 14): a real plate photo sent as a public-report photo and as an
incident-message photo is stored with its plate unreadable, by the project's own plate reader, while the
original stays readable (for `media:unredacted`). Real API on SQLite, the installed plate models.

The photo, `car3.jpg` of the OpenALPR benchmark (904x768, plate `1AMW240` at 395,535 121x60), is one where
the text detector misses the plate on the whole photo and finds it only on an enlarged tile: removing
either the masking call or the tiles makes the plate readable in the stored copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.media.plate_redaction import (
    PHOTO_GRID,
    PHOTO_SIDE,
    PLATE_GROW,
    PhotoPlateRedactor,
    PlateRedactor,
)
from safecity.vision.plates import PlateReader
from support.api_harness import ApiHarness
from support.plates import us_plate_reader

PHOTO, PLATE = "car3.jpg", "1AMW240"
BOX = (395, 535, 121, 60)  # x, y, w, h from car3.txt
CAMERA = {"id": "cam1", "source": "rtsp://127.0.0.1:9/none", "enabled": False, "lat": 41.9, "lon": 12.5}


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return us_plate_reader()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path, cameras=[CAMERA]) as harness:
        yield harness


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _reads(reader: PlateReader, data: bytes) -> list[str]:
    """Plates the reader finds around the true plate (the box grown by its size on each side) and in the
    whole photo."""
    image = _decode(data)
    x, y, w, h = BOX
    near = reader.read(image, (x - w, y - h, x + 2 * w, y + 2 * h))
    return [r.plate for r in near + reader.read(image)]


def _check(reader: PlateReader, original: bytes, stored: bytes) -> None:
    assert PLATE in _reads(reader, original)  # the original keeps the plate readable
    assert PLATE not in _reads(reader, stored)  # the stored copy does not
    # masked, not obscured whole (which the redactors do without their models): away from the plate the
    # stored copy is the photo (JPEG re-encoding aside)
    a, b = _decode(original).astype(np.int16), _decode(stored).astype(np.int16)
    assert a.shape == b.shape
    assert float(np.abs(a[:300, :300] - b[:300, :300]).mean()) < 4


def test_report_photo_is_stored_with_its_plate_masked(
    h: ApiHarness, shared_data: Path, reader: PlateReader
) -> None:
    photo = (shared_data / "plates" / "us" / PHOTO).read_bytes()
    data = {"category": "theft", "description": "car broken into", "lat": "41.9", "lon": "12.5",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}  # fmt: skip
    r = h.client.post("/api/public/reports", data=data, files={"photo": ("car.jpg", photo, "image/jpeg")})
    assert r.status_code == 201, r.text
    report = r.json()["id"]

    # an operator who is also an investigator: triage, and the original (media:unredacted)
    both = h.user("operator", "investigator")
    headers = {"Authorization": f"Bearer {h.token(both.username)}"}
    stored = h.client.get(f"/api/reports/{report}/photo", headers=headers)
    original = h.client.get(f"/api/reports/{report}/photo", params={"original": True}, headers=headers)
    assert stored.status_code == 200 and original.status_code == 200
    _check(reader, original.content, stored.content)
    files = list((h.node.settings.storage.resolved_media_dir / "reports").rglob("*.jpg"))
    assert len(files) == 1 and files[0].read_bytes() == stored.content  # the one copy under reports/


def test_message_photo_is_stored_with_its_plate_masked(
    h: ApiHarness, shared_data: Path, reader: PlateReader
) -> None:
    photo = (shared_data / "plates" / "us" / PHOTO).read_bytes()
    op = h.bearer("operator")
    r = h.client.post("/api/incidents", json={"title": "Car theft", "type": "theft", "camera_id": "cam1"},
                      headers=op)  # fmt: skip
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    files = {"photo": ("car.jpg", photo, "image/jpeg")}
    r = h.client.post(f"/api/incidents/{iid}/messages", data={"text": "the car"}, files=files, headers=op)
    assert r.status_code == 201, r.text
    url = f"/api/incidents/{iid}/messages/{r.json()['id']}/photo"

    investigator = h.bearer("investigator")
    stored = h.client.get(url, headers=op)
    original = h.client.get(url, params={"original": "true"}, headers=investigator)
    assert stored.status_code == 200 and original.status_code == 200
    _check(reader, original.content, stored.content)


def test_every_look_at_a_large_photo_is_at_most_the_photo_input_side(
    reader: PlateReader, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What bounds the memory of a photo's plate pass (the text detector's working memory grows with its
    input's area): a 3460x3460 photo, the largest the public form decodes, is looked at whole and in its
    tiles, each look at most `PHOTO_SIDE` on its longer side; and the benchmark photo's plate is still masked
    with these smaller looks."""
    seen: list[tuple[int, ...]] = []
    quads = reader._plate_quads

    def recording(engine: object, crop: np.ndarray) -> list[np.ndarray]:
        seen.append(crop.shape)
        return quads(engine, crop)

    monkeypatch.setattr(reader, "_plate_quads", recording)
    masker = PhotoPlateRedactor(PlateRedactor(lambda: reader))
    big = cv2.resize(_decode((shared_data / "plates" / "us" / PHOTO).read_bytes()), (3460, 3460))
    assert masker.plate_boxes(big) is not None
    assert len(seen) == 1 + PHOTO_GRID**2
    assert max(max(shape[:2]) for shape in seen) <= PHOTO_SIDE
    photo = _decode((shared_data / "plates" / "us" / PHOTO).read_bytes())
    x, y, w, h = BOX
    boxes = masker.plate_boxes(photo)
    assert boxes is not None
    masked = np.zeros(photo.shape[:2], bool)  # each box as blurred: grown by PLATE_GROW of its size
    for x1, y1, x2, y2 in boxes:
        gx, gy = PLATE_GROW * (x2 - x1), PLATE_GROW * (y2 - y1)
        masked[max(0, int(y1 - gy)) : int(y2 + gy), max(0, int(x1 - gx)) : int(x2 + gx)] = True
    assert masked[y : y + h, x : x + w].mean() > 0.9
