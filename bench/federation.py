"""Federation: three cities publishing alerts + events into their federation streams, one national site.

Real servers: one nats-server per site (leaf nodes, JetStream domains, the city's FED account, as
tests/support/federation_sites.py sets them up), one PostgreSQL database per site. Each city publishes
`--rate` messages/s (90% `EventSummary`, 10% `AlertSummary`) with the agent's own call
(`FedLink.publish_many`, 10 batches/s) into its own `SAFECITY_FED_OUT`; the national stream sources
them over the leaf nodes; the national consumer (`NationalSite`, in a child process) writes them into
its database. Measured:
- steady phase: national ingest rate, propagation lag p50/p95/p99 (city publish -> national commit,
  from the ledger `fed_messages`: `received_at - sent_at`, one clock);
- partition: the national nats-server is stopped for `--partition` s while the cities go on, then
  restarted: catch-up time (restart -> every message of the run in the national store), exactly-once;
- CPU (s of CPU per s of wall, i.e. cores) and peak RSS of the national consumer process and of the
  national nats-server over the run.

    PYTHONPATH=src:tests .venv/bin/python bench/federation.py [--rate 500] [--seconds 20] [--partition 60]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.federation.config import FederationConfig
from safecity.federation.link import FedLink
from safecity.federation.messages import AlertSummary, Envelope, EventSummary, up_subject
from safecity.federation.models import FedMessageRow

# the test suite's process helpers (tests/support), so the script runs without PYTHONPATH
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.federation_sites import Site, federation

CITIES = ("rome", "milan", "naples")
TICK_S = 0.1


def national(cfg_json: str, url: str, stop: Any, out: Any) -> None:
    from safecity.federation.national import NationalSite
    from safecity.store.engine import make_engine

    site = NationalSite(FederationConfig.model_validate_json(cfg_json), make_engine(url))
    cpu0, t0 = time.process_time(), time.monotonic()
    stop.wait()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    site.close()
    out.put(
        {"cpu_cores": cpu / wall, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    )


def bodies(city: str, n: int, seq: int) -> list[Any]:
    now = datetime.now(UTC)
    out: list[Any] = []
    for i in range(n):
        if (seq + i) % 10 == 0:
            out.append(
                AlertSummary(
                    alert_id=seq + i,
                    alert_kind="crowding",
                    severity="high",
                    status="open",
                    title="Crowding",
                    camera_id=f"{city}-cam{i % 8}",
                    zone_id="piazza",
                    occurrences=1,
                    first_seen=now,
                    last_seen=now,
                )
            )
        else:
            out.append(
                EventSummary(
                    event_id=uuid.uuid4().hex,
                    event_kind="line_crossing",
                    camera_id=f"{city}-cam{i % 8}",
                    at=now,
                    label="person",
                    line_id="gate",
                    direction="in",
                )
            )
    return out


class Publisher(threading.Thread):
    """One city's agent publishing at `rate` messages/s until stopped; counts what its stream took."""

    def __init__(self, site: Site, rate: int) -> None:
        super().__init__(daemon=True)
        self.site, self.rate, self.sent, self.behind = site, rate, 0, 0.0
        self.link = FedLink(site.cfg, f"bench-{site.id}")
        self.link.ensure_city_streams(site.id)  # as the city agent does at start
        self.stop = threading.Event()

    def run(self) -> None:
        per_tick, nxt = max(1, int(self.rate * TICK_S)), time.monotonic()
        while not self.stop.is_set():
            now = datetime.now(UTC)
            items = [
                (up_subject(self.site.id, b.kind), Envelope(site=self.site.id, sent_at=now, body=b))
                for b in bodies(self.site.id, per_tick, self.sent)
            ]
            self.link.publish_many(items, self.site.cfg.out_stream)
            self.sent += per_tick
            nxt += TICK_S
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self.behind = max(self.behind, -delay)


