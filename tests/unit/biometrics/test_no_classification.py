"""The product classifies no one by age, gender, ethnicity or emotion: no such feature, field or model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import safecity
from safecity.biometrics.schemas import MatchDetail, SearchResult, WatchlistDetail
from safecity.vision.faces import Faces
from safecity.vision.faces_models import FACE_MODELS

SRC = Path(safecity.__file__).parent
# identifiers and words that would betray such a classifier (this file itself lives outside src/)
FORBIDDEN = re.compile(
    r"(?<![a-z])(gender|ethnic\w*|skin_?tone|emotion\w*|facial_?expression|age_?(estimat\w*|group|range|predict\w*)"
    r"|affectnet|fairface|utkface)(?![a-z])",
    re.IGNORECASE,
)

# a line that states the policy ("classifies no one by ...", "classification_by_...": False) is allowed
DISCLAIMER = re.compile(r"classif\w*.*\b(no|False)\b|\b(no|nothing|not)\b.*classif", re.IGNORECASE)


def _python_sources() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if "node_modules" not in p.parts]


def test_no_source_file_mentions_a_demographic_or_emotion_classifier() -> None:
    hits = []
    for path in _python_sources():
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line) and not DISCLAIMER.search(line):
                hits.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert hits == []


@pytest.mark.parametrize(
    "text", ["predict_gender(x)", "age_estimation = 1", "EMOTION_MODEL", "fairface.onnx"]
)
def test_the_scan_catches_such_names(text: str) -> None:
    assert FORBIDDEN.search(text)


def test_face_outputs_carry_no_attributes() -> None:
    assert set(Faces.__dataclass_fields__) == {"xyxy", "confidence", "landmarks"}
    for schema in (MatchDetail, WatchlistDetail, SearchResult):
        assert not [f for f in schema.model_fields if FORBIDDEN.search(f)]
    assert {m.name for m in FACE_MODELS} == {"centerface", "dlib-shape-predictor-5", "dlib-resnet-128"}
