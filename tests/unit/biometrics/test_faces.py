"""CenterFace + dlib on the real face photos, the best-frames buffer, and in-memory discarding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from safecity.types import Frame
from safecity.vision.faces import BestFrames, CenterFaceDetector, FaceEmbedder, discard, distance, nms

OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg")


def read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.asarray(image)


@pytest.mark.models
def test_centerface_finds_the_faces(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    detector, _ = face_models
    group = detector.detect(read(faces_dir / "group-6-faces.jpg"))
    assert len(group) == 6
    assert group.landmarks.shape == (6, 5, 2) and (group.confidence > 0.5).all()
    for name in (*OBAMA, "biden.jpg"):
        faces = detector.detect(read(faces_dir / name))
        assert len(faces) == 1, name
        x1, y1, x2, y2 = faces.xyxy[0]
        assert x2 - x1 > 100 and y2 - y1 > 100  # portraits: one large face
    assert len(detector.detect(np.full((480, 640, 3), 127, np.uint8))) == 0  # a blank wall has no face


@pytest.mark.models
def test_small_crops_are_enlarged_so_their_face_is_found(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    detector, _ = face_models
    small = cv2.resize(read(faces_dir / "obama.jpg"), (91, 114), interpolation=cv2.INTER_AREA)
    found = detector.detect(small, min_side=192)
    assert len(found) == 1 and found.xyxy[0, 2] <= 91 and found.xyxy[0, 3] <= 114  # in the crop's pixels


@pytest.mark.models
def test_templates_separate_the_two_people(
    face_models: tuple[CenterFaceDetector, FaceEmbedder], faces_dir: Path
) -> None:
    detector, embedder = face_models
    templates = {}
    for name in (*OBAMA, "biden.jpg"):
        image = read(faces_dir / name)
        templates[name] = embedder.embed(image, detector.detect(image).xyxy[0])
        assert templates[name].shape == (128,) and templates[name].dtype == np.float32
    same = [float(distance(templates[a], templates[b][None])[0]) for a in OBAMA for b in OBAMA if a < b]
    other = [float(distance(templates["biden.jpg"], templates[a][None])[0]) for a in OBAMA]
    assert max(same) < 0.6 < min(other)  # dlib's validated threshold separates them


def test_discard_zeroes_in_place() -> None:
    t = np.arange(128, dtype=np.float32)
    view = t[:]
    discard(t)
    assert not view.any()


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.7], np.float32), 0.3).tolist() == [1, 2]


def _tracks(ids: list[int], height: int = 200, classes: list[int] | None = None) -> sv.Detections:
    n = len(ids)
    xyxy = np.array([[10 + 50 * i, 10, 50 + 50 * i, 10 + height] for i in range(n)], np.float32).reshape(
        -1, 4
    )
    return sv.Detections(
        xyxy=xyxy,
        confidence=np.full(n, 0.9, np.float32),
        class_id=np.array(classes or [0] * n),
        tracker_id=np.array(ids),
    )


def _frame(seq: int, pts: float) -> Frame:
    rng = np.random.default_rng(seq)
    return Frame("cam", seq, pts, 1_700_000_000 + pts, rng.integers(0, 255, (300, 400, 3), np.uint8))


def test_best_frames_releases_each_track_once_with_a_bounded_buffer() -> None:
    buf = BestFrames(per_track=2, window_s=1.0, lost_s=0.5, max_tracks=8, min_height_px=64)
    released: list[tuple[int, int]] = []
    for i in range(30):  # 3 s at 10 fps, tracks 1 and 2 all along
        out = buf.observe(_frame(i, i * 0.1), _tracks([1, 2]))
        released += [(tid, len(c)) for tid, c in out]
        assert all(len(b.best) <= 2 for b in buf._tracks.values())
    assert sorted(released) == [(1, 2), (2, 2)]  # once each, after the 1 s window, 2 crops each


def test_best_frames_keeps_the_sharpest_largest_crops() -> None:
    buf = BestFrames(per_track=1, window_s=10.0, lost_s=0.2, min_height_px=64)
    sharp = _frame(1, 0.0)
    flat = Frame("cam", 2, 0.1, 0.1, np.full((300, 400, 3), 90, np.uint8))
    buf.observe(flat, _tracks([5]))
    buf.observe(sharp, _tracks([5]))
    buf.observe(flat, _tracks([5]))
    (tid, cands), *_ = buf.observe(_frame(3, 1.0), _tracks([]))  # lost for 0.9 s: released
    assert tid == 5 and len(cands) == 1 and cands[0].crop.std() > 10  # the textured one won


def test_best_frames_ignores_small_people_other_classes_and_caps_tracks() -> None:
    buf = BestFrames(per_track=1, window_s=5.0, max_tracks=3, min_height_px=64)
    buf.observe(_frame(0, 0.0), _tracks([1, 2], height=40))  # too small for a face
    buf.observe(_frame(1, 0.1), _tracks([3], classes=[2]))  # a car
    assert len(buf) == 0
    buf.observe(_frame(2, 0.2), _tracks([4, 5, 6, 7, 8]))
    assert len(buf) == 3 and buf.dropped == 2
    crops = [c.crop for b in buf._tracks.values() for c in b.best]
    buf.clear()
    assert len(buf) == 0 and all(not c.any() for c in crops)  # zeroed, not just forgotten
