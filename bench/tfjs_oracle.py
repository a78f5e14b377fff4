"""Check a converted TF.js model against TF.js itself: the original graph run by tfjs in Node.js.

    npm install --prefix /tmp/tfjs @tensorflow/tfjs-core@4 @tensorflow/tfjs-converter@4 \\
        @tensorflow/tfjs-backend-cpu@4
    .venv/bin/python bench/tfjs_oracle.py --node-modules /tmp/tfjs/node_modules \\
        --model-json package/models/centernet.json --onnx ~/.cache/safecity/models/centernet-512.onnx \\
        --image ../shared/data/images/bus.jpg --outputs tower_0/keypoints tower_0/wh

tfjs-node needs a prebuilt TensorFlow binary downloaded at install, which this project does not allow, so
the oracle is tfjs-core with the pure-JavaScript CPU backend (slow: ~30 s for CenterNet 512, fine once).
The image is resized to the model input, RGB 0..255 NHWC (what Human feeds CenterNet); both get the same
tensor, and the maximum absolute difference of each output is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

RUNNER = r"""
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfc = require('@tensorflow/tfjs-converter');
async function main() {
  const [modelJson, inputBin, shape, outPrefix, ...outputs] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelJson));
  const specs = [], shards = [];
  for (const g of model.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
  }
  const data = Buffer.concat(shards);
  const graph = await tfc.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology, weightSpecs: specs, format: model.format, signature: model.signature,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
  const raw = fs.readFileSync(inputBin);
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const x = tf.tensor(values, shape.split(',').map(Number));
  const result = graph.execute(x, outputs);
  const list = Array.isArray(result) ? result : [result];
  for (let i = 0; i < list.length; i++) {
    const d = await list[i].data();
    fs.writeFileSync(`${outPrefix}${i}.bin`, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--node-modules", type=Path, required=True, help="holds @tensorflow/tfjs-{core,converter,...}"
    )
    p.add_argument("--model-json", type=Path, required=True)
    p.add_argument("--onnx", type=Path, required=True)
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--outputs", nargs="+", required=True, help="TF tensor names, as in the ONNX outputs")
    args = p.parse_args()
    session = ort.InferenceSession(str(args.onnx), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    _, h, w, _ = inp.shape
    bgr = cv2.imread(str(args.image))
    x = cv2.cvtColor(cv2.resize(bgr, (w, h)), cv2.COLOR_BGR2RGB).astype(np.float32)[None]
    ours = dict(zip([o.name for o in session.get_outputs()], session.run(None, {inp.name: x}), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "runner.js").write_text(RUNNER)
        x.tofile(work / "x.bin")
        cmd = ["node", str(work / "runner.js"), str(args.model_json.resolve()), str(work / "x.bin"),
               ",".join(map(str, x.shape)), str(work / "out_"), *args.outputs]  # fmt: skip
        subprocess.run(
            cmd, check=True, env={"NODE_PATH": str(args.node_modules.resolve()), "PATH": "/usr/bin:/bin"}
        )
        report = {}
        for i, name in enumerate(args.outputs):
            got = ours[name if ":" in name else f"{name}:0"]
            expected = np.fromfile(work / f"out_{i}.bin", np.float32).reshape(got.shape)
            report[name] = {
                "max_abs_diff": float(np.abs(got - expected).max()),
                "max_abs_value": float(np.abs(expected).max()),
            }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
