"""Camera leases on the real NATS KV, and the worker's claim / renew / balance / stop logic, in-process.

The ClusterWorkers here are driven tick by tick (no timing loop), on the real PETS video and detector.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from safecity.bus.nats_loop import LoopThread, connect
from safecity.cluster.config import ClusterConfig
from safecity.cluster.leases import LeaseError, LeaseTable
from safecity.cluster.worker import ClusterWorker, rendezvous_order
from safecity.config import parse_settings
from safecity.config.models import Settings
from safecity.vision.detector import Detector

pytestmark = pytest.mark.nats


class Nats:
    """A connection on its own loop thread, and the names this test may create (deleted afterwards)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tag = uuid.uuid4().hex[:10]
        self.loop = LoopThread("test-nats")
        self.nc: Any = self.loop.call(connect(url, "test", 5), 10)
        self.js: Any = self.nc.jetstream()

    def cluster(self, **kw: Any) -> ClusterConfig:
        base = {"lease_bucket": f"l_{self.tag}", "workers_bucket": f"w_{self.tag}", "lease_ttl_s": 3.0,
                "stop_budget_s": 0.8, "kv_timeout_s": 0.8, "renew_every_s": 1.0}  # fmt: skip
        return ClusterConfig(**{**base, **kw})

    def table(self, worker: str, cfg: ClusterConfig | None = None) -> LeaseTable:
        return LeaseTable(self.loop, self.js, cfg or self.cluster(), worker)

    def close(self) -> None:
        for stream in (f"KV_l_{self.tag}", f"KV_w_{self.tag}", f"EV_{self.tag}"):
            with contextlib.suppress(Exception):
                self.loop.call(self.js.delete_stream(stream), 5)
        self.loop.call(self.nc.close(), 5)
        self.loop.stop()


@pytest.fixture
def nats(nats_url: str) -> Iterator[Nats]:
    n = Nats(nats_url)
    yield n
    n.close()


def test_only_one_of_many_racing_claims_wins(nats: Nats) -> None:
    tables = [nats.table(f"w{i}") for i in range(8)]
    barrier = threading.Barrier(len(tables))

    def claim(t: LeaseTable) -> bool:
        barrier.wait()
        return t.claim("cam-1") is not None

    with ThreadPoolExecutor(len(tables)) as pool:
        wins = list(pool.map(claim, tables))
    assert sum(wins) == 1
    winner = tables[wins.index(True)].worker_id
    assert tables[0].holder("cam-1") == winner


def test_renewal_needs_the_latest_revision_and_moves_the_deadline(nats: Nats) -> None:
    a, b = nats.table("a"), nats.table("b")
    sent = time.monotonic()
    lease = a.claim("cam-1")
    assert lease is not None and lease.deadline - sent <= 3.0 - 0.8 + 0.01
    assert b.claim("cam-1") is None
    time.sleep(0.2)
    renewed = a.renew(lease)
    assert renewed.revision > lease.revision and renewed.deadline > lease.deadline
    with pytest.raises(LeaseError):
        a.renew(lease)  # a stale revision: someone (here: we) wrote after it
    with pytest.raises(LeaseError):
        b.release(lease)  # releasing with a stale revision is refused too
    assert a.holder("cam-1") == "a"
    a.release(renewed)
    assert a.holder("cam-1") is None
    assert b.claim("cam-1") is not None  # a released (deleted) key can be claimed again


def test_an_unrenewed_lease_expires_on_the_server_after_its_deadline(nats: Nats) -> None:
    a, b = nats.table("a"), nats.table("b")
    lease = a.claim("cam-1")
    assert lease is not None
    while b.claim("cam-1") is None:
        time.sleep(0.02)
    taken = time.monotonic()
    assert taken >= lease.deadline + 0.8 - 0.05  # never before the holder's deadline + stop budget
    assert taken - lease.deadline < 0.8 + 0.5  # and not much later: the TTL itself
    with pytest.raises(LeaseError):
        a.renew(lease)


def test_heartbeats_list_live_workers_and_a_bucket_with_a_shorter_ttl_is_refused(nats: Nats) -> None:
    a, b = nats.table("a"), nats.table("b")
    a.heartbeat()
    b.heartbeat()
    assert a.live_workers() == {"a", "b"}
    b.leave()
    assert a.live_workers() == {"a"}  # a clean leave is seen at once
    with pytest.raises(LeaseError, match=r"less than cluster\.lease_ttl_s"):
        nats.table("c", nats.cluster(lease_ttl_s=10.0))  # the buckets exist with a 3 s TTL


