"""In-process bus: a bounded queue and one delivery thread.

Why a queue and a worker rather than calling handlers inside `publish`: the publisher is a camera
worker, and its subscribers (the SQLite store, WebSocket alerts) can be slow; a synchronous bus
would let a slow consumer stall video analysis. So `publish` puts into a bounded queue (DESIGN:
bounded queues everywhere). Events are never dropped: when the queue is full, `publish` waits for room
(counted in `blocked`), which holds the camera's publisher back, which holds its analysis back, and the
camera drops frames instead (counted in its `frames_dropped`): drop frames, never events.
One worker thread delivers events in publish order to every subscriber; a handler
that raises is logged and counted in `handler_errors` and does not stop delivery to the others.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Final, cast

from safecity.bus.base import Handler, Unsubscribe
from safecity.types import Event

log = logging.getLogger(__name__)

DEFAULT_MAXSIZE: Final = 10_000
_STOP: Final = object()


class MemoryBus:
    """Thread-safe in-process `Bus`; see the module docstring for the delivery model."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        if maxsize <= 0:
            raise ValueError(f"maxsize must be > 0, got {maxsize}")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._lock = threading.Lock()
        self._publishing = threading.Lock()  # separate from _lock: a handler may (un)subscribe meanwhile
        self._handlers: tuple[Handler, ...] = ()  # copy-on-write: delivery iterates a snapshot
        self._closed = False
        self._published = 0
        self._dropped = 0
        self._blocked = 0
        self._delivered = 0
        self._handler_errors = 0
        self._worker = threading.Thread(target=self._run, name="safecity-memory-bus", daemon=True)
        self._worker.start()

    @property
    def published(self) -> int:
        """Events accepted into the queue."""
        return self._published

    @property
    def dropped(self) -> int:
        """Events lost (always 0: a full queue makes `publish` wait; kept for the metrics)."""
        return self._dropped

    @property
    def blocked(self) -> int:
        """Publishes that had to wait for room in the queue (backpressure on the cameras)."""
        return self._blocked

    @property
    def delivered(self) -> int:
        """Successful handler calls."""
        return self._delivered

    @property
    def handler_errors(self) -> int:
        """Handler calls that raised."""
        return self._handler_errors

    def publish(self, event: Event, timeout: float | None = None) -> None:
        """Queue `event` for delivery; when the queue is full, wait for room (backpressure).

        `timeout` (None: as long as it takes) raises `queue.Full` when it passes: never a silent drop."""
        with self._publishing:  # close() waits for a publish in progress: nothing lands behind the stop
            if self._closed:
                raise RuntimeError("publish on a closed bus")
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self._blocked += 1
                if self._blocked == 1 or self._blocked % 1000 == 0:
                    log.warning("memory bus queue full: %d publish(es) waited for room", self._blocked)
                self._queue.put(event, timeout=timeout)
            self._published += 1

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        """Call `handler(event)` (on the bus thread) for every event published from now on.

        `durable` (a consumer name for buses that persist) is accepted and ignored here."""
        with self._lock:
            if self._closed:
                raise RuntimeError("subscribe on a closed bus")
            self._handlers = (*self._handlers, handler)
        done = False

        def unsubscribe() -> None:
            nonlocal done
            with self._lock:
                if done:
                    return
                done = True
                handlers = list(self._handlers)
                handlers.remove(handler)
                self._handlers = tuple(handlers)

        return unsubscribe

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued event has been delivered; False if `timeout` passed first."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting events, deliver what is queued, stop the worker. Idempotent."""
        with self._publishing:
            if self._closed:
                return
            self._closed = True
        try:
            self._queue.put(_STOP, timeout=timeout)  # the worker is draining, so room appears
        except queue.Full:
            log.warning("memory bus queue still full after %.1fs; leaving the worker (daemon)", timeout)
            return
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning("memory bus worker still delivering after %.1fs; leaving it (daemon)", timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._deliver(cast(Event, item))
            finally:
                self._queue.task_done()

    def _deliver(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                self._handler_errors += 1
                log.exception("bus handler %r failed on event %s", handler, event.id)
            else:
                self._delivered += 1
