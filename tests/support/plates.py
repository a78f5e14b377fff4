"""The installed plate models, as the plate tests use them."""

from __future__ import annotations

from safecity.vision.models import ModelNotInstalledError, default_cache_dir
from safecity.vision.plates import PlateReader, PlateReaderConfig
from safecity.vision.plates_models import plate_model_paths
from support.processes import missing


def us_plate_reader() -> PlateReader:
    """A reader expecting US plates on 2 threads (a missing model fails under CI, skips elsewhere)."""
    try:
        paths = plate_model_paths(default_cache_dir())
    except ModelNotInstalledError as exc:
        missing(str(exc))
        raise
    return PlateReader(*paths, PlateReaderConfig(countries=("us",), threads=2))
