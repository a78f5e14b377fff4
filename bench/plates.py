"""Plate reading accuracy and speed on a folder in the OpenALPR benchmark layout.

    .venv/bin/python bench/plates.py ../shared/data/plates/us [--countries us] [--limit N] [--no-vehicles]

Each image `X.jpg` has `X.txt` holding `file x y w h PLATE` (tab or space separated). Per image the chain
runs as the camera runtime does: NanoDet finds vehicles (car, motorcycle, bus, truck) and the plate reader
looks inside each vehicle box (the whole image when no vehicle is found, or with --no-vehicles). The best
read (highest confidence) is the answer.

Measures:
- found: some plate candidate box overlaps the true box with IoU >= 0.3 (the text detector found the plate,
  whatever was read), which separates detection misses from reading misses;
- exact: the best read equals the true plate (characters only, upper case);
- characters: 1 - edit distance / true length of the best read, averaged (0 for no read);
- ms per plate: wall time of vehicle detection plus plate reading per image, on `--threads` threads.
The last line is `exact plate reads: K/N (P%)`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from safecity.vision.detector import OnnxDetector
from safecity.vision.models import default_cache_dir, model_path
from safecity.vision.plate_formats import FORMATS, normalize
from safecity.vision.plates import PlateRead, PlateReader, PlateReaderConfig
from safecity.vision.plates_models import plate_model_paths

VEHICLES = [2, 3, 5, 7]  # COCO car, motorcycle, bus, truck
IOU_FOUND = 0.3


@dataclass(frozen=True, slots=True)
class Truth:
    image: Path
    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    plate: str


def load(folder: Path) -> list[Truth]:
    truths = []
    for txt in sorted(folder.glob("*.txt")):
        fields = txt.read_text().split()
        if len(fields) < 6:
            print(f"skipping {txt.name}: expected `file x y w h PLATE`", file=sys.stderr)
            continue
        x, y, w, h = (int(v) for v in fields[1:5])
        truths.append(Truth(folder / fields[0], (x, y, x + w, y + h), normalize(fields[5])))
    return truths


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def reads_for(image: np.ndarray, reader: PlateReader, detector: OnnxDetector | None) -> list[PlateRead]:
    reads: list[PlateRead] = []
    boxes = detector.detect(image).xyxy if detector is not None else np.zeros((0, 4))
    for x1, y1, x2, y2 in boxes:
        pad_x, pad_y = 0.05 * (x2 - x1), 0.05 * (y2 - y1)  # plates sit on the box's edge
        reads += reader.read(image, (x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y))
    if not reads:
        reads = reader.read(image)
    return sorted(reads, key=lambda r: r.confidence, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--countries", default="us", help=f"comma separated, of {', '.join(FORMATS)}")
    parser.add_argument("--limit", type=int, default=0, help="first N images only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-vehicles", action="store_true", help="read the whole image, no vehicle boxes")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    args = parser.parse_args()

    truths = load(args.folder)[: args.limit or None]
    cache = default_cache_dir()
    config = PlateReaderConfig(countries=tuple(args.countries.split(",")), threads=args.threads)
    reader = PlateReader(*plate_model_paths(cache), config)
    detector = None
    if not args.no_vehicles:
        detector = OnnxDetector(model_path(cache, "nanodet-m-416"), class_ids=VEHICLES, threads=args.threads)
    found = exact = 0
    char_acc: list[float] = []
    times: list[float] = []
    for truth in truths:
        image = cv2.imread(str(truth.image))
        if image is None:
            print(f"{truth.image}: not a readable image", file=sys.stderr)
            continue
        started = time.perf_counter()
        reads = reads_for(image, reader, detector)
        times.append((time.perf_counter() - started) * 1000)
        hit = any(iou(r.box, truth.box) >= IOU_FOUND for r in reads)
        best = reads[0].plate if reads else ""
        found += hit
        exact += best == truth.plate
        char_acc.append(max(0.0, 1 - edit_distance(best, truth.plate) / len(truth.plate)))
        if args.verbose and best != truth.plate:
            print(f"  miss {truth.image.name}: true {truth.plate} read {best or '-'} found={hit}")
    n = len(times)
    if n == 0:
        sys.exit("no images")
    exact_found = f"{exact}/{found}" if found else "0/0"
    print(f"images: {n}   countries: {args.countries}   vehicles first: {not args.no_vehicles}")
    print(f"plate found (IoU >= {IOU_FOUND}): {found}/{n} ({100 * found / n:.1f}%)")
    print(f"exact among found: {exact_found}; detection misses {n - found}")
    print(f"character accuracy: {100 * statistics.fmean(char_acc):.1f}%")
    print(f"ms per plate: median {statistics.median(times):.0f}, p95 {np.percentile(times, 95):.0f}")
    print(f"exact plate reads: {exact}/{n} ({100 * exact / n:.1f}%)")


if __name__ == "__main__":
    main()
