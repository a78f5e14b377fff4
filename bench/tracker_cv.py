"""Tracker settings by cross-validation between PETS09-S2L1 and TUD-Campus (MOT15 ground truth).

    .venv/bin/python bench/tracker_cv.py [--config config/pets2009.yaml]

Tuning a tracker on the sequences it is then scored on overstates how it does on scenes never seen. Here
each setting of a small grid (`track_activation_threshold` x `high_conf_det_threshold`) is scored on both
sequences with the production chain of `bench/accuracy.py` (motion gate, NanoDet, ByteTrack); the best
setting on one sequence (by HOTA) is then reported on the other, and the other way round. The detector
runs once per sequence: its detections are cached and replayed in order (the motion gate is
deterministic), so each setting only re-runs the tracker.

Why these two: in ByteTrack (Roboflow `trackers`) only a detection of the first, high-confidence stage
that no track claims can start a track, and only if it also clears the activation threshold -- so a track
starts at max(activation, high_conf_det_threshold), and lowering one alone below the other changes nothing.
`minimum_consecutive_frames` 1 and 2 gave identical tracks on PETS09-S2L1 in a first run (3 removed
some true tracks' first frames), so the grid tunes the two thresholds instead.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import supervision as sv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, ROOT, SEQUENCES, Sequence, load_gt, run_pipeline, score
from safecity.app import build_detector
from safecity.config import load_settings
from safecity.config.models import Settings

ACTIVATION = (0.4, 0.5, 0.6, 0.7)
HIGH_CONF = (0.4, 0.5, 0.6)
METRIC = "HOTA"


class Recording:
    """Wraps a detector and keeps what it returned, in call order."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    def detect(self, image: np.ndarray) -> sv.Detections:
        out = self.inner.detect(image)  # type: ignore[attr-defined]
        self.calls.append(out)
        return out


class Replay:
    def __init__(self, calls: list[sv.Detections]) -> None:
        self.calls, self.i = calls, 0

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.i += 1
        return self.calls[self.i - 1]


def run(seq: Sequence, settings: Settings, detections: list[sv.Detections]) -> dict[str, float]:
    camera = settings.cameras[0]
    import accuracy

    original = accuracy.build_detector
    accuracy.build_detector = lambda _s: Replay(detections)  # type: ignore[assignment,return-value]
    try:
        tr, analyzer, _ = run_pipeline(seq, settings, camera)
    finally:
        accuracy.build_detector = original
    gt = load_gt(seq.gt)
    return score(gt, tr, int(max(gt[:, 0].max(), analyzer.times.frames)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=ROOT / "config/pets2009.yaml")
    args = p.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    base = load_settings(args.config)
    grid = list(itertools.product(ACTIVATION, HIGH_CONF))
    results: dict[str, dict[tuple[float, int], dict[str, float]]] = {}
    for seq in SEQUENCES:
        import accuracy

        recording = Recording(build_detector(base))
        original = accuracy.build_detector
        accuracy.build_detector = lambda _s, r=recording: r  # type: ignore[assignment,misc]
        try:
            run_pipeline(seq, base, base.cameras[0])
        finally:
            accuracy.build_detector = original
        results[seq.name] = {}
        for act, high in grid:
            tracker = base.tracker.model_copy(
                update={"track_activation_threshold": act, "high_conf_det_threshold": high}
            )
            settings = base.model_copy(update={"tracker": tracker})
            m = run(seq, settings, recording.calls)
            results[seq.name][(act, high)] = m
            print(
                f"{seq.name:<12} activation {act:.2f} high_conf {high:.2f}: HOTA {m['HOTA']:.3f} "
                f"MOTA {m['MOTA']:.3f} IDF1 {m['IDF1']:.3f} IDSW {m['IDSW']} FP {m['FP']} FN {m['FN']}",
                flush=True,
            )
    default = (base.tracker.track_activation_threshold, base.tracker.high_conf_det_threshold)
    names = [s.name for s in SEQUENCES]
    for tune, held in (names, names[::-1]):
        best = max(grid, key=lambda g: results[tune][g][METRIC])
        h, d = results[held][best], results[held].get(default)
        print(
            f"tuned on {tune} (best {METRIC}: activation {best[0]}, high_conf {best[1]}) "
            f"-> held-out {held}: "
            f"HOTA {h['HOTA']:.3f} MOTA {h['MOTA']:.3f} IDF1 {h['IDF1']:.3f}"
            + (
                f"; config default {default} there: HOTA {d['HOTA']:.3f} MOTA {d['MOTA']:.3f} "
                f"IDF1 {d['IDF1']:.3f}"
                if d
                else ""
            )
        )
    worst = max(grid, key=lambda g: min(results[n][g][METRIC] for n in names))
    print(f"best worst-case {METRIC} over both sequences: activation {worst[0]}, high_conf {worst[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
