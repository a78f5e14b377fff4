"""A site's NATS connection for federation: its streams, durable publishing, one durable pull consumer.

Streams (see docs/federation.md):
- city: `SAFECITY_FED_OUT` captures `safecity.fed.<city>.>` only (the allow-list at the stream level);
  `SAFECITY_FED_IN` *sources* the parent's downlink stream through the leaf node (JetStream domain
  of the parent), filtered to `safecity.fedctl.<city>.>`.
- national: `SAFECITY_FED` has no subjects of its own; it *sources* each child's `SAFECITY_FED_OUT`
  through the child's JetStream domain (`$JS.<domain>.API`), filtered to `safecity.fed.<child>.>`;
  `SAFECITY_FED_DOWN` captures `safecity.fedctl.>`.
A city publishes into its own server's stream and gets its acknowledgement there: its operation never
waits for the national link. JetStream sourcing carries the stream across the leaf node, in order per
source, resuming from the last sourced sequence after a partition; the `Nats-Msg-Id` header keeps
de-duplication working on the national stream too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from safecity.bus.nats_loop import LoopThread, connect
from safecity.federation.config import FederationConfig
from safecity.federation.messages import DOWN_PREFIX, Envelope, decode, encode, msg_id

log = logging.getLogger(__name__)
API_TIMEOUT_S = 10.0
FETCH_WAIT_S = 0.5
STREAM_IN_USE = 10058


@dataclass(frozen=True, slots=True)
class Received:
    """One validated message with its place in the stream (for the ledger and the lag)."""

    envelope: Envelope
    msg_id: str
    stream_seq: int


Handler = Callable[[Sequence[Received]], None]


class FedLink:
    """One NATS connection (on its own loop thread, like the bus) for a site's federation streams."""

    def __init__(self, cfg: FederationConfig, name: str) -> None:
        self.cfg = cfg
        self._loop = LoopThread(name=f"fed-{name}")
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.rejected = 0  # messages outside the allow-list that reached a consumer (terminated)
        try:
            self.nc: Any = self._loop.call(connect(cfg.url, f"safecity-fed-{name}", 5.0), API_TIMEOUT_S)
            self.js: Any = self.nc.jetstream(timeout=API_TIMEOUT_S)
        except BaseException:
            self._loop.stop()
            raise

    def ensure_city_streams(self, site: str) -> None:
        from nats.js.api import ExternalStream, StreamConfig, StreamSource

        c = self.cfg
        self._ensure(StreamConfig(name=c.out_stream, subjects=[f"safecity.fed.{site}.>"], **self._common()))
        parent = StreamSource(
            name=c.down_stream,
            filter_subject=f"{DOWN_PREFIX}.{site}.>",
            external=ExternalStream(api=f"$JS.{c.parent_domain}.API"),
        )
        self._ensure(StreamConfig(name=c.in_stream, sources=[parent], **self._common()))

    def ensure_national_streams(self) -> None:
        from nats.js.api import ExternalStream, StreamConfig, StreamSource

        c = self.cfg
        sources = [
            StreamSource(
                name=s.stream, filter_subject=s.filter, external=ExternalStream(api=f"$JS.{s.domain}.API")
            )
            for s in c.sources
        ]
        self._ensure(StreamConfig(name=c.national_stream, sources=sources, **self._common()))
        self._ensure(StreamConfig(name=c.down_stream, subjects=[f"{DOWN_PREFIX}.>"], **self._common()))

    def _common(self) -> dict[str, Any]:
        from nats.js.api import StorageType

        c = self.cfg
        return {"storage": StorageType.FILE, "max_age": c.max_age_s, "duplicate_window": c.duplicate_window_s}

    def _ensure(self, config: Any) -> None:
        from nats.js.errors import APIError

        async def run() -> None:
            try:
                await self.js.add_stream(config)
            except APIError as exc:
                if exc.err_code != STREAM_IN_USE:
                    raise
                await self.js.update_stream(config)

        self._loop.call(run(), API_TIMEOUT_S)

    def publish(self, subject: str, env: Envelope, stream: str, timeout: float = API_TIMEOUT_S) -> bool:
        """Publish and wait for the local stream's acknowledgement; True when it was a new message."""
        return self.publish_many([(subject, env)], stream, timeout) == 1

    def publish_many(
        self, items: Sequence[tuple[str, Envelope]], stream: str, timeout: float = 3 * API_TIMEOUT_S
    ) -> int:
        """Publish a batch concurrently (one round trip per batch, not per message); new messages.

        No `Nats-Expected-Stream` header (nats-py's `stream=`): it would travel with the message into
        the national stream, which sources it under another name and would refuse it (error 10060).
        The acknowledgement names the stream that took it, checked here instead."""

        async def run() -> int:
            acks = await asyncio.gather(
                *(self.js.publish(s, encode(e), headers={"Nats-Msg-Id": msg_id(e)}) for s, e in items)
            )
            wrong = {a.stream for a in acks if a.stream != stream}
            if wrong:
                raise RuntimeError(f"federation messages were stored by {wrong}, not by {stream}")
            return sum(1 for a in acks if not a.duplicate)

        return self._loop.call(run(), timeout)

    def consume(self, stream: str, durable: str, handler: Handler, batch: int) -> None:
        """Run `handler` on batches of a durable pull consumer in a thread; ack after it returns."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=20,  # a message its handler keeps refusing stops being retried (and is logged)
            ack_wait=30.0,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, 4 * batch),
        )
        psub = self._loop.call(
            self.js.pull_subscribe("", durable=durable, stream=stream, config=config), API_TIMEOUT_S
        )
        t = threading.Thread(
            target=self._pull, args=(psub, handler, batch), name=f"fed-{durable}", daemon=True
        )
        self._threads.append(t)
        t.start()

    def _pull(self, psub: Any, handler: Handler, batch: int) -> None:
        while not self._stop.is_set():
            try:
                msgs = self._loop.call(psub.fetch(batch, timeout=FETCH_WAIT_S), FETCH_WAIT_S + API_TIMEOUT_S)
            except TimeoutError:
                continue
            except Exception as exc:
                if not self._loop.alive:
                    return
                log.warning("federation fetch failed: %s", exc)
                self._stop.wait(1.0)
                continue
            checked = [(m, self._validate(m)) for m in msgs]
            good = [r for _, r in checked if r is not None]
            bad = [m for m, r in checked if r is None]
            kept = [m for m, r in checked if r is not None]
            try:
                handler(good)
            except Exception:
                log.exception("federation handler failed on a batch of %d; redelivered later", len(good))
                self._loop.submit(_settle(self.js, kept, bad, ack=False))
                continue
            self._loop.submit(_settle(self.js, kept, bad, ack=True))

    def _validate(self, m: Any) -> Received | None:
        try:
            env = decode(m.data)
        except ValueError:
            # the content is not logged: a message outside the allow-list is exactly what must not spread
            self.rejected += 1
            log.error(
                "federation: rejected a message on %s (seq %d): not an allow-listed kind",
                m.subject,
                m.metadata.sequence.stream,
            )
            return None
        hid = (m.headers or {}).get("Nats-Msg-Id") or msg_id(env)
        return Received(env, hid, int(m.metadata.sequence.stream))

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(FETCH_WAIT_S + API_TIMEOUT_S)
        with contextlib.suppress(Exception):
            self._loop.call(self.nc.close(), API_TIMEOUT_S)
        self._loop.stop()


async def _settle(js: Any, kept: Sequence[Any], bad: Sequence[Any], *, ack: bool) -> None:
    """Ack (or nak for redelivery) what was handled; terminate and erase what failed validation."""
    for m in bad:
        await m.term()
        # and erase it from this site's stream storage (overwritten, not just unlinked): a message
        # outside the allow-list must not stay on the national disk until max_age either
        meta = m.metadata
        with contextlib.suppress(Exception):
            await js.delete_msg(meta.stream, meta.sequence.stream)
    for m in kept:
        await (m.ack() if ack else m.nak(delay=2.0))
