"""`PhotoPlateRedactor` without models: it fails closed, and its tiles cover the photo with overlap
(the plate reading itself is tested on a real photo in tests/integration/test_photo_plates.py)."""

from __future__ import annotations

import numpy as np

from safecity.media.plate_redaction import PhotoPlateRedactor, PlateRedactor, photo_tiles
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
    for grid, margin in ((3, 0.05), (2, 0.1)):
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
