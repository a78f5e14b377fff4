"""G13: faces are blurred in stored pictures; without a face model the redactor fails closed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from safecity.media.face_redaction import (
    FaceRedactor,
    blur_boxes,
    grown,
    head_boxes,
    obscure_all,
    recheck_regions,
)
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


@pytest.mark.models
def test_second_pass_around_the_blurs_finds_what_a_whole_pass_finds(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    """The second pass searches only around what the first blurred (the rest is the picture the first pass
    already searched): every face a whole-picture pass still finds on a blurred box, it finds too. A low
    threshold, so that the blurred faces still give candidates to compare."""
    detector, _ = face_models
    redactor = FaceRedactor(lambda: detector, threshold=0.05)
    image = read(faces_dir / "group-6-faces.jpg")
    h, w = image.shape[:2]
    faces = redactor.face_boxes(image)
    assert faces is not None and len(faces) >= 6
    out = blur_boxes(image, faces)
    whole = redactor.face_boxes(out)
    near = redactor.face_boxes_in(out, recheck_regions(faces, w, h))
    assert whole is not None and near is not None
    blurred = grown(faces, 0.3, w, h)
    cx, cy = (whole[:, 0] + whole[:, 2]) / 2, (whole[:, 1] + whole[:, 3]) / 2
    on_blur = [
        i for i in range(len(whole)) if any(a <= cx[i] <= c and b <= cy[i] <= d for a, b, c, d in blurred)
    ]
    assert len(on_blur) >= 2  # the comparison has something to compare
    assert len(near) and sv.box_iou_batch(whole[on_blur], near).max(axis=1).min() > 0.7


def test_second_pass_regions_cover_every_blurred_box() -> None:
    faces = np.array(
        [[10, 10, 30, 40], [25, 30, 50, 60], [300, 200, 340, 260], [-10, 590, 20, 700]], np.float32
    )
    regions = recheck_regions(faces, 640, 600)
    for a, b, c, d in grown(faces, 0.3, 640, 600).tolist():
        if c > a and d > b:
            assert any(x1 <= a and y1 <= b and c <= x2 and d <= y2 for x1, y1, x2, y2 in regions.tolist())
    assert len(regions) == 3  # the two overlapping boxes are searched as one region
    assert regions[:, 0::2].min() >= 0 and regions[:, 2].max() <= 640 and regions[:, 3].max() <= 600
    assert len(recheck_regions(np.zeros((0, 4)), 640, 600)) == 0
