"""G13: faces are blurred in stored pictures; without a face model the redactor fails closed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.media.face_redaction import FaceRedactor, blur_boxes, head_boxes, obscure_all
from safecity.media.redaction import Redactor
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, distance


def read(path: Path, max_side: int = 900) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    scale = min(1.0, max_side / max(image.shape[:2]))
    return np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def _jpeg_round_trip(image: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


@pytest.mark.models
def test_no_face_survives_redaction(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    detector, embedder = face_models
    redactor = FaceRedactor(lambda: detector)
    assert isinstance(redactor, Redactor)  # plugs into safecity.media.redaction.redact_clip
    for name in ("group-6-faces.jpg", "obama.jpg", "biden.jpg", "obama_partial_face.jpg"):
        image = read(faces_dir / name)
        before = image.copy()
        faces = detector.detect(image)
        out = _jpeg_round_trip(redactor.redact(image))
        assert np.array_equal(image, before)  # the frame itself is untouched (a copy is blurred)
        assert out.shape == image.shape
        assert len(detector.detect(out, threshold=0.5)) == 0, name  # nothing left that reads as a face
        originals = np.stack([embedder.embed(image, box) for box in faces.xyxy])
        for box in faces.xyxy:  # where the faces were, nothing identifiable remains
            blurred = embedder.embed(out, box)
            assert distance(blurred, originals).min() > 0.6, name


@pytest.mark.models
def test_redaction_changes_only_faces(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    detector, _ = face_models
    image = read(faces_dir / "group-6-faces.jpg")
    out = FaceRedactor(lambda: detector).redact(image)
    changed = np.any(out != image, axis=2)
    assert 0.02 < changed.mean() < 0.35  # six faces, not the whole photo


def test_without_a_face_model_the_whole_frame_is_obscured(faces_dir: Path) -> None:
    def broken() -> CenterFaceDetector:
        raise FileNotFoundError("no centerface.onnx")

    redactor = FaceRedactor(broken)
    image = read(faces_dir / "obama.jpg")
    out = redactor.redact(image)
    assert not redactor.available
    small = cv2.resize(image, (image.shape[1] // 24, image.shape[0] // 24), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - image.astype(int)).mean() > 5  # obscured everywhere
    assert np.array_equal(out, obscure_all(image)) and small.shape[0] > 0


def test_head_boxes_and_blur_stay_inside_the_image() -> None:
    image = np.random.default_rng(0).integers(0, 255, (100, 80, 3), np.uint8)
    people = np.array([[10, 20, 50, 100], [-5, -5, 200, 300]], np.float32)
    heads = head_boxes(people)
    assert heads[0].tolist() == [10, 20, 50, 44]
    out = blur_boxes(image, heads)
    assert out.shape == image.shape and not np.array_equal(out, image)
    assert np.array_equal(blur_boxes(image, np.zeros((0, 4))), image)
