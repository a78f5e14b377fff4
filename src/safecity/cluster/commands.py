"""What `safecity worker` and `safecity consume` run (the CLI parses options and calls these)."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import threading
from pathlib import Path

from safecity.config.models import Settings

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """`<host>-<pid>`, reduced to the characters a KV key and a NATS name accept."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{socket.gethostname()}-{os.getpid()}")


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def run_worker(settings: Settings, worker_id: str | None, activity_log: Path | None) -> None:
    """Share the configured cameras with the other workers until SIGTERM / SIGINT."""
    from safecity.cluster.worker import ClusterWorker

    wid = worker_id or default_worker_id()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", wid):
        raise ValueError(f"worker id {wid!r}: use 1-64 letters, digits, _ or -")
    node = ClusterWorker(settings, wid, activity_log=activity_log)
    stop = stop_on_signals()
    log.info(
        "worker %s: %d camera(s) configured, lease TTL %.1fs",
        wid,
        len(node.cameras),
        settings.cluster.lease_ttl_s,
    )
    node.run(stop)


def run_consumers(settings: Settings) -> None:
    """The bus consumers of this process (store writer; MQTT out when enabled) until SIGTERM / SIGINT."""
    from safecity.app import attach_consumers, build_bus
    from safecity.store import open_store

    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.storage.resolved_database_url)
    try:
        bus = build_bus(settings, name=f"consumer-{default_worker_id()}")
        try:
            writer, closers = attach_consumers(settings, bus, store)
            stop = stop_on_signals()
            log.info("consuming events (store%s)", ", mqtt" if settings.mqtt.enabled else "")
            stop.wait()
        finally:
            bus.close()
        for close in closers:
            close()
        log.info("consumer stopped: %d event(s) written, %d failed", writer.written, writer.failed)
    finally:
        store.close()
