"""An asyncio event loop in a dedicated thread, owning one NATS connection, called from sync code.

Why a thread: nats-py is asyncio-only, while everything that talks to the bus is synchronous and
threaded: camera workers publish from their analysis threads, the store writer runs blocking
SQLAlchemy calls, the CLI is plain functions. Running the client's loop in its own thread keeps one
connection (with its reconnect logic, heartbeats and pending-ack bookkeeping) alive independently of
any caller, lets producers hand events over without ever awaiting, and keeps blocking handlers off the
loop (they run in their own threads and only schedule acks here). The alternatives are worse: an
asyncio rewrite of the pipeline, or a loop per call (which would drop the connection between calls).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoopThread:
    """A running event loop in a daemon thread; `call` runs a coroutine there and waits for it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule `coro` on the loop; the caller may wait on the returned future or not."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopThread.submit from the loop thread would deadlock a waiting caller")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and return its result; TimeoutError (and cancel) after `timeout`."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer from the NATS loop within {timeout}s") from None

    def call_soon(self, callback: Any, *args: Any) -> None:
        """Run a plain callback on the loop (thread-safe, non-blocking)."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is still running on the loop, stop it and join the thread. Idempotent."""
        if not self.alive:
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(_cancel_all(), timeout)
        except (TimeoutError, RuntimeError) as exc:
            log.warning("NATS loop: tasks did not stop in %.1fs: %s", timeout, exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


async def connect(url: str, name: str, timeout: float, options: dict[str, Any] | None = None) -> Any:
    """Connect to NATS (comma-separated servers), reconnecting forever after the first success.

    The first connection fails fast (ConnectionError naming the URL) so a misconfigured node says so at
    start; once connected, the client rides out server restarts and keeps its subscriptions.
    """
    try:
        import nats
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("bus.type: nats needs nats-py: pip install 'safecity[scaleout]'") from exc

    async def _log_error(exc: Exception) -> None:
        log.debug("NATS %s: %s", name, exc)

    async def _disconnected() -> None:
        log.info("NATS %s: disconnected from %s", name, url)

    async def _reconnected() -> None:
        log.info("NATS %s: reconnected", name)

    servers = [s.strip() for s in url.split(",") if s.strip()]
    first = nats.connect(
        servers=servers,
        name=name,
        connect_timeout=max(1, int(timeout)),
        allow_reconnect=True,
        max_reconnect_attempts=-1,  # nats-py retries the *first* connection forever too: hence wait_for
        reconnect_time_wait=1,
        error_cb=_log_error,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        **(options or {}),  # TLS and credentials (safecity.bus.nats_security.connect_options)
    )
    try:
        return await asyncio.wait_for(first, timeout)
    except Exception as exc:
        raise ConnectionError(f"cannot connect to NATS at {url}: {exc!r}") from exc