def proc_cpu_rss(pid: int) -> tuple[float, float]:
    """CPU seconds and current RSS (MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return ticks / 100.0, rss_pages * resource.getpagesize() / 2**20


def ledger(site: Site, since: datetime | None = None) -> list[tuple[datetime, datetime]]:
    with Session(site.engine) as db:
        q = select(FedMessageRow.sent_at, FedMessageRow.received_at)
        if since is not None:
            q = q.where(FedMessageRow.sent_at >= since)
        return [(s, r) for s, r in db.execute(q)]


def stored(site: Site) -> int:
    with Session(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(FedMessageRow)) or 0)


def sourced_count(site: Site) -> int:
    probe = FedLink(site.cfg, "bench-probe")
    try:
        info = probe._loop.call(probe.js.stream_info(site.cfg.national_stream), 10)
        return int(info.state.messages)
    finally:
        probe.close()


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=500, help="messages/s per city (alerts + events)")
    ap.add_argument("--seconds", type=float, default=20.0, help="steady phase")
    ap.add_argument("--partition", type=float, default=60.0, help="seconds the national server is down")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, federation(Path(tmp), CITIES) as sites:
        nat = sites["national"]
        ctx = mp.get_context("spawn")
        stop, out = ctx.Event(), ctx.Queue()
        child = ctx.Process(target=national, args=(nat.cfg.model_dump_json(), nat.db_url, stop, out))
        child.start()
        time.sleep(3)  # the national site binds its consumer and sources
        assert nat.nats.proc is not None
        nats_cpu0, _ = proc_cpu_rss(nat.nats.proc.pid)
        t_start = time.monotonic()
        pubs = [Publisher(sites[c], args.rate) for c in CITIES]
        warm = datetime.now(UTC)
        for p in pubs:
            p.start()
        time.sleep(args.seconds)
        steady_end = datetime.now(UTC)
        steady_sent = sum(p.sent for p in pubs)
        sourced, ledgered = sourced_count(nat), stored(nat)  # where a backlog sits: sourcing or consumer
        time.sleep(2)
        rows = ledger(nat, warm)
        steady = [(s, r) for s, r in rows if s <= steady_end]
        lags = [(r - s).total_seconds() for s, r in steady]
        span = (max(r for _, r in steady) - min(s for s, _ in steady)).total_seconds() if steady else 0.0
        nats_cpu1, nats_rss_steady = proc_cpu_rss(nat.nats.proc.pid)
        nats_cores = (nats_cpu1 - nats_cpu0) / (time.monotonic() - t_start)

        nat.nats.stop()
        time.sleep(args.partition)
        nat.nats.start()
        restarted = time.monotonic()
        nats_pid = nat.nats.proc.pid
        for p in pubs:
            p.stop.set()
        for p in pubs:
            p.join()
        total = sum(p.sent for p in pubs)
        while stored(nat) < total and time.monotonic() - restarted < 600:
            time.sleep(0.2)
        catch_up = time.monotonic() - restarted
        have = stored(nat)
        _, nats_rss = proc_cpu_rss(nats_pid)
        stop.set()
        res = out.get(timeout=60)
        child.join(30)
        for p in pubs:
            p.link.close()
    print(
        f"cities: {len(CITIES)}, offered {args.rate} msg/s each (90% events, 10% alerts); "
        f"publishers fell behind by up to {max(p.behind for p in pubs):.2f} s"
    )
    print(
        f"steady {args.seconds:.0f} s: {len(steady)} messages (~{steady_sent} published) stored, ingest "
        f"{len(steady) / span if span else 0:.0f} msg/s; propagation lag p50 {pct(lags, 50) * 1000:.0f} ms, "
        f"p95 {pct(lags, 95) * 1000:.0f} ms, p99 {pct(lags, 99) * 1000:.0f} ms"
    )
    print(
        f"at the end of the steady phase: {steady_sent} published, {sourced} in the national stream, "
        f"{ledgered} in the national database"
    )
    print(
        f"partition {args.partition:.0f} s (national nats-server stopped, cities publishing): catch-up "
        f"{catch_up:.1f} s after the restart; stored {have} of {total} published (exactly once: "
        f"{'yes' if have == total else 'NO'})"
    )
    print(
        f"national consumer process: {res['cpu_cores']:.2f} cores on average, "
        f"peak RSS {res['max_rss_mb']:.0f} MB"
    )
    print(
        f"national nats-server: {nats_cores:.2f} cores on average in the steady phase, "
        f"RSS {nats_rss_steady:.0f} MB steady, {nats_rss:.0f} MB after catch-up"
    )


if __name__ == "__main__":
    main()
