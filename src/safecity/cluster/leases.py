"""Camera leases and worker heartbeats in JetStream KV buckets, behind a synchronous API.

A lease is the KV entry `<lease_bucket>/<camera_id>` (value: the holder's id and time). The bucket
keeps one revision per key (`history=1`) and expires entries `lease_ttl_s` after they were written
(`max_age`). Claiming is `create` (succeeds only while the key has no live entry), renewing is
`update` with the last revision (succeeds only while that revision is still the latest), releasing is
`delete` with the last revision. The server decides every race: two workers can never both get a
revision of the same key. Heartbeats are plain `put`s in `<workers_bucket>/<worker_id>`, with the same
TTL: the keys present are the live workers.

Every `Lease` carries a local `deadline` (monotonic clock): the send time of the request that wrote
its revision plus the TTL minus `stop_budget_s`. The server stored that revision after it was sent,
so it cannot expire (and nobody else can `create` the key) before `deadline + stop_budget_s`. The
safety argument built on this is in `safecity.cluster.worker`.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from safecity.bus.nats_loop import LoopThread
from safecity.cluster.config import ClusterConfig


@dataclass(frozen=True, slots=True)
class Lease:
    camera_id: str
    revision: int
    deadline: float  # time.monotonic() after which the holder must not produce anything for the camera


class LeaseError(Exception):
    """A KV request did not succeed (lost the race, timed out, or the server is away)."""


class LeaseTable:
    """Leases of one worker, on the connection `js` whose asyncio loop runs in `loop`."""

    def __init__(self, loop: LoopThread, js: Any, cfg: ClusterConfig, worker_id: str) -> None:
        self.loop = loop
        self.js = js
        self.cfg = cfg
        self.worker_id = worker_id
        self.leases_kv = self._call(self._bucket(cfg.lease_bucket))
        self.workers_kv = self._call(self._bucket(cfg.workers_bucket))

    async def _bucket(self, name: str) -> Any:
        from nats.js.api import KeyValueConfig, StorageType
        from nats.js.errors import BucketNotFoundError

        try:
            kv = await self.js.key_value(name)
        except BucketNotFoundError:
            config = KeyValueConfig(
                bucket=name, history=1, ttl=self.cfg.lease_ttl_s, storage=StorageType.FILE
            )
            return await self.js.create_key_value(config)
        info = await self.js.stream_info(f"KV_{name}")
        ttl = info.config.max_age or float("inf")
        if ttl < self.cfg.lease_ttl_s:  # our deadlines assume at least our TTL: refuse rather than be unsafe
            raise LeaseError(
                f"KV bucket {name} expires entries after {ttl}s, less than cluster.lease_ttl_s "
                f"({self.cfg.lease_ttl_s}s); give every worker the same TTL or delete the bucket"
            )
        return kv

    def _call(self, coro: Any) -> Any:
        try:
            return self.loop.call(coro, self.cfg.kv_timeout_s)
        except Exception as exc:
            raise LeaseError(f"{type(exc).__name__}: {exc}") from exc

    def _value(self) -> bytes:
        return json.dumps(
            {"worker": self.worker_id, "host": socket.gethostname(), "at": time.time()}
        ).encode()

    def _deadline(self, sent: float) -> float:
        return sent + self.cfg.lease_ttl_s - self.cfg.stop_budget_s

    def claim(self, camera_id: str) -> Lease | None:
        """Take the lease of a free camera; None when someone holds it. LeaseError on other failures."""
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        sent = time.monotonic()
        try:
            revision = self.loop.call(self.leases_kv.create(camera_id, self._value()), self.cfg.kv_timeout_s)
        except KeyWrongLastSequenceError:
            return None
        except KeyNotFoundError:
            # the previous entry expired while nats-py's create was looking at it: the camera is free but
            # this attempt took nothing; not holding it is the safe answer, the next round claims it
            return None
        except Exception as exc:
            raise LeaseError(f"claim {camera_id}: {type(exc).__name__}: {exc}") from exc
        return Lease(camera_id, int(revision), self._deadline(sent))

    def renew(self, lease: Lease) -> Lease:
        """Extend `lease` (a new revision, a new deadline); LeaseError if it is no longer ours or unsure."""
        sent = time.monotonic()
        revision = self._call(self.leases_kv.update(lease.camera_id, self._value(), last=lease.revision))
        return Lease(lease.camera_id, int(revision), self._deadline(sent))

    def release(self, lease: Lease) -> None:
        """Give the lease up (only if it is still ours: the delete names our revision)."""
        self._call(self.leases_kv.delete(lease.camera_id, last=lease.revision))

    def holder(self, camera_id: str) -> str | None:
        """Who holds `camera_id` now (None: free)."""
        from nats.js.errors import KeyNotFoundError

        try:
            entry = self.loop.call(self.leases_kv.get(camera_id), self.cfg.kv_timeout_s)
        except KeyNotFoundError:  # never written, deleted, or expired
            return None
        except Exception as exc:
            raise LeaseError(f"get {camera_id}: {type(exc).__name__}: {exc}") from exc
        return str(json.loads(entry.value)["worker"])

    def heartbeat(self) -> None:
        self._call(self.workers_kv.put(self.worker_id, self._value()))

    def live_workers(self) -> set[str]:
        """Workers whose heartbeat has not expired (always including this one)."""
        stream = f"KV_{self.cfg.workers_bucket}"
        info = self._call(self.js.stream_info(stream, subjects_filter=">"))
        prefix = f"$KV.{self.cfg.workers_bucket}."
        subjects = info.state.subjects or {}
        return {s.removeprefix(prefix) for s in subjects} | {self.worker_id}

    def leave(self) -> None:
        """Remove this worker's heartbeat (a clean shutdown: the others rebalance at once).

        A purge of our own subject, not a KV delete: a delete marker would still count as a subject."""
        stream, subject = f"KV_{self.cfg.workers_bucket}", f"$KV.{self.cfg.workers_bucket}.{self.worker_id}"
        self._call(self.js.purge_stream(stream, subject=subject))
