"""Process-wide memory settings of a camera node.

glibc gives each thread that allocates its own malloc arena, up to 8 per core, and returns little of
an arena's freed memory to the system. A node runs four threads per camera (decode, pacing, analysis,
snapshots) plus the detector's, so its arenas, not its data, made a large part of each camera's RSS
(docs/performance.md: ~10-20 MB per camera at 8 cameras). Two arenas are what `MALLOC_ARENA_MAX=2` gives;
the threads spend their time in native code (FFmpeg, ONNX Runtime, OpenCV) that does not contend on malloc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
DEFAULT_ARENAS = 2


def cap_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc arenas, unless `MALLOC_ARENA_MAX` is set (then glibc already applied it);
    whether the limit was set. Call before the node starts its threads: glibc fixes the limit once a
    process has more than eight arenas. A no-op outside glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.debug("mallopt(M_ARENA_MAX, %d) refused", arenas)
    return ok
