"""dlib's landmarks in dlib's own HOG face box (`FaceEmbedder(hog_box=True)`, `biometrics.hog_box`), on
real photos: on LFW images the template is exactly what dlib's own chain gives (its HOG detector on the
whole image, its 5-point model in that box, the ResNet) and differs from the one aligned in CenterFace's
box; where HOG finds no face, CenterFace's box is kept; a large face is searched shrunk and still found."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, hog_face_box
from support.biometrics_fixtures import installed_face_model_paths

pytestmark = [pytest.mark.models]
LFW = ("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg",
       "Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg")  # fmt: skip


@pytest.fixture(scope="module")
def paths() -> list[Path]:
    return installed_face_model_paths()


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image, np.ascontiguousarray(image[:, :, ::-1])


def _face(detector: CenterFaceDetector, image: np.ndarray) -> np.ndarray:
    found = detector.detect(image)
    return np.asarray(found.xyxy[int(np.argmax(found.confidence))])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(w * h / (area - w * h))


def test_template_is_dlibs_own_chain(paths: list[Path], shared_data: Path) -> None:
    import dlib

    detector = CenterFaceDetector(paths[0], threads=2)
    hog, plain = FaceEmbedder(paths[1], paths[2], hog_box=True), FaceEmbedder(paths[1], paths[2])
    predictor, net = dlib.shape_predictor(str(paths[1])), dlib.face_recognition_model_v1(str(paths[2]))
    for name in LFW:
        image, rgb = _read(shared_data / "faces/lfw-folds-1-5/images" / name)
        box = _face(detector, image)
        # the oracle: dlib's HOG detector on the whole image, its 5-point model in that box, the ResNet
        (rect,) = dlib.get_frontal_face_detector()(rgb, 0)
        expected = np.array(net.compute_face_descriptor(rgb, predictor(rgb, rect)), np.float32)
        found = hog_face_box(dlib.get_frontal_face_detector(), rgb, box)
        assert found is not None
        assert found.tolist() == [rect.left(), rect.top(), rect.right(), rect.bottom()], name
        assert _iou(found, box) < 0.9  # HOG's box is not CenterFace's (squarer, sits lower on the face)
        template = hog.embed(image, box)
        np.testing.assert_allclose(template, expected, atol=1e-6)
        assert np.linalg.norm(template - plain.embed(image, box)) > 0.01, name  # other landmarks


def test_without_a_hog_face_the_box_given_is_kept(paths: list[Path], shared_data: Path) -> None:
    import dlib

    image, _ = _read(shared_data / "faces/lfw-folds-1-5/images" / LFW[0])
    box = _face(CenterFaceDetector(paths[0], threads=2), image)
    # upside down: the box still covers the face, but HOG (upright frontal faces) finds none
    upside = np.ascontiguousarray(image[::-1])
    h = image.shape[0]
    upside_box = np.array([box[0], h - box[3], box[2], h - box[1]], np.float32)
    hog = dlib.get_frontal_face_detector()
    assert hog_face_box(hog, np.ascontiguousarray(upside[:, :, ::-1]), upside_box) is None
    np.testing.assert_array_equal(
        FaceEmbedder(paths[1], paths[2], hog_box=True).embed(upside, upside_box),
        FaceEmbedder(paths[1], paths[2]).embed(upside, upside_box),
    )
    # a HOG face that does not overlap the box given is not taken
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    assert hog_face_box(hog, rgb, np.array([0, 0, 40, 40], np.float32)) is None


def test_a_large_face_is_searched_shrunk(paths: list[Path], faces_dir: Path) -> None:
    import dlib

    image, rgb = _read(faces_dir / "obama.jpg")  # a face about 230 px wide, searched at 160 px
    box = _face(CenterFaceDetector(paths[0], threads=2), image)
    assert box[2] - box[0] > 200
    (rect,) = dlib.get_frontal_face_detector()(rgb, 0)
    found = hog_face_box(dlib.get_frontal_face_detector(), rgb, box)
    assert found is not None
    assert _iou(found, np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)) > 0.8
