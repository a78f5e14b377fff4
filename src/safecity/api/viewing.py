"""Audit of unredacted viewing, once per viewing session.

A browser plays a video with many Range requests and a live page polls a snapshot every second; writing
one audit entry per request floods the log, while auditing only "the request that starts at byte 0" lets
`Range: bytes=1-` fetch a whole file unaudited. Instead every unredacted response goes through
`ViewingSessions.record`, which writes an entry unless the same credential already opened the same thing
within `VIEW_SESSION_S`: any first request is audited, whatever its range; the chunks of one viewing are not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from safecity.governance import audit

VIEW_SESSION_S = 300.0
MAX_SESSIONS = 10_000  # remembered (credential, subject) pairs before old ones are forgotten


class ViewingSessions:
    """See the module docstring. Thread-safe; one per node (`viewing_sessions(node)`)."""

    def __init__(
        self, session_s: float = VIEW_SESSION_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._session_s = session_s
        self._clock = clock
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def _new_session(self, key: tuple[str, str, str], always: bool) -> bool:
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if not always and last is not None and now - last < self._session_s:
                return False
            self._seen[key] = now
            if len(self._seen) > MAX_SESSIONS:
                cutoff = now - self._session_s
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
            return True

    def record(
        self,
        conn: Connection,
        credential: str,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, Any],
        *,
        always: bool = False,
    ) -> bool:
        """Append the audit entry in the caller's transaction unless this credential viewed `subject`
        (with `action`) within the session time; `always` starts a new session. Whether it was written."""
        if not self._new_session((credential, action, subject), always):
            return False
        audit.append(conn, actor, action, subject, details)
        return True


_nodes: dict[int, ViewingSessions] = {}
_nodes_lock = threading.Lock()


def viewing_sessions(owner: object) -> ViewingSessions:
    """The tracker of one node (keyed by an object that lives as long as it, such as its engine)."""
    with _nodes_lock:
        return _nodes.setdefault(id(owner), ViewingSessions())
