"""A short-lived cache of resolved credentials (session cookie or API token -> principal), per node.

Without it every API request read its session and user (two queries, a pool checkout with its ping and a
commit) before the endpoint's own work: about a quarter of the node's busy time under 200 operators
(docs/performance.md). An entry lives `api.auth_cache_s` seconds at most, and never past its session's or
token's expiry.

Revocation: any write to `users`, `sessions` or `api_tokens` through this node's engine (logout, "log out
everywhere", a revoked token, a password reset, a disabled or re-roled user, a finished second factor)
empties the cache as it executes and again when its transaction commits: the next request reads the
database. The only writes that do not are the "last seen" touches of authentication itself. A change
made elsewhere (another node of a cluster, the CLI) takes effect here within `api.auth_cache_s`.

An entry is stored only if no such write happened while it was being read (`generation`), so a read that
raced a revocation is never cached.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from safecity.api.deps import Principal

WATCHED = re.compile(r"^\s*(?:UPDATE|DELETE\s+FROM)\s+\"?(?:users|sessions|api_tokens)\b", re.IGNORECASE)
# the touch of an active session or token (while `touching()`): the only write there that revokes nothing
TOUCH = re.compile(
    r"^\s*UPDATE\s+\"?(?:sessions|api_tokens)\"?\s+SET\s+(?:last_seen_at|last_used_at)=[^,]*?\sWHERE\s",
    re.IGNORECASE,
)
_DIRTY = "safecity_auth_dirty"
_COMMITTED = "safecity_auth_committed"
MAX_ENTRIES = 10_000
_local = threading.local()


@contextlib.contextmanager
def touching() -> Iterator[None]:
    """Around the commit of an authentication's own "last seen" touch: that write leaves the cache alone
    (any other write to those tables, the touch statement elsewhere included, still empties it)."""
    _local.touch = True
    try:
        yield
    finally:
        _local.touch = False


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request needs from its credential besides the principal."""

    principal: Principal
    csrf_token: str | None  # the session's (None for an API token)
    read_only: bool  # a read-only API token
    until: float  # monotonic time the entry stops being used


class AuthCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.generation = 0
        self._entries: dict[str, Credential] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> Credential | None:
        entry = self._entries.get(key)
        if entry is None or entry.until <= time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, entry: Credential, generation: int) -> None:
        """Store `entry`, read while the cache was at `generation` (dropped if a write came since)."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def expiry(self, *limits: float | None) -> float:
        """Monotonic end of an entry stored now: the TTL, or earlier limits (seconds from now)."""
        return time.monotonic() + min([self.ttl_s, *(s for s in limits if s is not None)])

    def watch(self, engine: Engine) -> None:
        """Invalidate on every write through `engine` that could revoke or change a credential."""

        def executed(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
            if WATCHED.match(statement) and not (getattr(_local, "touch", False) and TOUCH.match(statement)):
                conn.info[_DIRTY] = True
                self.invalidate()

        def committed(conn: Connection) -> None:
            if conn.info.pop(_DIRTY, False):
                conn.info[_COMMITTED] = True
                self.invalidate()  # what a request read in between saw the old rows

        def rolled_back(conn: Connection) -> None:
            conn.info.pop(_DIRTY, None)

        def checked_in(dbapi_connection: Any, record: Any) -> None:
            if record is not None and record.info.pop(_COMMITTED, False):
                self.invalidate()  # `commit` fires before the database has committed; this after

        event.listen(engine, "after_cursor_execute", executed)
        event.listen(engine, "commit", committed)
        event.listen(engine, "rollback", rolled_back)
        event.listen(engine, "checkin", checked_in)
