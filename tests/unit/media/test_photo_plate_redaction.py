"""`PhotoPlateRedactor` without models: it fails closed, and its tiles cover the photo with overlap
(the plate reading itself is tested on a real photo in tests/integration/test_photo_plates.py)."""

from __future__ import annotations

import numpy as np

from safecity.media.plate_redaction import PHOTO_GRID, PhotoPlateRedactor, PlateRedactor, photo_tiles
from safecity.vision.plates import PlateReader


def _no_models() -> PlateReader:
    raise FileNotFoundError("no plate models installed")


def test_a_photo_is_obscured_whole_without_plate_models() -> None:
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (300, 400, 3), np.uint8)
    out = PhotoPlateRedactor(PlateRedactor(_no_models)).redact(photo)
    assert out.shape == photo.shape
    # pixelated in 24x24-ish blocks: nearly every pixel changed, no fine detail left
    assert (out != photo).any(axis=2).mean() > 0.95
    assert np.abs(np.diff(out[:, :, 0].astype(int), axis=1)).astype(bool).mean() < 0.1


def test_tiles_cover_the_photo_and_overlap_across_each_seam() -> None:
    w, h = 904, 768
    for grid, margin in ((4, 0.05), (3, 0.05), (2, 0.1)):
        tiles = photo_tiles(w, h, grid, margin)
        assert tiles.shape == (grid * grid, 4)
        covered = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in tiles.astype(int):
            covered[y1:y2, x1:x2] = True
        assert covered.all()
        # a plate up to 2 x margin of the photo's side that straddles a seam is whole in one tile
        left, right = tiles[0], tiles[1]
        assert left[2] - right[0] >= 2 * margin * w - 1
        top, bottom = tiles[0], tiles[grid]
        assert top[3] - bottom[1] >= 2 * margin * h - 1


class _TextEverywhere:
    """A reader whose detector 'finds' in every region a small plate and a box as tall as the region
    (what foliage in an enlarged tile can look like)."""

    def locate(
        self, image: np.ndarray, region: object, upscale: float = 1.0, side: int | None = None
    ) -> list[tuple[int, int, int, int]]:
        x1, y1, x2, y2 = (int(v) for v in region)  # type: ignore[attr-defined]
        return [(x1 + 10, y1 + 10, x1 + 50, y1 + 22), (x1, y1, x2, y2)]


def test_a_tile_keeps_small_plates_and_drops_boxes_taller_than_half_of_it() -> None:
    photo = np.zeros((800, 1000, 3), np.uint8)
    masker = PhotoPlateRedactor(PlateRedactor(lambda: _TextEverywhere()))  # type: ignore[arg-type, return-value]
    boxes = masker.plate_boxes(photo)
    assert boxes is not None
    heights = boxes[:, 3] - boxes[:, 1]
    # the whole photo's look keeps its large box (a close-up's plate); of each tile only the small plate
    assert len(boxes) == 2 + PHOTO_GRID**2
    assert (heights == 800).sum() == 1 and (heights == 12).sum() == 1 + PHOTO_GRID**2
