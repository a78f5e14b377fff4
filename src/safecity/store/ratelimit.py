"""A sliding-window limiter for failures (logins) or submissions (public reports), per key.

`SlidingWindowLimiter` is in-process and thread-safe (one process, unit tests); `DbRateLimiter` keeps its
hits in the database, so several API nodes behind a balancer share one count per key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from sqlalchemy import Engine, delete, insert, select

from safecity.store.coordination import RateHitRow


class SlidingWindowLimiter:
    """At most `limit` hits per key within `window_s` seconds.

    `retry_after(key)` is None while a key may go on, else the seconds until its oldest hit leaves the
    window. `hit(key)` records one. Memory is bounded: past `max_keys` keys the least recently hit go.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str) -> float | None:
        with self._lock:
            now = self._clock()
            hits = self._prune(key, now)
            if hits is None or len(hits) < self.limit:
                return None
            return max(hits[0] + self.window_s - now, 0.001)

    def hit(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            hits = self._prune(key, now) or deque()
            hits.append(now)
            while len(hits) > self.limit:
                hits.popleft()
            self._hits[key] = hits
            self._hits.move_to_end(key)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class DbRateLimiter:
    """`SlidingWindowLimiter` with its hits in the database (`rate_limit_hits`), shared by every node.

    Same interface; `scope` separates the limiters (login by user, login by address, reports). Checks
    and hits are separate statements, so N nodes racing on one key may let N-1 extra hits through
    before the limit holds; it holds across restarts and nodes, which an in-process limiter cannot."""

    PRUNE_EVERY = 500

    def __init__(
        self,
        engine: Engine,
        scope: str,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.engine, self.scope, self.limit, self.window_s, self._clock = (
            engine,
            scope,
            limit,
            window_s,
            clock,
        )
        self._hits = 0

    def retry_after(self, key: str) -> float | None:
        now = self._clock()
        t = RateHitRow
        with self.engine.connect() as conn:
            recent = list(
                conn.scalars(
                    select(RateHitRow.at)
                    .where(t.scope == self.scope, t.key == key, t.at > now - self.window_s)
                    .order_by(t.at.desc())
                    .limit(self.limit)
                )
            )
        if len(recent) < self.limit:
            return None
        return max(min(recent) + self.window_s - now, 0.001)

    def hit(self, key: str) -> None:
        now = self._clock()
        t = RateHitRow
        with self.engine.begin() as conn:
            conn.execute(insert(RateHitRow).values(scope=self.scope, key=key, at=now))
            old = t.at <= now - self.window_s
            self._hits += 1
            if self._hits % self.PRUNE_EVERY == 0:  # now and then, every key's expired hits
                conn.execute(delete(RateHitRow).where(t.scope == self.scope, old))
            else:
                conn.execute(delete(RateHitRow).where(t.scope == self.scope, t.key == key, old))

    def reset(self, key: str) -> None:
        t = RateHitRow
        with self.engine.begin() as conn:
            conn.execute(delete(RateHitRow).where(t.scope == self.scope, t.key == key))
