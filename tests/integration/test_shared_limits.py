"""What several nodes of one cluster share through the database: login and public-report rate limits
(two API nodes on one database count together), and the retention lease (two nodes never purge at once).
Runs on SQLite, and on PostgreSQL in CI's `db` pass."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from safecity.governance.retention import PurgeReport, RetentionScheduler
from safecity.store import make_engine, upgrade
from safecity.store.coordination import DbLease
from support.api_harness import ApiHarness


@pytest.fixture
def nodes(tmp_path: Path, database_url: str) -> Iterator[tuple[ApiHarness, ApiHarness]]:
    sections: dict[str, Any] = {
        "api": {"login_max_failures_per_user": 3, "login_max_failures_per_ip": 50},
        "operations": {"reports": {"rate_limit": 2}},
    }

    def storage(name: str) -> dict[str, str]:
        return {"data_dir": str(tmp_path / name), "database_url": database_url}

    with (
        ApiHarness.start(tmp_path / "a", storage=storage("a"), **sections) as a,
        ApiHarness.start(tmp_path / "b", storage=storage("b"), **sections) as b,
    ):
        yield a, b


def login(h: ApiHarness, username: str, password: str) -> int:
    return h.client.post("/api/auth/login", json={"username": username, "password": password}).status_code


def test_failed_logins_on_one_api_node_lock_the_user_on_the_other(
    nodes: tuple[ApiHarness, ApiHarness],
) -> None:
    a, b = nodes
    user = a.user("operator")
    for _ in range(3):
        assert login(a, user.username, "wrong password") == 401
    # an attacker moving to the other node behind the balancer is still refused, before the password check
    r = b.client.post("/api/auth/login", json={"username": user.username, "password": "wrong password"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert (
        a.client.post("/api/auth/login", json={"username": "someone-else", "password": "x"}).status_code
        == 401
    )


def report(h: ApiHarness) -> int:
    form = {"category": "theft", "description": "Phone snatched", "lat": "41.9", "lon": "12.5",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}  # fmt: skip
    return h.client.post("/api/public/reports", data=form).status_code


def test_public_reports_are_counted_across_api_nodes(nodes: tuple[ApiHarness, ApiHarness]) -> None:
    a, b = nodes
    assert report(a) == 201
    assert report(b) == 201
    assert report(a) == 429  # 2 per window in all, not 2 per node
    assert report(b) == 429


class SlowPurge:
    """A stand-in `Retention` that records when each purge runs (slow enough for runs to overlap)."""

    def __init__(self, log: list[tuple[str, float, float]], node: str, lock: threading.Lock) -> None:
        self.log, self.node, self.lock = log, node, lock

    def run(self) -> PurgeReport:
        start = time.monotonic()
        time.sleep(0.05)
        with self.lock:
            self.log.append((self.node, start, time.monotonic()))
        return PurgeReport(at=datetime.now(UTC), dry_run=False)


def purge_concurrently(
    engines: list[Engine], leased: bool, rounds: int = 8
) -> list[tuple[str, float, float]]:
    log: list[tuple[str, float, float]] = []
    lock = threading.Lock()
    schedulers = [
        RetentionScheduler(
            SlowPurge(log, f"node{i}", lock),  # type: ignore[arg-type]
            interval_s=3600,
            lease=DbLease(engine, "retention", f"node{i}", ttl_s=600) if leased else None,
        )
        for i, engine in enumerate(engines)
    ]
    barrier = threading.Barrier(len(schedulers))

    def node_loop(s: RetentionScheduler) -> None:
        for _ in range(rounds):
            barrier.wait()  # every node's schedule fires at the same moment
            s.run_once()

    with ThreadPoolExecutor(len(schedulers)) as pool:
        list(pool.map(node_loop, schedulers))
    return log


def overlapping(log: list[tuple[str, float, float]]) -> bool:
    spans = sorted((s, e) for _, s, e in log)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


def test_retention_runs_on_one_node_of_the_cluster_at_a_time(database_url: str) -> None:
    upgrade(database_url)
    engines = [make_engine(database_url) for _ in range(3)]  # three nodes, one database
    try:
        unguarded = purge_concurrently(engines, leased=False)
        assert overlapping(unguarded)  # the control: without the lease the nodes purge at the same time

        guarded = purge_concurrently(engines, leased=True)
        assert len(guarded) == 8 and not overlapping(guarded)
        assert len({node for node, _, _ in guarded}) == 1  # once per round, always by the holder

        # the holder goes away: its lease expires and another node takes over
        clock = [time.time()]
        holder = DbLease(engines[0], "retention", guarded[0][0], ttl_s=600, clock=lambda: clock[0])
        other = DbLease(engines[1], "retention", "node-new", ttl_s=600, clock=lambda: clock[0])
        assert not other.acquire()
        clock[0] += 601
        assert other.acquire() and not holder.acquire()
    finally:
        for e in engines:
            e.dispose()
