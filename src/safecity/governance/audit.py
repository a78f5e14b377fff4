"""The append-only, hash-chained audit log (DESIGN.md, G12).

Each entry's hash covers its own content and the previous entry's hash, so modifying, deleting or
reordering any entry breaks the chain at that point, and `verify` names it. Sequence numbers are
contiguous, which exposes a deleted entry in the middle; the head (count and last hash) is also kept in
`audit_head`, updated in the same transaction, which exposes a truncated tail. The database refuses
UPDATE and DELETE on the log itself (triggers on SQLite and PostgreSQL, see migration 0005_audit):
tampering needs someone who can also drop triggers, and `verify` catches what they did.

Appends are serialised (one writer at a time: SQLite's write lock, a PostgreSQL advisory lock), because
each entry depends on the one before it.

(Restored by the data center work, as the faces work first wrote it, when the file had gone missing from
the shared tree while both used it; its owner may extend it.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Integer, String, Table, Text, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime

GENESIS = "0" * 64
ADVISORY_LOCK_ID = 0x5AFEC17A  # any constant unique to this lock


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(256), nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)


LOG = cast(Table, AuditEntry.__table__)
HEAD = cast(Table, AuditHead.__table__)


def _canonical(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, details: str
) -> str:
    body = json.dumps(
        [seq, at.astimezone(UTC).isoformat(), actor, action, subject, details], ensure_ascii=False
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
    # SQLite needs nothing more: `append` writes (to the head) before it reads, which takes the database
    # write lock, so two writers cannot both read the same head.


def append(
    conn: Connection,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Add one entry in the caller's transaction; returns its sequence number."""
    _lock(conn)
    # touch the head first: on SQLite this takes the write lock before we read
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(count=HEAD.c["count"]))
    head = conn.execute(select(HEAD.c["count"], HEAD.c.last_hash).where(HEAD.c.id == 1)).first()
    count, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    seq = count + 1
    when = (at or datetime.now(UTC)).astimezone(UTC)
    body = _canonical(details or {})
    digest = entry_hash(prev, seq, when, actor, action, subject, body)
    conn.execute(
        insert(LOG).values(
            seq=seq,
            at=when,
            actor=actor,
            action=action,
            subject=subject,
            details=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    if head is None:
        conn.execute(insert(HEAD).values(id=1, count=seq, last_hash=digest))
    else:
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(count=seq, last_hash=digest))
    return seq


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None  # the first entry at which the chain breaks

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.checked} entries"
        return f"audit log BROKEN at entry {self.seq}: {self.problem} ({self.checked} entries checked)"


def _rows(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(select(LOG).order_by(LOG.c.seq)).yield_per(1000)


def verify(conn: Connection) -> VerifyResult:
    """Walk the chain from the start; the first inconsistency is reported with its sequence number."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in _rows(conn):
        if row.seq != expected_seq:
            return VerifyResult(
                False, checked, f"entry {expected_seq} is missing (next is {row.seq})", expected_seq
            )
        if row.prev_hash != prev:
            return VerifyResult(
                False, checked, "does not follow the entry before it (reordered or replaced)", row.seq
            )
        if entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.details) != row.hash:
            return VerifyResult(False, checked, "content does not match its hash (modified)", row.seq)
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    head = conn.execute(select(HEAD.c["count"], HEAD.c.last_hash).where(HEAD.c.id == 1)).first()
    head_count, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    if (head_count, head_hash) != (checked, prev):
        problem = (
            f"the log ends at {checked} entries but {head_count} were written (entries removed from the end)"
        )
        return VerifyResult(False, checked, problem, checked + 1)
    return VerifyResult(True, checked)


def entries(conn: Connection, *, limit: int = 100, offset: int = 0, action: str | None = None) -> list[Any]:
    q = select(LOG).order_by(LOG.c.seq.desc()).limit(limit).offset(offset)
    if action is not None:
        q = q.where(LOG.c.action == action)
    return list(conn.execute(q))
