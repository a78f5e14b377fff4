"""`/metrics` seen through a camera access list: per-camera series (label `camera` or `camera_id`) of the
cameras a caller may not see are left out; node-wide series stay. A caller with every camera gets the
registry as it is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

CAMERA_LABELS = ("camera", "camera_id")


class CameraFiltered:
    """A collector-like view of `registry` with other cameras' samples removed (for `generate_latest`)."""

    def __init__(self, registry: Collector, cameras: frozenset[str]) -> None:
        self._registry = registry
        self._cameras = cameras

    def _visible(self, labels: dict[str, str]) -> bool:
        return all(labels[k] in self._cameras for k in CAMERA_LABELS if k in labels)

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = [s for s in family.samples if self._visible(s.labels)]
            if kept.samples or not _per_camera(family.samples):
                yield kept


def _per_camera(samples: Iterable[object]) -> bool:
    return any(k in getattr(s, "labels", {}) for s in samples for k in CAMERA_LABELS)
