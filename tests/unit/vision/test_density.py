"""Camera density (docs/performance.md): the freed NanoDet graph, batches, the detector scheduler, motion
regions and the execution-provider setting, on the installed model and real PETS frames."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import supervision as sv
from pydantic import ValidationError

from safecity.config.models import Settings
from safecity.ingest import SourceSpec, open_source
from safecity.vision.detector import OnnxDetector, make_session, prepare
from safecity.vision.model_shapes import flexible_nanodet
from safecity.vision.motion import MotionGate
from safecity.vision.providers import ProviderUnavailableError, session_providers
from safecity.vision.regions import STRIDE, mask_boxes, model_side, plan_regions
from safecity.vision.scheduler import DetectorScheduler

PERSON = 0


def pets_frames(video: Path, n: int, every: int = 1) -> list[np.ndarray]:
    out = []
    for i, frame in enumerate(open_source(SourceSpec(camera_id="t", url=str(video))).frames()):
        if i % every == 0:
            out.append(frame.image)
        if len(out) == n:
            break
    return out


def matched(a: sv.Detections, b: sv.Detections, iou: float = 0.9) -> int:
    """How many boxes of `a` have a box of `b` with IoU >= iou."""
    if len(a) == 0 or len(b) == 0:
        return 0
    return int((sv.box_iou_batch(a.xyxy, b.xyxy).max(axis=1) >= iou).sum())


@pytest.fixture(scope="module")
def detector(nanodet_model: Path) -> OnnxDetector:
    return OnnxDetector(nanodet_model, class_ids=[PERSON], threads=1)


@pytest.mark.models
def test_freed_graph_matches_the_installed_one_and_takes_batches(
    nanodet_model: Path, pets_video: Path
) -> None:
    fixed = ort.InferenceSession(str(nanodet_model), providers=["CPUExecutionProvider"])
    free = make_session(flexible_nanodet(nanodet_model), 1)
    name = fixed.get_inputs()[0].name
    frames = pets_frames(pets_video, 2, every=50)
    tensors = [prepare(f, "nanodet", (416, 416)).tensor for f in frames]
    single = [fixed.run(None, {name: t}) for t in tensors]
    batch = free.run(None, {name: np.concatenate(tensors)})
    for i in range(2):
        for ours, theirs in zip(batch, single[i], strict=True):
            np.testing.assert_allclose(ours[i : i + 1], theirs, atol=1e-4)
    # another input size: the cells follow it (320 / 8 = 40 per side at stride 8)
    small = free.run(None, {name: prepare(frames[0], "nanodet", (320, 320)).tensor})
    assert sorted(o.shape[1] for o in small) == sorted([40 * 40, 40 * 40, 20 * 20, 20 * 20, 10 * 10, 10 * 10])


def test_input_size_not_a_multiple_of_32_names_the_setting(nanodet_model: Path) -> None:
    with pytest.raises(ValueError, match=r"detector\.input_size"):
        flexible_nanodet(nanodet_model, (300, 300))


@pytest.mark.models
def test_a_batch_gives_what_single_calls_give(detector: OnnxDetector, pets_video: Path) -> None:
    frames = pets_frames(pets_video, 3, every=40)
    batched = detector.detect_batch(frames)
    for frame, got in zip(frames, batched, strict=True):
        alone = detector.detect(frame)
        assert len(alone) >= 3  # PETS: several walkers in every frame
        assert len(got) == len(alone) and matched(got, alone, 0.99) == len(alone)


@pytest.mark.models
def test_scheduler_batches_cameras_and_returns_each_its_own_detections(
    detector: OnnxDetector, pets_video: Path
) -> None:
    frames = pets_frames(pets_video, 6, every=20)
    expected = [detector.detect(f) for f in frames]
    scheduler = DetectorScheduler(detector, max_batch=4, max_wait_s=0.5)
    results: dict[int, sv.Detections] = {}

    def camera(i: int) -> None:
        results[i] = scheduler.detect(frames[i])

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(len(frames))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    scheduler.close()
    assert scheduler.stats.frames == len(frames)
    assert 1 < scheduler.stats.largest_batch <= 4  # six cameras at once: batches formed, capped at 4
    assert scheduler.stats.batches < len(frames)
    for i, exp in enumerate(expected):  # nobody got another camera's detections
        assert len(results[i]) == len(exp) and matched(results[i], exp, 0.99) == len(exp)
    with pytest.raises(RuntimeError, match="closed"):
        scheduler.detect(frames[0])


class BrokenModel:
    """A detector whose batch fails, as a model given a bad input does."""

    def detect_batch(self, images: list[np.ndarray]) -> list[sv.Detections]:
        raise ValueError(f"bad input for a batch of {len(images)}")


def test_scheduler_hands_a_failed_batch_to_its_callers_and_keeps_running() -> None:
    scheduler = DetectorScheduler(BrokenModel(), max_batch=2)
    for _ in range(2):  # the scheduler thread survives a failed batch
        with pytest.raises(ValueError, match="bad input for a batch of 1"):
            scheduler.detect(np.zeros((8, 8, 3), np.uint8))
    scheduler.close()
    assert scheduler.stats.batches == 2


def test_regions_are_stride_aligned_inside_the_frame_and_cover_the_boxes() -> None:
    boxes = np.array([[100, 100, 140, 200], [130, 120, 170, 210], [600, 400, 640, 500]], np.float32)
    regions = plan_regions(boxes, (576, 768), (416, 416))
    assert regions is not None and len(regions) == 2  # the two overlapping walkers share one region
    sx, sy = 416 / 768, 416 / 576
    for x1, y1, x2, y2 in regions:
        assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576
        assert model_side(x2 - x1, sx) % STRIDE == 0 and model_side(y2 - y1, sy) % STRIDE == 0
        assert abs((x2 - x1) * sx - model_side(x2 - x1, sx)) < STRIDE / 2
    for b in boxes:
        assert any(r[0] <= b[0] and r[1] <= b[1] and r[2] >= b[2] and r[3] >= b[3] for r in regions)
    # regions over most of the frame: the whole frame is cheaper
    assert plan_regions(np.array([[0, 0, 700, 500]], np.float32), (576, 768), (416, 416)) is None
    nothing = plan_regions(np.zeros((0, 4), np.float32), (576, 768), (416, 416))
    assert nothing is not None and len(nothing) == 0


def test_mask_boxes_finds_each_moving_blob_in_frame_pixels() -> None:
    mask = np.zeros((120, 160), bool)
    mask[10:20, 10:15] = True
    mask[80:100, 100:120] = True
    boxes = mask_boxes(mask, (576, 768))
    assert len(boxes) == 2
    fx = 768 / 160
    assert any(abs(b[0] - 10 * fx) <= 2 * fx and abs(b[2] - 15 * fx) <= 2 * fx for b in boxes)


@pytest.mark.models
def test_motion_regions_find_the_walkers_the_whole_frame_finds(
    detector: OnnxDetector, pets_video: Path
) -> None:
    first, later = pets_frames(pets_video, 2, every=5)
    gate = MotionGate(max_skip_s=100)
    assert gate.should_detect(first, 0.0) and gate.should_detect(later, 0.5)
    assert gate.last_mask is not None
    full = detector.detect(later)
    boxes = np.concatenate([mask_boxes(gate.last_mask, later.shape[:2]), detector.detect(first).xyxy])
    regions = plan_regions(boxes, later.shape[:2], detector.input_size, max_area=1.0)
    assert regions is not None and len(regions) >= 1
    area = sum(int((r[2] - r[0]) * (r[3] - r[1])) for r in regions)
    assert area < 0.8 * later.shape[0] * later.shape[1]  # fewer pixels than the whole frame
    got = detector.detect_regions(later, regions)
    assert len(full) >= 3
    assert matched(full, got, 0.5) >= len(full) - 1  # the same walkers, at most one lost at a crop edge


def test_cpu_provider_is_the_default_and_others_name_what_to_install() -> None:
    assert Settings().detector.provider == "cpu"
    assert session_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(ProviderUnavailableError, match=r"detector\.provider.*onnxruntime-gpu"):
        session_providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(ProviderUnavailableError, match="onnxruntime-openvino"):
        session_providers("openvino", ["CPUExecutionProvider"])
    trt = session_providers(
        "tensorrt", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert trt == ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    with pytest.raises(ValidationError, match="provider"):
        Settings.model_validate({"detector": {"provider": "tpu"}})


@pytest.mark.models
def test_a_missing_provider_fails_at_build_time_with_the_setting_named(nanodet_model: Path) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA: the error path cannot be shown here")
    with pytest.raises(ProviderUnavailableError, match=r"detector\.provider: 'cuda'"):
        OnnxDetector(nanodet_model, class_ids=[PERSON], threads=1, provider="cuda")


@pytest.mark.models
def test_analyzer_with_regions_tracks_the_walkers_and_refreshes_the_whole_frame(
    detector: OnnxDetector, pets_video: Path
) -> None:
    from safecity.pipeline.analyzer import FrameAnalyzer

    camera = {"id": "c", "source": str(pets_video), "fps": None}
    results = {}
    for regions in (False, True):
        settings = Settings.model_validate(
            {"motion": {"regions": regions, "max_skip_s": 1.0}, "cameras": [camera]}
        )
        analyzer = FrameAnalyzer(settings.cameras[0], settings, detector)
        source = open_source(SourceSpec(camera_id="c", url=str(pets_video)))
        for n, frame in enumerate(source.frames()):  # 3 s at 10 fps
            tracks = analyzer.analyse(frame).tracks
            if n == 29:
                break
        results[regions] = (analyzer.times, len(tracks))
    whole, regional = results[False][0], results[True][0]
    assert whole.region_runs == 0
    assert regional.region_runs > 0  # most frames ran on crops only ...
    assert 3 <= regional.full_frames < regional.detector_runs // 2  # whole frames at 0, 1 and 2 s
    assert regional.detect_s < whole.detect_s  # ... which cost less than whole frames
    # ... and the same walkers are tracked at the end (a crop edge may cost one)
    assert abs(results[True][1] - results[False][1]) <= 1 and results[False][1] >= 3


class OverlapCounter:
    """Wraps a real ONNX Runtime session and records how many of its runs overlapped."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session, self.active, self.most = session, 0, 0
        self._lock = threading.Lock()

    def run(self, *args: object, **kwargs: object) -> list[np.ndarray]:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            return list(self.session.run(*args, **kwargs))  # type: ignore[arg-type]
        finally:
            with self._lock:
                self.active -= 1


