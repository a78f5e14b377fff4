"""Accuracy benchmark: tracking quality and counting error on real MOTChallenge sequences.

Runs the production analysis chain (`FrameAnalyzer`: motion gate, NanoDet, ByteTrack, rules) on every
frame of PETS09-S2L1 and TUD-Campus, writes MOTChallenge-format tracks, and scores them with TrackEval's
HOTA, CLEAR (MOTA, ID switches) and Identity (IDF1) metrics against the ground truth. For PETS09-S2L1 the
true line-crossing counts are derived from the ground-truth tracks with the same line (and the same
supervision LineZone) as the pipeline, and compared with the pipeline's counts.

    .venv/bin/python bench/accuracy.py [--out artifacts/accuracy] [--config config/pets2009.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv
import yaml

from safecity.app import build_detector
from safecity.config import load_settings
from safecity.config.models import CameraConfig, Settings
from safecity.ingest import FramePool, SourceSpec, open_source
from safecity.pipeline.analyzer import FrameAnalyzer
from safecity.rules.lines import LineCounter

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
PERSON = 0


@dataclass(frozen=True)
class Sequence:
    name: str
    video: Path
    gt: Path


SEQUENCES = [
    Sequence("PETS09-S2L1", DATA / "video/pets09-s2l1-vtest.avi", DATA / "mot15/PETS09-S2L1/gt/gt.txt"),
    Sequence("TUD-Campus", DATA / "video/tud-campus.mp4", DATA / "mot15/TUD-Campus/gt/gt.txt"),
]


def run_pipeline(
    seq: Sequence, settings: Settings, camera: CameraConfig
) -> tuple[np.ndarray, FrameAnalyzer, float]:
    """Every frame through the analyzer; returns MOT rows (frame, id, x, y, w, h, conf) for persons."""
    cam = camera.model_copy(update={"source": str(seq.video), "fps": None, "loop": False})
    analyzer = FrameAnalyzer(cam, settings, build_detector(settings))
    rows: list[list[float]] = []
    # pooled buffers, as a camera worker decodes (safecity.ingest.pool): the same pixels, reused memory
    source = open_source(
        SourceSpec(camera_id=cam.id, url=cam.source, fps=None), pool=FramePool(4), queue_size=1
    )
    t0 = time.perf_counter()
    for n, frame in enumerate(source.frames()):
        tracks = analyzer.analyse(frame).tracks
        for (x1, y1, x2, y2), tid, cls, conf in zip(
            tracks.xyxy, tracks.tracker_id, tracks.class_id, tracks.confidence, strict=True
        ):
            if cls == PERSON:
                rows.append([n + 1, tid, x1, y1, x2 - x1, y2 - y1, conf])  # MOT frames are 1-based
    return np.array(rows, np.float64).reshape(-1, 7), analyzer, time.perf_counter() - t0


def load_gt(path: Path) -> np.ndarray:
    gt = np.loadtxt(path, delimiter=",", ndmin=2)
    return gt[gt[:, 6] != 0, :7]  # zero-marked rows are ignore regions, as in TrackEval


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (x, y, w, h) boxes, [len(a), len(b)]."""
    ax2, ay2, bx2, by2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def trackeval_data(gt: np.ndarray, tr: np.ndarray, frames: int) -> dict[str, object]:
    gt_map = {v: i for i, v in enumerate(np.unique(gt[:, 1]))}
    tr_map = {v: i for i, v in enumerate(np.unique(tr[:, 1]))}
    data: dict[str, object] = {
        "num_timesteps": frames,
        "num_gt_ids": len(gt_map),
        "num_tracker_ids": len(tr_map),
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(tr),
    }
    gt_ids, tr_ids, sims = [], [], []
    for t in range(1, frames + 1):
        g, r = gt[gt[:, 0] == t], tr[tr[:, 0] == t]
        gt_ids.append(np.array([gt_map[v] for v in g[:, 1]], int))
        tr_ids.append(np.array([tr_map[v] for v in r[:, 1]], int))
        sims.append(_iou(g[:, 2:6], r[:, 2:6]))
    data.update(gt_ids=gt_ids, tracker_ids=tr_ids, similarity_scores=sims)
    return data


def score(gt: np.ndarray, tr: np.ndarray, frames: int) -> dict[str, float]:
    from trackeval.metrics import CLEAR, HOTA, Identity

    data = trackeval_data(gt, tr, frames)
    hota = HOTA().eval_sequence(data)
    clear = CLEAR().eval_sequence(data)
    ident = Identity().eval_sequence(data)
    return {
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "MOTA": float(clear["MOTA"]),
        "MOTP": float(clear["MOTP"]),
        "IDF1": float(ident["IDF1"]),
        "IDSW": int(clear["IDSW"]),
        "FP": int(clear["CLR_FP"]),
        "FN": int(clear["CLR_FN"]),
        "GT_IDs": len(np.unique(gt[:, 1])),
        "IDs": len(np.unique(tr[:, 1])),
    }


