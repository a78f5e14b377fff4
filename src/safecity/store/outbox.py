"""The on-disk outbox: events not yet confirmed stored, kept in a SQLite file that survives a crash.

Why SQLite and not a JSON-lines file: removing the events that have been stored is a `DELETE`, a torn
last line cannot happen (a transaction commits whole), and several processes sharing a data directory
can use one file safely. Every write commits with `synchronous=FULL` (WAL), i.e. it is fsync'd before
`put` returns, so an event handed to the outbox outlives a SIGKILL or a power cut.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from safecity.bus.codec import event_from_json, event_to_json
from safecity.types import Event

BUSY_TIMEOUT_S = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    queued_at REAL NOT NULL
)
"""


class Outbox:
    """A durable set of events, oldest first; `put` is idempotent by event id. Thread-safe."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit: durable when put() returns
        self._db.execute(_SCHEMA)
        path.chmod(0o600)

    def put(self, events: Sequence[Event]) -> None:
        """Keep `events` (already kept ids are left as they are); returns once they are on disk."""
        if not events:
            return
        now = time.time()
        rows = [(e.id, event_to_json(e), now) for e in events]
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO outbox (id, body, queued_at) VALUES (?, ?, ?)", rows)

    def take(self, limit: int = 500) -> list[Event]:
        """The oldest `limit` events (they stay until `remove`)."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [event_from_json(body) for (body,) in rows]

    def remove(self, ids: Iterable[str]) -> None:
        """Forget events that are stored."""
        keys = [(i,) for i in ids]
        if keys:
            with self._lock:
                self._db.executemany("DELETE FROM outbox WHERE id = ?", keys)

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(n)

    def oldest_age_s(self) -> float | None:
        """Seconds since the oldest kept event was queued (None: empty)."""
        with self._lock:
            (first,) = self._db.execute("SELECT min(queued_at) FROM outbox").fetchone()
        return None if first is None else max(0.0, time.time() - float(first))

    def close(self) -> None:
        with self._lock:
            self._db.close()
