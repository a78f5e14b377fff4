"""The plate-reading models: PP-OCRv6 small text detection and recognition (PaddleOCR, Apache-2.0), as
shipped inside the `rapidocr` wheel on PyPI (3.10.0). They are located by path in the installed package,
checked against the sha256 pinned here and copied into ``<cache>/plates/`` with ``plates-manifest.json``
(the same scheme as the face models; `safecity models install` does it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from safecity.vision.faces_models import FaceModelSpec, install_packaged_models, packaged_model_path

PLATES_DIR = "plates"
PLATES_MANIFEST = "plates-manifest.json"
HINT = "run `safecity models install` (needs the PyPI package rapidocr==3.10.0)"
LICENCE = "Apache-2.0 (PaddleOCR PP-OCRv6 models, PaddlePaddle; rapidocr, RapidAI)"

PPOCR_DET = FaceModelSpec(
    "ppocrv6-det-small",
    "rapidocr",
    "models/PP-OCRv6_det_small.onnx",
    "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    "pypi:rapidocr==3.10.0 (rapidocr/models/PP-OCRv6_det_small.onnx)",
    LICENCE,
)
PPOCR_REC = FaceModelSpec(
    "ppocrv6-rec-small",
    "rapidocr",
    "models/PP-OCRv6_rec_small.onnx",
    "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    "pypi:rapidocr==3.10.0 (rapidocr/models/PP-OCRv6_rec_small.onnx)",
    LICENCE,
)
PLATE_MODELS: tuple[FaceModelSpec, ...] = (PPOCR_DET, PPOCR_REC)


def install_plate_models(cache_dir: Path, *, force: bool = False, log: Callable[[str], None] = print) -> None:
    install_packaged_models(cache_dir, PLATE_MODELS, PLATES_DIR, PLATES_MANIFEST, force=force, log=log)


def plate_model_paths(cache_dir: Path) -> tuple[Path, Path]:
    """(detector, recognizer), each verified against its pinned sha256."""
    return tuple(  # type: ignore[return-value]
        packaged_model_path(cache_dir, spec, PLATES_DIR, PLATES_MANIFEST, HINT) for spec in PLATE_MODELS
    )
