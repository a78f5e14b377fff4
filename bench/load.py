"""API load on one `safecity serve` node on PostgreSQL (locust as a library), and a public-report flood.

    .venv/bin/python bench/load.py [--users 200] [--seconds 600] [--rate 50]      # operators browsing
    .venv/bin/python bench/load.py --scenario reports [--seconds 60] [--rps 100]   # public form flood

`api`: N signed-in operator sessions (cookie login, as the UI) browse alerts, events, incidents and
analytics with 1-3 s think time while a publisher puts `--rate` events/s on the node's bus (stored and
pushed live as a camera's would be). Printed: requests, failures, p50/p95/p99 per endpoint and overall,
and the node's RSS sampled every 10 s (growth = last - first after warm-up).
`reports`: `--rps` submissions/s from many client addresses (X-Forwarded-For from the trusted local
proxy), each address sending a few: counts by status (201 landed, 429 rate limited, 4xx, 5xx) and the
reports stored. Targets (issue 17): p95 < 300 ms, zero errors, flat RSS; reports: no 5xx, limits work.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # locust (gevent) must patch before anything else imports ssl / sockets

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from deployment import (  # noqa: E402
    PASSWORD,
    CpuClock,
    Deployment,
    deployment,
    loadavg,
    profiling,
    publishing,
    quantile,
)
from safecity.api.deps import SESSION_COOKIE  # noqa: E402

SESSIONS: list[str] = []
EVENTS_ALONE_S = 20.0


class Operator(FastHttpUser):
    """geventhttpclient (locust's FastHttpUser), not `requests`: the client shares the node's 2 cores, and
    HttpUser cost it ~3.4 ms of CPU per request (a third of the node's own cost), stolen from the node."""

    wait_time = between(1, 3)
    headers: dict[str, str]

    def on_start(self) -> None:
        # a session made beforehand (see seed_sessions): 200 argon2 logins at once would measure only those
        self.headers = {"Cookie": f"{SESSION_COOKIE}={SESSIONS.pop()}"}

    def get(self, path: str, name: str) -> None:
        self.client.get(path, name=name, headers=self.headers)

    @task(3)
    def alerts(self) -> None:
        self.get("/api/alerts?limit=50", "alerts")

    @task(3)
    def events(self) -> None:
        self.get("/api/events?limit=50", "events")

    @task(2)
    def incidents(self) -> None:
        self.get("/api/incidents?limit=50", "incidents")

    @task(1)
    def analytics(self) -> None:
        self.get("/api/analytics/sites", "analytics/sites")

    @task(1)
    def me(self) -> None:
        self.get("/api/auth/me", "me")


def seed_sessions(dep: Deployment, n: int) -> list[str]:
    """`n` real login sessions of the operator accounts, created as the login endpoint creates them."""
    from sqlalchemy.orm import Session

    from safecity.accounts.sessions import create_session
    from safecity.accounts.users import get_user_by_name
    from safecity.store import make_engine

    engine = make_engine(dep.pg.url)
    tokens = []
    with Session(engine) as db:
        for i in range(n):
            user = get_user_by_name(db, dep.users[i % len(dep.users)])
            assert user is not None
            tokens.append(create_session(db, user, timedelta(hours=2), client_ip="127.0.0.1").token)
        db.commit()
    engine.dispose()
    return tokens


def time_logins(dep: Deployment, n: int) -> list[float]:
    """The login endpoint itself (argon2 verification), one at a time."""
    import requests

    out = []
    for i in range(n):
        t0 = time.perf_counter()
        body = {"username": dep.users[i % len(dep.users)], "password": PASSWORD}
        requests.post(f"{dep.base}/api/auth/login", json=body, timeout=60).raise_for_status()
        out.append(time.perf_counter() - t0)
    return out


def run_api(dep: Deployment, users: int, seconds: float, rate: float, profile: str | None = None) -> None:
    SESSIONS[:] = seed_sessions(dep, users)
    logins = time_logins(dep, 5)
    print(
        f"login (sequential, argon2): p50={quantile(logins, 0.5) * 1000:.0f} max={max(logins) * 1000:.0f} ms"
    )
    env = Environment(user_classes=[Operator], host=dep.base, events=events)
    runner = env.create_local_runner()
    rss: list[tuple[float, float]] = []
    with publishing(dep, rate) as publisher:
        # the events alone first (stored and pushed, no user): their cost is subtracted per request below
        idle0, t_idle = dep.cpu_s(), time.monotonic()
        gevent.sleep(EVENTS_ALONE_S)
        events_cores = (dep.cpu_s() - idle0) / (time.monotonic() - t_idle)
    with publishing(dep, rate) as publisher, profiling(dep.serve.proc.pid, profile, seconds):
        cpu0 = dep.cpu_s()
        client, feeder = CpuClock(), CpuClock(publisher.pid)
        start = time.monotonic()
        runner.start(users, spawn_rate=max(1, users / 10))
        while (t := time.monotonic() - start) < seconds:
            rss.append((t, dep.rss_mb()))
            gevent.sleep(min(10.0, max(0.1, seconds - t)))
        runner.quit()
        cpu = dep.cpu_s() - cpu0
        client_cpu, feeder_cpu = client.elapsed(), feeder.elapsed()
    total = env.stats.total
    print(f"{users} operators, {seconds:.0f} s, {rate}/s events published; node RSS MB over time:")
    print("  " + "  ".join(f"{t:.0f}s:{mb:.0f}" for t, mb in rss))
    warm = [mb for t, mb in rss if t >= min(60.0, seconds / 3)]
    if len(warm) >= 2:
        print(f"  RSS growth after warm-up: {warm[-1] - warm[0]:+.0f} MB")
    for name, entry in sorted(env.stats.entries.items()):
        print(f"  {name[1]:4} {name[0]:18} n={entry.num_requests:6} fail={entry.num_failures:4} "
              f"p50={entry.get_response_time_percentile(0.5):6.0f} "
              f"p95={entry.get_response_time_percentile(0.95):6.0f} ms")  # fmt: skip
    p50, p95, p99 = (total.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99))
    print(f"TOTAL n={total.num_requests} failures={total.num_failures} rps={total.total_rps:.1f} "
          f"p50={p50:.0f} p95={p95:.0f} p99={p99:.0f} ms")  # fmt: skip
    per_request = cpu * 1000 / max(total.num_requests, 1)
    print(f"node CPU {cpu:.0f} s ({cpu / max(seconds, 1):.2f} cores), {per_request:.1f} ms per request "
          f"(events and live push included); load average {loadavg()}")  # fmt: skip
    api_ms = (cpu - events_cores * seconds) * 1000 / max(total.num_requests, 1)
    print(f"  of which the events alone (no user, measured first): {events_cores:.2f} cores; the API: "
          f"{api_ms:.1f} ms per request")  # fmt: skip
    print(f"client (this process) CPU {client_cpu:.0f} s ({client_cpu / max(seconds, 1):.2f} cores), "
          f"{client_cpu * 1000 / max(total.num_requests, 1):.1f} ms per request; publisher CPU "
          f"{feeder_cpu:.0f} s ({feeder_cpu / max(seconds, 1):.2f} cores)")  # fmt: skip
    for err in env.stats.errors.values():
        print(f"  error x{err.occurrences}: {err.method} {err.name}: {err.error}")


def run_reports(dep: Deployment, seconds: float, rps: float, per_address: int) -> None:
    import requests

    cats = requests.get(f"{dep.base}/api/public/report-options", timeout=10).json()["categories"]
    category = cats[0]["id"] if isinstance(cats[0], dict) else cats[0]
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def submit(i: int) -> None:
        a = i // per_address
        address = f"10.{a // 65536 % 256}.{a // 256 % 256}.{a % 256}"
        form = {"category": category, "description": f"flood report {i}", "lat": "51.44", "lon": "-0.94",
                "observed_at": datetime.now(UTC).isoformat()}  # fmt: skip
        t0 = time.perf_counter()
        try:
            r = requests.post(f"{dep.base}/api/public/reports", data=form, timeout=30,
                              headers={"X-Forwarded-For": address})  # fmt: skip
            code = r.status_code
        except requests.RequestException:
            code = 0
        latencies.append(time.perf_counter() - t0)
        statuses[code] = statuses.get(code, 0) + 1

    start = time.monotonic()
    greenlets = []
    i = 0
    while time.monotonic() - start < seconds:
        greenlets.append(gevent.spawn(submit, i))
        i += 1
        gevent.sleep(max(0.0, start + i / rps - time.monotonic()))
    gevent.joinall(greenlets, timeout=60)
    stored = _count_reports(dep)
    print(f"{i} submissions in {seconds:.0f} s ({i / seconds:.0f}/s) from {i // per_address + 1} addresses, "
          f"{per_address} each: statuses {dict(sorted(statuses.items()))}")  # fmt: skip
    print(f"  p50={quantile(latencies, 0.5) * 1000:.0f} p95={quantile(latencies, 0.95) * 1000:.0f} ms; "
          f"reports stored: {stored} (201s: {statuses.get(201, 0)}); 5xx: "
          f"{sum(v for k, v in statuses.items() if k >= 500 or k == 0)}")  # fmt: skip


def _count_reports(dep: Deployment) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(dep.pg.url)
    with engine.connect() as conn:
        n = int(conn.execute(text("SELECT count(*) FROM public_reports")).scalar_one())
    engine.dispose()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=["api", "reports"], default="api")
    ap.add_argument("--users", type=int, default=200, help="operator sessions (api)")
    ap.add_argument("--accounts", type=int, default=10, help="operator accounts they sign in as")
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--rate", type=float, default=50.0, help="events/s published meanwhile (api)")
    ap.add_argument("--rps", type=float, default=100.0, help="report submissions/s (reports)")
    ap.add_argument("--profile", metavar="FILE", help="py-spy the node into FILE")
    ap.add_argument("--per-address", type=int, default=8, help="submissions per client address (reports)")
    args = ap.parse_args()
    settings: dict[str, Any] = {}
    if args.scenario == "api":  # many sessions from one address: the failed-login guard is not the subject
        settings["api"] = {"login_max_failures_per_ip": 1_000_000}
    with deployment(Path(tempfile.mkdtemp()), operators=args.accounts, **settings) as dep:
        if args.scenario == "api":
            run_api(dep, args.users, args.seconds, args.rate, args.profile)
        else:
            run_reports(dep, args.seconds, args.rps, args.per_address)


if __name__ == "__main__":
    main()
