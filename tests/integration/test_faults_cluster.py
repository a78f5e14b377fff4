"""NATS down under a worker cluster: two `safecity worker` processes share two cameras (PETS, looped,
real detector) and one `safecity consume` stores their events, all on a private nats-server. The server
is killed for longer than the lease TTL and restarted on the same store: the leases expire and are
claimed again, analysis resumes, and every event id the workers published (their own event-id log) is
stored, each once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from safecity.store.models import EventRow
from support.processes import NatsServer, pets_camera, published_ids, safecity_bin, wait_for, write_config

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.models]
TTL = 4.0
NATS_DOWN_S = TTL + 4


def activity(logs: Path) -> list[dict[str, Any]]:
    out = []
    for path in logs.glob("*.jsonl"):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return sorted(out, key=lambda r: r["t"])


def analysing(logs: Path, since: float) -> set[str]:
    """Cameras with an analysed frame after `since` (wall clock)."""
    return {r["camera"] for r in activity(logs) if r["op"] == "frame" and r["t"] > since}


def _tail(tmp_path: Path, index: int) -> str:
    """The last lines a started process wrote (its output file is named after its command and index)."""
    return "\n".join("\n".join(p.read_text().splitlines()[-15:]) for p in tmp_path.glob(f"*-{index}.out"))


def stored(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(EventRow.id)).scalars())
    finally:
        engine.dispose()


def test_nats_restart_under_workers_loses_no_event_and_leases_recover(
    tmp_path: Path, pets_video: Path, nanodet_model: Path
) -> None:
    log = tmp_path / "published.log"
    url = f"sqlite:///{tmp_path / 'var' / 'safecity.db'}"
    with NatsServer.start() as nats:
        cameras = [{**pets_camera(pets_video, f"cam-{i}"), "fps": 2} for i in range(2)]
        config = write_config(tmp_path / "cluster.yaml", {
            "storage": {"data_dir": str(tmp_path / "var")},
            "detector": {"model": str(nanodet_model), "threads": 1},
            "bus": {"type": "nats", "url": nats.url},
            "cluster": {"lease_ttl_s": TTL, "claim_every_s": 0.5, "kv_timeout_s": 1.0, "stop_budget_s": 1.0},
            "durability": {"event_log": str(log)},
            "cameras": cameras,
        })  # fmt: skip
        procs: list[subprocess.Popen[bytes]] = []

        def start(*args: str) -> None:
            out = (tmp_path / f"{args[0]}-{len(procs)}.out").open("ab")
            procs.append(subprocess.Popen([safecity_bin(), *args, "-c", str(config)], stdout=out,
                                          stderr=subprocess.STDOUT))  # fmt: skip

        try:
            start("consume")
            for wid in ("w1", "w2"):
                start("worker", "--worker-id", wid, "--activity-log", str(tmp_path / f"{wid}.jsonl"))
            outs = [tmp_path / f"worker-{i}.out" for i in (1, 2)]
            up = "camera(s) configured"  # logged once a worker is connected
            wait_for(lambda: all(up in p.read_text() for p in outs), 120, "workers connected")
            wait_for(lambda: analysing(tmp_path, 0) == {"cam-0", "cam-1"}, 120, "both cameras analysed")
            wait_for(lambda: len(published_ids(log)) >= 5, 90, "published events")

            nats.down()  # SIGKILL the server
            time.sleep(NATS_DOWN_S)  # longer than the lease TTL: every lease expires
            gone = [
                (p.args, p.returncode, _tail(tmp_path, i))
                for i, p in enumerate(procs)
                if p.poll() is not None
            ]
            assert not gone, f"no process gave up: {gone}"
            back = time.time()
            nats.up()
            wait_for(lambda: analysing(tmp_path, back + 1) == {"cam-0", "cam-1"}, 90, "leases claimed again")
            records = activity(tmp_path)
            expired = [r["t"] for r in records if r["op"] in ("expired", "lost")]
            assert expired and max(expired) < back, "leases expired while NATS was down"
            assert {r["camera"] for r in records if r["op"] == "claim" and r["t"] > back} == {
                "cam-0",
                "cam-1",
            }
            n_before = len(published_ids(log))
            wait_for(lambda: len(published_ids(log)) > n_before, 60, "events published after the restart")

            for p in procs[1:]:
                p.send_signal(signal.SIGTERM)
                p.wait(60)
            ids = published_ids(log)
            wait_for(lambda: set(ids) <= set(stored(url)), 60, "every published event stored")
            rows = stored(url)
            assert len(rows) == len(set(rows)) == len(set(ids)), "each exactly once"
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
