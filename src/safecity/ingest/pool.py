"""A camera's preallocated frame buffers, reused once nothing references them.

Why: every decoded picture used to be a fresh 1.3 MB array (768x576 BGR) made in the decode thread and
freed in another (analysis, snapshots). glibc keeps such buffers in per-thread arenas and rarely hands the
memory back, so a camera's RSS grew with every thread that touched its frames. With a pool, a camera owns
a fixed number of buffers, allocated on first use and written over again and again.

A buffer is free when no one but the pool holds it: the pool asks Python's reference count, so there is
no release call to forget, and a buffer still referenced anywhere (a queue, the live view's latest frame,
a pending snapshot, a crop view of it) is never handed out again. When every buffer is in use, `acquire`
returns None and the caller decides: a live source drops its oldest queued frame and tries again;
`overflow()` gives an unpooled array for a caller that must not wait (counted in `overflows`).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class PoolStats:
    allocated: int = 0  # buffers made by the pool (at most its size, more after a change of frame size)
    reused: int = 0  # acquisitions served by a buffer that had been used before
    exhausted: int = 0  # acquisitions that found every buffer in use
    overflows: int = 0  # unpooled arrays handed out instead


class FramePool:
    """At most `size` HxWx3 uint8 buffers of one shape; `acquire(shape)` from one thread at a time."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a frame pool needs at least one buffer, got {size}")
        self.size = size
        self.stats = PoolStats()
        self._buffers: list[np.ndarray] = []
        self._used: list[bool] = []
        self._shape: tuple[int, ...] | None = None
        self._lock = threading.Lock()
        self._idle_refs = self._baseline()

    def _refs(self, i: int) -> int:
        return sys.getrefcount(self._buffers[i])

    def _baseline(self) -> int:
        """The reference count of a buffer only the pool holds, measured through the same path that
        checks one later (so it holds on any CPython version)."""
        self._buffers.append(np.empty(0, np.uint8))
        try:
            return self._refs(0)
        finally:
            self._buffers.pop()

    @property
    def in_use(self) -> int:
        with self._lock:
            return sum(self._refs(i) > self._idle_refs for i in range(len(self._buffers)))

    def acquire(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """A buffer of `shape` that nobody else references, or None when all `size` are in use."""
        with self._lock:
            if shape != self._shape:  # a new resolution (reconnect): the old buffers go with their holders
                self._buffers, self._used, self._shape = [], [], shape
            for i in range(len(self._buffers)):
                if self._refs(i) == self._idle_refs:
                    self.stats.reused += self._used[i]
                    self._used[i] = True
                    return self._buffers[i]
            if len(self._buffers) < self.size:
                self._buffers.append(np.empty(shape, np.uint8))
                self._used.append(True)
                self.stats.allocated += 1
                return self._buffers[-1]
            self.stats.exhausted += 1
            return None

    def overflow(self, shape: tuple[int, ...]) -> np.ndarray:
        """An unpooled array, for a caller that must not wait for a buffer."""
        self.stats.overflows += 1
        return np.empty(shape, np.uint8)