def test_cluster_config_keeps_renewal_inside_the_ttl() -> None:
    assert ClusterConfig().renew_period_s == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="must exceed"):
        ClusterConfig(lease_ttl_s=5, stop_budget_s=3)


def test_rendezvous_order_is_stable_and_differs_between_workers() -> None:
    cams = [f"cam-{i}" for i in range(20)]
    assert rendezvous_order("w1", cams) == rendezvous_order("w1", list(reversed(cams)))
    assert rendezvous_order("w1", cams) != rendezvous_order("w2", cams)


# -- the worker process logic, driven tick by tick ---------------------------------------------------------


@pytest.fixture
def make_worker(
    nats: Nats, pets_video: Path, nanodet_model: Path, tmp_path: Path
) -> Iterator[Callable[[str], ClusterWorker]]:
    from safecity.app import build_detector

    settings = parse_settings(
        f"storage: {{data_dir: '{tmp_path}'}}\nmodels: {{cache_dir: '{nanodet_model.parent}'}}\n"
        f"detector: {{threads: 1}}\n"
        f"bus: {{type: nats, url: '{nats.url}', stream: EV_{nats.tag}, "
        f"subject_prefix: ev{nats.tag}.events}}\n"
        "cameras:\n"
        + "".join(f"  - {{id: cam-{i}, source: '{pets_video}', loop: true, fps: 1}}\n" for i in range(4))
    )
    settings = Settings.model_validate({**settings.model_dump(), "cluster": nats.cluster().model_dump()})
    detector: Detector = build_detector(settings)
    workers: list[ClusterWorker] = []

    def make(worker_id: str) -> ClusterWorker:
        w = ClusterWorker(
            settings, worker_id, detector=detector, activity_log=tmp_path / f"{worker_id}.jsonl"
        )
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.close()


def activity(tmp_path: Path, worker: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / f"{worker}.jsonl").read_text().splitlines()]


@pytest.mark.models
def test_workers_balance_hand_over_and_stop_on_a_lost_lease(
    make_worker: Callable[[str], ClusterWorker], nats: Nats, tmp_path: Path
) -> None:
    w1 = make_worker("w1")
    w1.tick()
    assert sorted(w1.held) == ["cam-0", "cam-1", "cam-2", "cam-3"]  # alone: everything
    w2 = make_worker("w2")
    w2.tick()  # heartbeat first; w1 still holds all four, so nothing is free yet
    assert not w2.held
    w1.tick()  # sees two live workers: share 2, releases the two it likes least
    assert len(w1.held) == 2
    w2.tick()
    assert len(w2.held) == 2 and not set(w1.held) & set(w2.held)

    # someone overwrites one of w2's leases: its next renewal fails and the camera stops at once
    victim = sorted(w2.held)[0]
    fence = w2.held[victim].fence
    intruder = nats.table("intruder")
    nats.loop.call(intruder.leases_kv.put(victim, intruder._value()), 5)
    w2._next_renew = 0.0
    w2.tick()
    assert victim not in w2.held and not fence.is_open()
    assert [r["op"] for r in activity(tmp_path, "w2") if r["camera"] == victim][-1] == "lost"
    assert w2.leases.holder(victim) == "intruder"  # and nobody claims it while the entry lives

    # a clean shutdown releases everything and the other worker takes it all at once
    w2.close()
    w1.tick()
    assert len(w1.held) == 3  # the intruder's entry still holds the fourth
    time.sleep(3.2)  # the intruder never renews: its entry expires
    w1._next_renew = 0.0
    w1.tick()
    assert sorted(w1.held) == ["cam-0", "cam-1", "cam-2", "cam-3"]
    frames = [r for r in activity(tmp_path, "w1") if r["op"] == "frame"]
    assert frames, "w1 analysed nothing"


def test_worker_command_needs_the_nats_bus(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safecity.cli import app

    config = tmp_path / "c.yaml"
    config.write_text(f"storage: {{data_dir: '{tmp_path}'}}\n")
    res = CliRunner().invoke(app, ["worker", "-c", str(config)])
    assert res.exit_code == 2 and "needs bus.type: nats" in res.output
    config.write_text(
        f"storage: {{data_dir: '{tmp_path}'}}\n"
        "bus: {type: nats, url: 'nats://127.0.0.1:1', connect_timeout_s: 1}\n"
    )
    res = CliRunner().invoke(app, ["consume", "-c", str(config)])
    assert res.exit_code == 2 and "cannot connect to NATS" in res.output
