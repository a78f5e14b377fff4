"""State several nodes share through the database: named leases (a job that must run once per cluster,
such as retention) and rate-limit hits (login failures, public reports), so API nodes behind a balancer
count together.

Times are wall-clock seconds (`time.time()`) of the writing node; the nodes of a cluster are assumed to
keep their clocks within a small fraction of a lease TTL or a rate window (NTP does).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, Float, Index, Integer, String, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base


class LeaseRow(Base):
    __tablename__ = "cluster_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)


class RateHitRow(Base):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(256), nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False)


class DbLease:
    """A named lease in `cluster_leases`: at most one holder until `ttl_s` after its last acquire.

    `acquire()` takes a free or expired lease, or renews our own; the database serialises the writes
    (the row lock of the UPDATE, the primary key of the INSERT), so two nodes never both hold it."""

    def __init__(
        self, engine: Engine, name: str, holder: str, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine, self.name, self.holder, self.ttl_s, self._clock = engine, name, holder, ttl_s, clock

    def acquire(self) -> bool:
        now = self._clock()
        t = LeaseRow
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(LeaseRow)
                .where(t.name == self.name, or_(t.expires_at < now, t.holder == self.holder))
                .values(holder=self.holder, expires_at=now + self.ttl_s)
            )
            if taken.rowcount == 1:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LeaseRow).values(name=self.name, holder=self.holder, expires_at=now + self.ttl_s)
                )
            return True
        except IntegrityError:  # it exists and somebody else holds it
            return False

    def release(self) -> None:
        t = LeaseRow
        with self.engine.begin() as conn:
            conn.execute(delete(LeaseRow).where(t.name == self.name, t.holder == self.holder))