OCCLUSION_BINS = (
    ("visible (<10% hidden)", 0.0, 0.1),
    ("partly (10-50%)", 0.1, 0.5),
    ("mostly (>50%)", 0.5, 1.01),
)


def occlusion(gt: np.ndarray) -> np.ndarray:
    """Hidden fraction of each ground-truth box (rows of `load_gt`): the share of its area covered by the
    boxes of people nearer the camera (lower bottom edge). MOT15 has no visibility column (-1), so this is
    derived from the annotated boxes themselves, the usual proxy (see `visibility` for MOT16+ files)."""
    out = np.zeros(len(gt))
    for t in np.unique(gt[:, 0]):
        idx = np.nonzero(gt[:, 0] == t)[0]
        xyxy = np.rint(np.column_stack([gt[idx, 2:4], gt[idx, 2:4] + gt[idx, 4:6]])).astype(int)
        for k, i in enumerate(idx):
            x1, y1, x2, y2 = xyxy[k]
            mask = np.zeros((max(1, y2 - y1), max(1, x2 - x1)), bool)
            for other, (ox1, oy1, ox2, oy2) in enumerate(xyxy):
                if other != k and oy2 > y2:  # only a box nearer the camera can hide this one
                    mask[max(0, oy1 - y1) : max(0, oy2 - y1), max(0, ox1 - x1) : max(0, ox2 - x1)] = True
            out[i] = mask.mean()
    return out


