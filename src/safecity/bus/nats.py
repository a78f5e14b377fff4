"""NATS JetStream bus: a durable event stream, durable pull consumers, at-least-once delivery.

Publishing: an event goes to `<subject_prefix>.<camera_id>.<kind>` on the stream `bus.stream` (file
storage, `max_age_s`), with the event id as `Nats-Msg-Id`, so the server drops a second publish of the
same event within `duplicate_window_s` (a retried publish whose first ack was lost is stored once).
`publish` never waits for the server: it puts the event in a bounded outbox (DESIGN: bounded queues,
non-blocking put; a full outbox drops and counts) and up to `max_in_flight` publisher tasks on the
NATS loop send it and await its ack, retrying for `publish_retry_s` while the server is away.

Consuming: `subscribe(handler, durable="store")` binds a durable pull consumer of that name (created
with explicit ack, deliver-all, on first use); every process that subscribes with the same name shares
its work. A delivery thread per subscription fetches batches and calls `handler(event)`; the event is
acked only after the handler returns (a `BatchHandler`, like the store writer, gets the whole fetched
batch in one call: one transaction), and nak'ed (redelivered with a growing delay, up to
`max_deliver` times) if it raises. So delivery is at-least-once: a consumer killed after its handler
ran but before the ack reached the server sees the event again, and handlers are idempotent (the
store writes `INSERT ... ON CONFLICT (id) DO NOTHING`). `subscribe(handler)` without a name binds an
ephemeral consumer from "now on" (a live view: each API node gets every event); it goes away with
the connection. The asyncio client runs in its own thread: see `safecity.bus.nats_loop` for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from safecity.bus.base import BatchHandler, Handler, Unsubscribe
from safecity.bus.codec import event_from_json, event_to_json
from safecity.bus.config import BusConfig
from safecity.bus.nats_loop import LoopThread, connect
from safecity.bus.nats_security import connect_options
from safecity.types import Event

log = logging.getLogger(__name__)

FETCH_WAIT_S = 0.5  # how long one pull request waits for events (bounds how fast a consumer stops)
SWEEP_S = 0.02  # how long the follow-up request of a batch may wait for more events
API_TIMEOUT_S = 10.0
EPHEMERAL_INACTIVE_S = 60.0  # the server removes an ephemeral consumer this long after its client left
STREAM_IN_USE = 10058  # JetStream API error: stream name already in use (with another configuration)


def subject_for(prefix: str, event: Event) -> str:
    """`<prefix>.<camera_id>.<kind>`; dots inside a camera id become `_` (a dot splits subject tokens)."""
    return f"{prefix}.{event.camera_id.replace('.', '_')}.{event.kind.value}"


@dataclass(frozen=True, slots=True)
class _Outgoing:
    subject: str
    data: bytes
    msg_id: str


class NatsBus:
    """`Bus` on NATS JetStream; see the module docstring for the delivery model."""

    def __init__(self, cfg: BusConfig, *, name: str = "safecity") -> None:
        self.cfg = cfg
        self._loop = LoopThread(name=f"nats-{name}")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._pending = 0
        self._subs: list[_Subscription] = []
        self.published = 0  # events stored by the server (first copies)
        self.duplicates = 0  # publishes the server recognised as duplicates
        self.dropped = 0  # refused because the outbox was full
        self.failed = 0  # given up after publish_retry_s
        self.delivered = 0  # successful handler calls
        self.handler_errors = 0  # handler calls that raised (the event is redelivered)
        try:
            self.nc: Any = self._loop.call(
                connect(cfg.url, name, cfg.connect_timeout_s, connect_options(cfg)), API_TIMEOUT_S
            )
            self.js: Any = self.nc.jetstream(timeout=API_TIMEOUT_S)
            self._loop.call(self._ensure_stream(), API_TIMEOUT_S)
            self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
            for _ in range(cfg.max_in_flight):
                self._loop.submit(self._publisher())
        except BaseException:
            self._loop.stop()
            raise

    # -- publishing -------------------------------------------------------------------------------

    async def _ensure_stream(self) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import APIError

        c = self.cfg
        config = StreamConfig(
            name=c.stream,
            subjects=[f"{c.subject_prefix}.>"],
            storage=StorageType.FILE if c.storage == "file" else StorageType.MEMORY,
            max_age=c.max_age_s,
            duplicate_window=c.duplicate_window_s,
            num_replicas=c.replicas,
        )
        try:
            await self.js.add_stream(config)
        except APIError as exc:
            if exc.err_code != STREAM_IN_USE:
                raise
            await self.js.update_stream(config)  # e.g. a new max_age; JetStream refuses unsafe changes

    def publish(self, event: Event) -> None:
        """Hand `event` to the publisher without blocking; drop (and count) it if the outbox is full."""
        item = _Outgoing(subject_for(self.cfg.subject_prefix, event), event_to_json(event), event.id)
        with self._lock:
            if self._closed:
                raise RuntimeError("publish on a closed bus")
            if self._pending >= self.cfg.outbox_size:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("NATS outbox full: %d event(s) dropped so far", self.dropped)
                return
            self._pending += 1
        self._loop.call_soon(self._outbox.put_nowait, item)

    async def _publisher(self) -> None:
        while True:
            item = await self._outbox.get()
            try:
                await self._publish_one(item)
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()

    async def _publish_one(self, item: _Outgoing) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.publish_retry_s
        delay = 0.1
        while True:
            try:
                ack = await self.js.publish(
                    item.subject, item.data, stream=self.cfg.stream, headers={"Nats-Msg-Id": item.msg_id}
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if loop.time() + delay > deadline:
                    self.failed += 1
                    log.error(
                        "event %s not published after %.0fs: %s", item.msg_id, self.cfg.publish_retry_s, exc
                    )
                    return
                log.debug("publish of %s failed (%s); retrying in %.1fs", item.msg_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if ack.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
            return

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every accepted event has been published (or given up); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- consuming --------------------------------------------------------------------------------

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        """Deliver events to `handler` on a thread of its own; see the module docstring."""
        with self._lock:
            if self._closed:
                raise RuntimeError("subscribe on a closed bus")
        sub = _Subscription(self, handler, durable)
        with self._lock:
            self._subs.append(sub)

        def unsubscribe() -> None:
            with self._lock:
                if sub not in self._subs:
                    return
                self._subs.remove(sub)
            sub.stop()

        return unsubscribe

    def _count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.delivered += 1
            else:
                self.handler_errors += 1

    def consumer_info(self, durable: str) -> Any:
        """The server's view of a durable consumer (pending, ack pending, redelivered)."""
        return self._loop.call(self.js.consumer_info(self.cfg.stream, durable), API_TIMEOUT_S)

    def stream_info(self) -> Any:
        return self._loop.call(self.js.stream_info(self.cfg.stream), API_TIMEOUT_S)

    def close(self, timeout: float = 10.0) -> None:
        """Publish what is queued, stop the consumers, close the connection. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subs, self._subs = self._subs, []
        if not self.drain(timeout):
            log.warning("NATS bus closing with %d event(s) still unpublished", self._pending)
        for sub in subs:
            sub.stop()
        try:
            self._loop.call(self.nc.close(), timeout)
        except Exception as exc:
            log.warning("NATS close: %s", exc)
        self._loop.stop()


async def _ack_all(msgs: list[Any]) -> None:
    for msg in msgs:
        await msg.ack()


async def _nak_all(msgs: list[Any]) -> None:
    for msg in msgs:
        await msg.nak()


class _Subscription:
    """One pull consumer and the thread that fetches from it and runs the handler."""

    def __init__(self, bus: NatsBus, handler: Handler, durable: str | None) -> None:
        self.bus = bus
        self.handler = handler
        self.durable = durable
        self._stop = threading.Event()
        self.psub: Any = bus._loop.call(self._bind(), API_TIMEOUT_S)  # bound before subscribe returns
        name = durable or "ephemeral"
        self._thread = threading.Thread(target=self._run, name=f"nats-consumer-{name}", daemon=True)
        self._thread.start()

    async def _bind(self) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        c = self.bus.cfg
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=c.ack_wait_s,
            max_deliver=c.max_deliver,
            max_ack_pending=max(1000, 10 * c.fetch_batch),
            deliver_policy=DeliverPolicy.ALL if self.durable else DeliverPolicy.NEW,
            inactive_threshold=None if self.durable else EPHEMERAL_INACTIVE_S,
        )
        return await self.bus.js.pull_subscribe(
            f"{c.subject_prefix}.>", durable=self.durable, stream=c.stream, config=config
        )

    def _run(self) -> None:
        loop, batch = self.bus._loop, self.bus.cfg.fetch_batch
        backoff = 0.1
        while not self._stop.is_set():
            try:
                msgs = loop.call(self._fetch(batch), FETCH_WAIT_S + SWEEP_S + API_TIMEOUT_S)
            except TimeoutError:  # nats' fetch timeout (no events) is a TimeoutError too
                continue
            except Exception as exc:  # disconnected: the client reconnects; keep asking
                if not loop.alive:
                    return
                log.warning("consumer %s: fetch failed: %s", self.durable or "ephemeral", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            decoded = [(msg, event) for msg in msgs if (event := self._decode(msg)) is not None]
            if self._handle_batch(decoded):
                continue
            for i, (msg, event) in enumerate(decoded):
                if self._stop.is_set():  # hand the rest back at once rather than after ack_wait
                    loop.submit(_nak_all([rest for rest, _ in decoded[i:]]))
                    return
                self._handle(msg, event)

    async def _fetch(self, batch: int) -> list[Any]:
        """Wait for one event, then take what else is there (up to `batch`) without waiting long.

        One `fetch(batch)` would be simpler, but after its first event nats-py waits for the batch to
        fill until the request expires: at low rates every event would wait `FETCH_WAIT_S`."""
        msgs: list[Any] = await self.psub.fetch(1, timeout=FETCH_WAIT_S)
        if batch > 1:
            with contextlib.suppress(TimeoutError):
                msgs += await self.psub.fetch(batch - 1, timeout=SWEEP_S)
        return msgs

    def _decode(self, msg: Any) -> Event | None:
        try:
            return event_from_json(msg.data)
        except ValueError as exc:
            log.error("consumer %s: dropping a malformed event: %s", self.durable or "ephemeral", exc)
            self.bus._loop.submit(msg.term())
            return None

    def _handle_batch(self, decoded: list[tuple[Any, Event]]) -> bool:
        """Give a `BatchHandler` the whole batch at once; False: handle the events one by one."""
        if len(decoded) < 2 or not isinstance(self.handler, BatchHandler):
            return False
        try:
            self.handler.handle_batch([event for _, event in decoded])
        except Exception as exc:
            log.warning("batch of %d failed (%s); handling its events one by one", len(decoded), exc)
            return False
        with self.bus._lock:
            self.bus.delivered += len(decoded)
        self.bus._loop.submit(_ack_all([msg for msg, _ in decoded]))  # one hop to the loop, not one per event
        return True

    def _handle(self, msg: Any, event: Event) -> None:
        loop = self.bus._loop
        try:
            self.handler(event)
        except Exception:
            self.bus._count(ok=False)
            delivered = msg.metadata.num_delivered
            log.exception("handler %r failed on event %s (delivery %d)", self.handler, event.id, delivered)
            loop.submit(msg.nak(delay=min(0.5 * 2**delivered, 30.0)))
            return
        self.bus._count(ok=True)
        loop.submit(msg.ack())

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(FETCH_WAIT_S + API_TIMEOUT_S)
        try:
            self.bus._loop.call(self.psub.unsubscribe(), API_TIMEOUT_S)
        except Exception as exc:
            log.debug("unsubscribe: %s", exc)
        if self.durable is None:  # an ephemeral consumer would otherwise linger until inactive_threshold
            try:
                name = self.psub._consumer
                self.bus._loop.call(self.bus.js.delete_consumer(self.bus.cfg.stream, name), API_TIMEOUT_S)
            except Exception as exc:
                log.debug("deleting ephemeral consumer: %s", exc)
