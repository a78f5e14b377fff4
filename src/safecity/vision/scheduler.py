"""One detector scheduler per node: frames from many cameras, one ONNX Runtime call per batch.

Camera analysis threads call `detect(image)` as they would on the detector itself (it implements the
`Detector` protocol, so it drops in where the shared detector is built). Each call becomes a request with a
deadline (its arrival plus `budget_s`); one scheduler thread always takes the requests with the oldest
deadline first, up to `max_batch` of them, and runs them as one batch. While a batch runs, new requests
queue up, so under load batches form by themselves; `max_wait_s` only bounds how long the scheduler waits
for a batch to fill when it is idle. Requests past their deadline still run (a late detection is better
than a lost one: the camera's own queue already drops frames when it falls behind).

Why one place decides: N camera threads calling `run()` at once on 2 cores make N runs fight for the same
intra-op threads; serialised batches keep the cores on one run at a time and give the convolution kernels
larger inputs. `lanes` scheduler threads take batches from the one queue: on a CPU, two lanes of
single-threaded runs keep two cores busy for ~10% less CPU per run than one lane of 2-thread runs, whose
threads wait for each other inside every run (docs/performance.md).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import supervision as sv

from safecity.vision.detector import Detector, RegionDetector

log = logging.getLogger(__name__)


class BatchDetector(Protocol):
    def detect_batch(self, images: list[np.ndarray]) -> list[sv.Detections]: ...


class OnnxDetectorLike(BatchDetector, Detector, Protocol):
    """A detector that also runs batches (OnnxDetector)."""


@dataclass(slots=True)
class _Request:
    image: np.ndarray
    arrival: float
    done: threading.Event = field(default_factory=threading.Event)
    result: sv.Detections | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class SchedulerStats:
    batches: int = 0
    frames: int = 0
    late: int = 0  # requests that started after their deadline
    largest_batch: int = 0


class DetectorScheduler:
    """`detect(image) -> Detections`, batched across the calling threads; see the module docstring."""

    def __init__(
        self,
        detector: BatchDetector,
        *,
        max_batch: int = 4,
        max_wait_s: float = 0.0,
        budget_s: float = 0.2,
        lanes: int = 1,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"detector.batch.max_size must be >= 1, got {max_batch}")
        if lanes < 1:
            raise ValueError(f"detector.batch.lanes must be >= 1, got {lanes}")
        self.detector = detector
        self.lanes = lanes
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.budget_s = budget_s
        self.stats = SchedulerStats()
        self._heap: list[tuple[float, int, _Request]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []

    def detect(self, image: np.ndarray) -> sv.Detections:
        now = time.monotonic()
        request = _Request(image, now)
        with self._cond:
            if self._closed:
                raise RuntimeError("detector scheduler is closed")
            if not self._threads:  # started on first use: building it has no side effect
                for i in range(self.lanes):
                    t = threading.Thread(target=self._loop, name=f"detector-scheduler-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
            heapq.heappush(self._heap, (now + self.budget_s, next(self._order), request))
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> sv.Detections:
        """Crops differ in size, so they do not batch: they run directly on the detector."""
        if not isinstance(self.detector, RegionDetector):
            raise TypeError("this detector cannot run on motion regions")
        return self.detector.detect_regions(image, regions)

    def close(self) -> None:
        """Finish the queued requests, then stop the scheduler thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(5.0)

    def _next_batch(self) -> list[tuple[float, _Request]] | None:
        with self._cond:
            while not self._heap and not self._closed:
                self._cond.wait()
            if not self._heap:
                return None
            oldest = min(r.arrival for _, _, r in self._heap)
            while len(self._heap) < self.max_batch and not self._closed:
                remaining = oldest + self.max_wait_s - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(self.max_batch, len(self._heap))
            return [(d, r) for d, _, r in (heapq.heappop(self._heap) for _ in range(count))]

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            start = time.monotonic()
            requests = [r for _, r in batch]
            try:
                results = self.detector.detect_batch([r.image for r in requests])
                for r, res in zip(requests, results, strict=True):
                    r.result = res
            except BaseException as exc:  # handed to every caller of this batch, who re-raise it
                log.exception("detector batch of %d failed", len(requests))
                for r in requests:
                    r.error = exc
            with self._cond:  # several lanes count into one place
                s = self.stats
                s.batches += 1
                s.frames += len(requests)
                s.late += sum(1 for deadline, _ in batch if deadline < start)
                s.largest_batch = max(s.largest_batch, len(requests))
            for r in requests:
                r.done.set()


def scheduled(
    detector: OnnxDetectorLike, enabled: bool, max_batch: int, max_wait_s: float, lanes: int = 1
) -> Detector:
    """The node's detector: behind one batching scheduler when `detector.batch.enabled`, else itself."""
    if not enabled:
        return detector
    return DetectorScheduler(detector, max_batch=max_batch, max_wait_s=max_wait_s, lanes=lanes)