def matched(gt: np.ndarray, tr: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Per ground-truth row: whether a tracker box of the same frame matches it (IoU >= `iou`, one-to-one)."""
    from scipy.optimize import linear_sum_assignment

    hit = np.zeros(len(gt), bool)
    for t in np.unique(gt[:, 0]):
        gi = np.nonzero(gt[:, 0] == t)[0]
        r = tr[tr[:, 0] == t]
        if len(r) == 0:
            continue
        sim = _iou(gt[gi, 2:6], r[:, 2:6])
        rows, cols = linear_sum_assignment(-sim)
        ok = sim[rows, cols] >= iou
        hit[gi[rows[ok]]] = True
    return hit


def visibility(path: Path) -> np.ndarray | None:
    """The ground truth's visibility column (MOT16+: column 9, in [0, 1]) for the rows `load_gt` keeps;
    None where the format has none (MOT15 writes -1 there)."""
    gt = np.loadtxt(path, delimiter=",", ndmin=2)
    gt = gt[gt[:, 6] != 0]
    if gt.shape[1] < 9 or not np.all((gt[:, 8] >= 0) & (gt[:, 8] <= 1)):
        return None
    return np.asarray(gt[:, 8], np.float64)


def recall_by_occlusion(gt: np.ndarray, tr: np.ndarray, visible: np.ndarray | None = None) -> dict[str, str]:
    """Recall of people (tracker output vs ground truth, IoU >= 0.5) in each occlusion bin; the hidden
    fraction is 1 - `visible` when the ground truth has a visibility column, else `occlusion(gt)`."""
    hidden = occlusion(gt) if visible is None else 1.0 - visible
    hit = matched(gt, tr)
    out = {}
    for name, lo, hi in OCCLUSION_BINS:
        sel = (hidden >= lo) & (hidden < hi)
        out[name] = f"{hit[sel].mean():.3f} of {int(sel.sum())}" if sel.any() else "-"
    return out


def count_by_density(gt: np.ndarray, tr: np.ndarray, frames: int) -> dict[str, str]:
    """How the per-frame person count (tracks, what crowding rules count) compares with the truth, by the
    true number of people in the frame: mean counted / true and the mean absolute error."""
    true = np.bincount(gt[:, 0].astype(int), minlength=frames + 1)[1:]
    got = np.bincount(tr[:, 0].astype(int), minlength=frames + 1)[1 : frames + 1]
    out = {}
    for n in np.unique(true[true > 0]):
        sel = true == n
        mean, mae = got[sel].mean(), np.abs(got[sel] - n).mean()
        out[f"{n} people ({int(sel.sum())} frames)"] = (
            f"counted {mean:.2f} (ratio {mean / n:.2f}, MAE {mae:.2f})"
        )
    return out


def replay_counts(gt: np.ndarray, counter: LineCounter) -> Counter[str]:
    """Crossings of MOT-format tracks (ground truth or ours) replayed frame by frame through a LineZone."""
    for t in range(1, int(gt[:, 0].max()) + 1):
        g = gt[gt[:, 0] == t]
        xyxy = np.column_stack([g[:, 2], g[:, 3], g[:, 2] + g[:, 4], g[:, 3] + g[:, 5]]).astype(np.float32)
        dets = sv.Detections(
            xyxy=xyxy,
            class_id=np.zeros(len(g), int),
            tracker_id=g[:, 1].astype(int),
            confidence=np.ones(len(g), np.float32),
        )
        counter.update(dets, float(t), lambda _e, _i: None)
    return Counter({d: n for (d, _label), n in counter.counts.items()})


def line_sweep(gt: np.ndarray, tracks: np.ndarray, labels: tuple[str, ...]) -> list[str]:
    """Counting error of vertical lines across the road, from the same pipeline tracks: where a line
    stands matters (occluders split tracks), so the benchmark shows every position, not one."""
    from safecity.config.models import LineConfig

    out = []
    for x in range(250, 651, 50):
        cfg = LineConfig(id=f"x{x}", start=(x, 150), end=(x, 470), in_name="w", out_name="e")
        truth = replay_counts(gt, LineCounter("sweep", cfg, labels))
        got = replay_counts(tracks, LineCounter("sweep", cfg, labels))
        err = sum(abs(truth[d] - got[d]) for d in ("w", "e")) / max(1, truth["w"] + truth["e"])
        out.append(f"x={x}: true {truth['w']}+{truth['e']}, pipeline {got['w']}+{got['e']}, error {err:.3f}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=ROOT / "config/pets2009.yaml")
    p.add_argument("--out", type=Path, default=ROOT / "artifacts/accuracy")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        help="settings override, dotted key=YAML value (repeatable), e.g. motion.regions=true",
    )
    args = p.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    settings = with_overrides(load_settings(args.config), args.set)
    camera = settings.cameras[0]
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {}
    for seq in SEQUENCES:
        tr, analyzer, seconds = run_pipeline(seq, settings, camera)
        np.savetxt(
            args.out / f"{seq.name}.txt",
            np.column_stack([tr, -np.ones((len(tr), 3))]),
            fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%.4f", "%d", "%d", "%d"],
            delimiter=",",
        )
        gt = load_gt(seq.gt)
        frames = int(max(gt[:, 0].max(), analyzer.times.frames))
        metrics: dict[str, object] = {**score(gt, tr, frames)}
        metrics["frames"] = analyzer.times.frames
        metrics["detector_runs"] = analyzer.times.detector_runs
        metrics["region_runs"] = analyzer.times.region_runs
        metrics["full_frames"] = analyzer.times.full_frames
        metrics["seconds"] = round(seconds, 1)
        metrics["recall_by_occlusion"] = recall_by_occlusion(gt, tr, visibility(seq.gt))
        metrics["count_by_density"] = count_by_density(gt, tr, frames)
        metrics["ms_per_frame"] = round(1000 * seconds / max(1, analyzer.times.frames), 1)
        if seq.name == "PETS09-S2L1":
            metrics["counts"] = count_report(gt, analyzer, camera, settings)
        report[seq.name] = metrics
        print(
            f"{seq.name}: "
            + " ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in metrics.items()
                if not isinstance(v, dict)
            )
        )
        print(f"  recall by occlusion (IoU 0.5): {metrics['recall_by_occlusion']}")
        print(f"  person count by true density: {metrics['count_by_density']}")
        if "counts" in metrics:
            print(f"  counts: {metrics['counts']}")
            sweep = line_sweep(gt, tr, ("person",))
            metrics["line_sweep"] = sweep
            print("  line position sweep (westbound+eastbound):\n    " + "\n    ".join(sweep))
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    return 0


def with_overrides(settings: Settings, overrides: list[str]) -> Settings:
    """`settings` with dotted `key=value` overrides (values parsed as YAML), validated again."""
    tree = settings.model_dump(mode="json")
    for item in overrides:
        key, _, raw = item.partition("=")
        node = tree
        *parents, leaf = key.split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[leaf] = yaml.safe_load(raw)
    return Settings.model_validate(tree)


def count_report(
    gt: np.ndarray, analyzer: FrameAnalyzer, camera: CameraConfig, settings: Settings
) -> dict[str, object]:
    out: dict[str, object] = {}
    for counter in analyzer.rules.lines:
        truth = replay_counts(gt, LineCounter(camera.id, counter.cfg, settings.camera_classes(camera)))
        got = Counter({d: n for (d, _label), n in counter.counts.items()})
        t_all, g_all = sum(truth.values()), sum(got.values())
        per_dir = {
            d: {"true": truth[d], "pipeline": got[d]} for d in (counter.cfg.in_name, counter.cfg.out_name)
        }
        err = sum(abs(truth[d] - got[d]) for d in per_dir) / max(1, t_all)
        out[counter.cfg.id] = {
            "directions": per_dir,
            "true_total": t_all,
            "pipeline_total": g_all,
            "count_error": round(err, 3),
        }
    return out


if __name__ == "__main__":
    raise SystemExit(main())
