"""A throw-away deployment for load benchmarks: a private PostgreSQL cluster, a private nats-server, one
`safecity serve` node (no cameras) on them, an operator account, and a publisher process that puts
synthetic events on the node's JetStream bus at a fixed rate (what the pipeline would publish).
The node's store writer and live push consume them exactly as they would a camera's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

# the test suite's process helpers (tests/support), so the script runs without PYTHONPATH
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.processes import NatsServer, PgServer, ServeProcess, run_cli, write_config

PASSWORD = "bench-operator-password-1"
PUBLISHER = """
import sys, time
from datetime import UTC, datetime
from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus
from safecity.types import Event, EventKind

url, rate, cameras = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
bus = NatsBus(BusConfig(type="nats", url=url), name="bench-publisher")
n, start = 0, time.monotonic()
try:
    while True:
        now = datetime.now(UTC)
        bus.publish(Event(camera_id=f"cam-{n % cameras}", kind=EventKind.ZONE_ENTER, start=now, end=now,
                          label="person", track_id=n, zone_id="plaza"))
        n += 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
except KeyboardInterrupt:
    pass
finally:
    bus.close()
    print(f"published {n}", flush=True)
"""


@dataclass
class Deployment:
    serve: ServeProcess
    config: Path
    nats: NatsServer
    pg: PgServer
    users: list[str]

    @property
    def base(self) -> str:
        return self.serve.base

    def rss_mb(self) -> float:
        return float(psutil.Process(self.serve.proc.pid).memory_info().rss) / 2**20

    def cpu_s(self) -> float:
        """CPU seconds the node has used (user + system): per request, a figure the neighbours' load on a
        shared machine moves far less than latency."""
        t = psutil.Process(self.serve.proc.pid).cpu_times()
        return float(t.user + t.system)


@contextlib.contextmanager
def deployment(root: Path, *, operators: int = 1, cameras: int = 4, **settings: Any) -> Iterator[Deployment]:
    """Everything up, `operators` users named op0..opN-1 (role operator)."""
    with PgServer.start() as pg, NatsServer.start() as nats:
        config = write_config(root / "bench.yaml", {
            "storage": {"data_dir": str(root / "var"), "database_url": pg.url},
            "bus": {"type": "nats", "url": nats.url},
            "cameras": [{"id": f"cam-{i}", "source": "rtsp://127.0.0.1:9/none", "enabled": False}
                        for i in range(cameras)],
            **settings,
        })  # fmt: skip
        users = [f"op{i}" for i in range(operators)]
        for name in users:
            run_cli(
                config,
                "users",
                "create",
                name,
                "--role",
                "operator",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
        with ServeProcess.start(config, root / "serve.log") as serve:
            yield Deployment(serve, config, nats, pg, users)


@contextlib.contextmanager
def publishing(dep: Deployment, rate: float, cameras: int = 4) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, dep.nats.url, str(rate), str(cameras)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(1.0)
        yield proc
    finally:
        proc.send_signal(2)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # stuck flushing to a starved nats-server: never leave it behind
            proc.kill()
            out, _ = proc.communicate()
        print(f"publisher: {out.strip()} events at {rate}/s")


@contextlib.contextmanager
def profiling(pid: int, out: str | None, seconds: float) -> Iterator[None]:
    """py-spy (a profiling tool, not a dependency: `pip install py-spy`, or any py-spy on PATH) samples
    process `pid` for `seconds` into `out`, collapsed stacks (`--format raw`: one line per stack, its
    count last; grep and sum them, or feed them to a flame graph tool). Nothing when `out` is None."""
    if out is None:
        yield
        return
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [
        spy,
        "record",
        "-p",
        str(pid),
        "-o",
        out,
        "-d",
        str(int(seconds)),
        "-r",
        "50",
        "--format",
        "raw",
        *(["--gil"] if os.environ.get("PYSPY_GIL") else []),
    ]
    proc = subprocess.Popen([*cmd, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        try:
            proc.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        print(f"py-spy profile of pid {pid}: {out}")


class CpuClock:
    """CPU seconds (user + system) of a process (default: this one, the benchmark's client) since it was
    made: the client's and the publisher's cost, reported apart from the node's."""

    def __init__(self, pid: int | None = None) -> None:
        self.proc = psutil.Process(pid)
        self.last = self.t0 = self.now()

    def now(self) -> float:
        try:
            t = self.proc.cpu_times()
        except psutil.Error:  # it has exited: what it had used before
            return self.last
        self.last = float(t.user + t.system)
        return self.last

    def elapsed(self) -> float:
        return self.now() - self.t0


def loadavg() -> str:
    """The machine's 1, 5 and 15 minute load averages (quoted with every figure of a shared machine)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]
