"""The parent's side of a face job in a spawned child process (dlib holds the GIL, so a thread would stall
every API request): poll its result queue, report progress, forward a cancel, reap it."""

from __future__ import annotations

import queue
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

POLL_S = 0.2


def await_child(
    proc: SpawnProcess,
    out: Any,  # the child's multiprocessing Queue of (kind, payload)
    cancel: MpEvent,
    progress: Callable[[], tuple[int, int]],
    step: Callable[[int, int], bool],
    failed: type[Exception],
) -> tuple[str, Any]:
    """Start `proc` and wait for its one (kind, payload) message; `step(done, total)` as it goes (False:
    set `cancel`). A child that dies without a message raises `failed`."""
    proc.start()
    try:
        while True:
            if not step(*progress()):
                cancel.set()
            try:
                kind, payload = out.get(timeout=POLL_S)
                break
            except queue.Empty:
                if not proc.is_alive():
                    raise failed(f"the {proc.name} process ended with code {proc.exitcode}") from None
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    step(*progress())
    return kind, payload