@pytest.mark.models
def test_face_detector_runs_one_at_a_time_so_its_arena_stays_one_runs_size(pets_video: Path) -> None:
    from safecity.vision.faces import CenterFaceDetector
    from safecity.vision.faces_models import CENTERFACE, face_model_path
    from safecity.vision.models import default_cache_dir

    detector = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE), threads=1)
    counter = OverlapCounter(detector.session)
    detector.session = counter  # type: ignore[assignment]
    frame = pets_frames(pets_video, 1)[0]
    threads = [threading.Thread(target=detector.detect, args=(frame,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter.most == 1  # four snapshot threads at once, still one run at a time


class TwoAtOnce:
    """A detector whose runs return only once two of them run at the same time."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=20)

    def detect_batch(self, images: list[np.ndarray]) -> list[sv.Detections]:
        self.barrier.wait()  # BrokenBarrierError (handed to the caller) unless another lane runs too
        return [sv.Detections.empty() for _ in images]


def test_scheduler_lanes_run_at_the_same_time() -> None:
    scheduler = DetectorScheduler(TwoAtOnce(), max_batch=1, lanes=2)
    errors: list[BaseException] = []

    def camera() -> None:
        try:
            scheduler.detect(np.zeros((8, 8, 3), np.uint8))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=camera) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    scheduler.close()
    assert not errors and scheduler.stats.frames == 2 and scheduler.stats.batches == 2
    with pytest.raises(ValueError, match="lanes"):
        DetectorScheduler(TwoAtOnce(), lanes=0)
