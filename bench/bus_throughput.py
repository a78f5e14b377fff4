"""Events through NATS JetStream into PostgreSQL: sustained events/s and end-to-end latency.

A publisher (this process, `NatsBus.publish`, the camera workers' call) offers events at fixed rates and
then as fast as it can; a store writer in another process (`NatsBus` durable consumer `store` +
`StoreWriter`, one transaction per fetched batch: what `safecity consume` runs) writes them into
PostgreSQL. Latency is per event: wall time of the `publish` call -> wall time the writer's commit
returned (both processes on this host, one clock). Each phase reports the achieved rate (events /
(last commit - first publish)) and p50/p95/p99 latency. A fresh stream and a fresh PostgreSQL schema
are created and dropped.

    .venv/bin/python bench/bus_throughput.py [--rates 500 1000 2000] [--seconds 10] [--burst 20000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--nats-url nats://127.0.0.1:4222]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safecity.app import StoreWriter
from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus
from safecity.store import EventQuery, open_store
from safecity.types import Event, EventKind


class TimedWriter(StoreWriter):
    """The production writer, noting when each batch's commit returned."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.committed: dict[str, float] = {}

    def handle_batch(self, events: Sequence[Event]) -> None:
        super().handle_batch(events)
        now = time.time()
        self.committed.update((e.id, now) for e in events)


def consumer(cfg_json: str, url: str, out: str, ready: Any, stop: Any) -> None:
    store = open_store(url)
    bus = NatsBus(BusConfig.model_validate_json(cfg_json), name="bench-writer")
    writer = TimedWriter(store)
    bus.subscribe(writer, durable="store")
    ready.set()
    stop.wait()
    bus.close()
    store.close()
    Path(out).write_text(json.dumps(writer.committed))


def event(i: int) -> Event:
    now = datetime.now(UTC)
    return Event(
        camera_id=f"cam-{i % 50}", kind=EventKind.LINE_CROSSING, start=now, end=now, label="person",
        track_id=i, line_id="door", direction="in", count=i, snapshot=f"snapshots/cam/{i}.jpg",
    )  # fmt: skip


def offer(bus: NatsBus, rate: float | None, seconds: float, burst: int) -> dict[str, float]:
    """Publish at `rate` events/s for `seconds` (or `burst` events at once); id -> publish wall time."""
    sent: dict[str, float] = {}
    if rate is None:
        for i in range(burst):
            e = event(i)
            sent[e.id] = time.time()
            bus.publish(e)
        return sent
    start, i = time.monotonic(), 0
    while (elapsed := time.monotonic() - start) < seconds:
        while i < rate * elapsed:
            e = event(i)
            sent[e.id] = time.time()
            bus.publish(e)
            i += 1
        time.sleep(0.002)
    return sent


def report(name: str, sent: dict[str, float], committed: dict[str, float]) -> None:
    lat = sorted((committed[k] - t) * 1000 for k, t in sent.items() if k in committed)
    missing = len(sent) - len(lat)
    span = max(committed[k] for k in sent if k in committed) - min(sent.values())
    q = statistics.quantiles(lat, n=100)
    print(
        f"{name:>14}: {len(sent):6d} events, {len(lat) / span:7.0f} events/s sustained, latency ms "
        f"p50 {q[49]:6.1f}  p95 {q[94]:6.1f}  p99 {q[98]:6.1f}  max {lat[-1]:6.1f}"
        + (f"  MISSING {missing}" if missing else "")
    )


def fresh_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=float, nargs="*", default=[500, 1000, 2000])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--burst", type=int, default=20000, help="then this many at once (0: skip)")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    args = ap.parse_args()

    tag = uuid.uuid4().hex[:10]
    cfg = BusConfig(
        type="nats", url=args.nats_url, stream=f"BENCH_{tag}", subject_prefix=f"bench{tag}.events",
        outbox_size=max(100_000, args.burst), max_age_s=3600,
    )  # fmt: skip
    schema, url = fresh_schema(args.database_url)
    store = open_store(url)  # migrated before the writer starts
    publisher = NatsBus(cfg, name="bench-publisher")
    out = Path(f"/tmp/bench-bus-{tag}.json")
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=consumer, args=(cfg.model_dump_json(), url, str(out), ready, stop))
    proc.start()
    try:
        assert ready.wait(60), "the writer process did not start"
        phases: list[tuple[str, dict[str, float]]] = []
        total = 0
        plan: list[float | None] = [*args.rates, *([None] if args.burst else [])]
        for rate in plan:
            sent = offer(publisher, rate, args.seconds, args.burst)
            total += len(sent)
            deadline = time.monotonic() + 120
            while store.count(EventQuery()) < total and time.monotonic() < deadline:
                time.sleep(0.05)
            phases.append((f"{rate:.0f}/s offered" if rate else "burst", sent))
        stop.set()
        proc.join(60)
        committed = json.loads(out.read_text())
        print(
            f"JetStream ({args.nats_url}) -> PostgreSQL, durable consumer 'store', batch {cfg.fetch_batch}:"
        )
        for name, sent in phases:
            report(name, sent, committed)
        print(
            f"publisher: {publisher.published} stored, {publisher.dropped} dropped, {publisher.failed} failed"
        )
    finally:
        if proc.is_alive():
            proc.kill()
        publisher._loop.call(publisher.js.delete_stream(cfg.stream), 10)
        publisher.close()
        store.close()
        drop_schema(args.database_url, schema)
        out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
