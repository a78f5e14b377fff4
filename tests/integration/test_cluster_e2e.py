"""End to end on real servers: NATS JetStream, PostgreSQL, two API nodes (uvicorn, `api.start_workers:
false`) and three `safecity worker` processes sharing one media directory.

A camera added through API node A is claimed by a worker, analysed, recorded and its snapshots redacted;
its events reach node B's live socket and B's API. The worker that holds it is SIGKILLed: another takes
it over; the recording gap is at most the lease TTL plus one segment; every event id in the JetStream
stream is stored exactly once, and no frame was analysed by two workers at once."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.accounts.sessions import create_token
from safecity.accounts.users import create_user
from safecity.api.app import create_api
from safecity.app import build_app
from safecity.bus.codec import event_from_json
from safecity.bus.nats_loop import LoopThread, connect
from safecity.config.models import Settings
from safecity.recording.models import SegmentRow
from safecity.store import make_engine
from safecity.vision.faces import CenterFaceDetector
from safecity.vision.faces_models import CENTERFACE, face_model_path
from safecity.vision.models import default_cache_dir
from support.api_harness import LiveServer, NullDetector

pytestmark = [pytest.mark.nats, pytest.mark.models, pytest.mark.slow]
TTL, SEGMENT, CLAIM_EVERY, STARTUP_S = 4.0, 2.0, 0.3, 1.0
CAMERA = "gate-e2e"


@dataclass
class Cluster:
    root: Path
    settings: dict[str, Any]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, wid: str) -> None:
        data = {**self.settings, "storage": {**self.settings["storage"], "data_dir": str(self.root / wid)}}
        config = self.root / f"{wid}.yaml"
        config.write_text(yaml.safe_dump(data))
        exe = Path(sys.executable).with_name("safecity")
        cmd = [str(exe)] if exe.is_file() else [sys.executable, "-c", "from safecity.cli import app; app()"]
        out = (self.root / f"{wid}.out").open("ab")
        self.procs[wid] = subprocess.Popen(
            [
                *cmd,
                "worker",
                "-c",
                str(config),
                "--worker-id",
                wid,
                "--activity-log",
                str(self.root / f"{wid}.jsonl"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )

    def records(self) -> list[dict[str, Any]]:
        out = []
        for path in self.root.glob("*.jsonl"):
            out += [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
        return sorted(out, key=lambda r: r["t"])

    def holder(self) -> str | None:
        """The worker whose current tenure of the camera has analysed frames."""
        current: dict[int, str] = {}
        framed: set[int] = set()
        for r in self.records():
            if r["camera"] != CAMERA:
                continue
            if r["op"] == "claim":
                current = {r["claim"]: r["worker"]}
            elif r["op"] in ("release", "lost", "expired"):
                current.pop(r["claim"], None)
            elif r["op"] == "frame":
                framed.add(r["claim"])
        live = [w for c, w in current.items() if c in framed]
        return live[0] if live else None

    def check_alive(self) -> None:
        for wid, p in self.procs.items():
            if p.poll() is not None and p.returncode != -signal.SIGKILL:
                raise AssertionError(f"{wid} died:\n{(self.root / f'{wid}.out').read_text()[-3000:]}")


def wait_for(cluster: Cluster, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        if result := predicate():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s: {what}")


def cluster_settings(root: Path, nats_url: str, database_url: str, models: Path, tag: str) -> dict[str, Any]:
    return {
        "storage": {
            "data_dir": str(root / "api"),
            "database_url": database_url,
            "media_dir": str(root / "media"),
        },
        "models": {"cache_dir": str(models)},
        "detector": {"threads": 1},
        # 2FA off for the test admin (docs/security.md); the session's temporary folders (the H.264 copy of
        # the sample lives there) allowed as camera sources
        "api": {
            "start_workers": False,
            "two_factor_roles": [],
            "camera_sources": {"schemes": ["file"], "file_dirs": [str(root.parent)]},
        },
        # every node of a cluster signs audit entries with the one key, and witnesses into one place
        "audit": {"key_file": str(root / "audit-key.pem"), "witness_dir": str(root / "audit-witness")},
        "recording": {"enabled": True, "segment_seconds": SEGMENT},
        "bus": {"type": "nats", "url": nats_url, "stream": f"E2E_{tag}", "subject_prefix": f"e2e{tag}.ev"},
        "cluster": {
            "lease_bucket": f"e2el_{tag}",
            "workers_bucket": f"e2ew_{tag}",
            "lease_ttl_s": TTL,
            "stop_budget_s": 1.0,
            "kv_timeout_s": 1.0,
            "renew_every_s": 1.0,
            "claim_every_s": CLAIM_EVERY,
        },
    }


def jetstream_events(url: str, stream: str) -> list[Any]:
    """Every event in the stream (an ephemeral consumer from the first message)."""
    loop = LoopThread("e2e-read")
    try:
        nc = loop.call(connect(url, "e2e-read", 5), 10)

        async def read() -> list[bytes]:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            sub = await js.pull_subscribe("", stream=stream)
            out: list[bytes] = []
            while len(out) < info.state.messages:
                for msg in await sub.fetch(100, timeout=5):
                    out.append(msg.data)
            return out

        data = loop.call(read(), 60)
        loop.call(nc.close(), 5)
        return [event_from_json(d) for d in data]
    finally:
        loop.stop()


def delete_streams(url: str, names: list[str]) -> None:
    loop = LoopThread("cleanup")
    try:
        nc = loop.call(connect(url, "cleanup", 5), 10)
        for name in names:
            with contextlib.suppress(Exception):
                loop.call(nc.jetstream().delete_stream(name), 5)
        loop.call(nc.close(), 5)
    finally:
        loop.stop()


class LiveListener:
    """Node B's WebSocket: collects every message in a thread."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect as ws_connect

        self.messages: list[dict[str, Any]] = []
        self.ws = ws_connect(url)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            for raw in self.ws:
                self.messages.append(json.loads(raw))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m.get("type") == kind]

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def cluster(
    tmp_path: Path, nats_url: str, database_url: str, nanodet_model: Path
) -> Iterator[tuple[Cluster, str, str, str]]:
    tag = uuid.uuid4().hex[:10]
    data = cluster_settings(tmp_path, nats_url, database_url, nanodet_model.parent, tag)
    c = Cluster(tmp_path, data)
    with contextlib.ExitStack() as stack:
        bases = []
        for name in ("a", "b"):
            s = Settings.model_validate(
                {**data, "storage": {**data["storage"], "data_dir": str(tmp_path / name)}}
            )
            api = create_api(build_app(s, detector=NullDetector()))
            bases.append(stack.enter_context(LiveServer.run(api)))
        token = admin_token(database_url)
        for wid in ("w1", "w2", "w3"):
            c.start_worker(wid)
        try:
            yield c, bases[0].url, bases[1].url, token
        finally:
            for p in c.procs.values():
                if p.poll() is None:
                    p.terminate()
            for p in c.procs.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(30)
                if p.poll() is None:
                    p.kill()
    delete_streams(nats_url, [f"E2E_{tag}", f"KV_e2el_{tag}", f"KV_e2ew_{tag}"])


def admin_token(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            user = create_user(db, f"admin-{uuid.uuid4().hex[:6]}", "a long test password 1", ["admin"])
            secret = create_token(db, user, "e2e", None).secret
            db.commit()
            return secret
    finally:
        engine.dispose()


def segments(database_url: str) -> list[tuple[datetime, datetime]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            rows = db.scalars(
                select(SegmentRow).where(SegmentRow.camera_id == CAMERA).order_by(SegmentRow.start)
            )
            return [(r.start, r.end) for r in rows]
    finally:
        engine.dispose()


def test_camera_added_on_one_node_survives_its_worker_being_killed(
    cluster: tuple[Cluster, str, str, str], pets_h264: Path, database_url: str
) -> None:
    c, node_a, node_b, token = cluster
    auth = {"Authorization": f"Bearer {token}"}
    live_b = LiveListener(node_b.replace("http://", "ws://") + f"/ws?token={token}")
    try:
        camera = {
            "id": CAMERA,
            "name": "Gate",
            "source": str(pets_h264),
            "loop": True,
            "fps": 3,
            "zones": [
                {
                    "id": "all",
                    "polygon": [[0, 0], [768, 0], [768, 576], [0, 576]],
                    "enter_exit_events": True,
                    "crowding": {"threshold": 2, "min_duration_s": 1},
                }
            ],
        }
        r = httpx.post(f"{node_a}/api/cameras", json=camera, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        first = wait_for(c, c.holder, 60, "a worker analyses the new camera")

        # analysed, recorded, snapshots redacted; events and live messages on node B
        def events_on_b() -> list[dict[str, Any]]:
            page = httpx.get(f"{node_b}/api/events", params={"camera_id": CAMERA, "limit": 500}, headers=auth)
            return list(page.json()["items"]) if page.status_code == 200 else []

        wait_for(c, lambda: len(segments(database_url)) >= 2, 60, "segments recorded by the worker")
        wait_for(c, lambda: any(e.get("snapshot") for e in events_on_b()), 60, "events with snapshots on B")
        wait_for(c, lambda: any(e["kind"] == "crowding" for e in events_on_b()), 60, "a crowding event")
        wait_for(c, lambda: live_b.of("event"), 30, "a live event on node B's socket")
        # the crowding alert (raised by whichever API node's engine got the event) on B: API and socket
        alerts = httpx.get(f"{node_b}/api/alerts", params={"camera_id": CAMERA}, headers=auth).json()["items"]
        assert any(a["camera_id"] == CAMERA for a in alerts), alerts
        wait_for(c, lambda: [m for m in live_b.of("alert") if m["data"]["camera_id"] == CAMERA], 30,
                 "a live alert on node B's socket")  # fmt: skip
        media = c.root / "media"
        faces = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE))
        shots = [media / e["snapshot"] for e in events_on_b() if e.get("snapshot")]
        assert shots and all(p.is_file() for p in shots)
        for shot in shots:
            image = cv2.imread(str(shot))
            assert image is not None and len(faces.detect(image, threshold=0.5)) == 0

        # SIGKILL the holder: another worker takes over, recording resumes
        c.procs[first].send_signal(signal.SIGKILL)
        killed_at = time.time()
        second = wait_for(c, lambda: (h := c.holder()) not in (None, first) and h, 60, "takeover")
        took_over = time.time() - killed_at
        after_kill = datetime.fromtimestamp(killed_at + 1).astimezone()
        wait_for(c, lambda: any(s >= after_kill for s, _ in segments(database_url)), 60, "a new segment")
        spans = segments(database_url)
        gaps = [(b[0] - a[1]).total_seconds() for a, b in itertools.pairwise(spans)]
        print(f"\nfailover {took_over:.1f}s to {second}; largest recording gap {max(gaps):.1f}s")
        # the lease TTL plus one segment (plus the claim poll and opening the source on the new worker)
        assert max(gaps) <= TTL + SEGMENT + CLAIM_EVERY + STARTUP_S, gaps

        # every event the workers published is stored exactly once; no frame analysed twice at once
        # (the new holder keeps publishing: what is stored is read between two reads of the stream)
        def published_ids() -> list[str]:
            stream = jetstream_events(c.settings["bus"]["url"], c.settings["bus"]["stream"])
            return [e.id for e in stream if e.camera_id == CAMERA]

        before = set(published_ids())
        wait_for(c, lambda: before <= {e["id"] for e in events_on_b()}, 30, "every published event stored")
        stored = {e["id"] for e in events_on_b()}
        ids = published_ids()
        assert len(ids) == len(set(ids)), "an event published twice"
        assert len(ids) < 500 and before <= stored <= set(ids), (before - stored, stored - set(ids))
        tenures: dict[int, list[float]] = {}
        for rec in c.records():
            if rec["camera"] == CAMERA and rec["op"] == "frame":
                tenures.setdefault(rec["claim"], []).append(rec["t"])
        spans_t = sorted((min(ts), max(ts)) for ts in tenures.values())
        assert all(b[0] > a[1] for a, b in itertools.pairwise(spans_t)), spans_t
    finally:
        live_b.close()
