"""The append-only, hash-chained audit log (DESIGN.md, G12).

Each entry's hash covers its own content and the previous entry's hash, so modifying, deleting or
reordering any entry breaks the chain at that point, and `verify` names it. Sequence numbers are
contiguous, which exposes a deleted entry in the middle; the head (count and last hash) is also kept in
`audit_head`, updated in the same transaction, which exposes a truncated tail. The database refuses
UPDATE and DELETE on the log itself (triggers on SQLite and PostgreSQL, see migration 0006_audit):
tampering needs someone who can also drop triggers, and `verify` catches what they did.

Appends are serialised (one writer at a time: SQLite's write lock, a PostgreSQL advisory lock), because
each entry depends on the one before it.

Retention (governance.retention) is the one path that removes entries: `purge_through(conn, seq)` sets
`audit_head.purge_permit` (the triggers let DELETE through for entries up to it, in that transaction
only), removes the oldest entries and records the last removed entry's sequence number and hash as the
chain's anchor (`purged_through`, `purged_hash`), from which `verify` then starts. Removing old entries
any other way still shows: the first remaining entry no longer follows the anchor.

Against an insider with every database right (triggers dropped, rows and `audit_head` rewritten, hashes
recomputed) two things outside the database hold: each entry's `sig`, an Ed25519 signature of its hash
with a key file the database never sees (audit_keys), and the witness, signed records of every entry's
hash and of each purge in an append-only file (audit_witness). `verify` checks the chain against both
(audit_verify) and names each modification, deletion, re-insertion, reordering or truncation; see
docs/audit.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Integer, String, Table, Text, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from safecity.governance.audit_keys import signer_for
from safecity.store.models import Base, UTCDateTime

log = logging.getLogger(__name__)
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
    # Ed25519 signature of `hash` with the key outside the database (audit_keys); NULL before keying
    sig: Mapped[str | None] = mapped_column(String(128), nullable=True)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)  # entries ever written (the last seq)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    purged_through: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    purged_hash: Mapped[str] = mapped_column(String(64), nullable=False, server_default=GENESIS)
    purge_permit: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


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
    signer = signer_for(conn.engine.url)
    if signer is None:
        _warn_unsigned(conn)
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
            sig=signer.sign(digest.encode()) if signer is not None else None,
        )
    )
    if head is None:
        conn.execute(insert(HEAD).values(id=1, count=seq, last_hash=digest))
    else:
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(count=seq, last_hash=digest))
    if signer is not None:
        signer.appended()
    return seq


_warned: set[str] = set()


def _warn_unsigned(conn: Connection) -> None:
    """Once per database: this process writes entries `verify` will report as not signed by the key."""
    url = conn.engine.url.render_as_string(hide_password=True)
    if url not in _warned:
        _warned.add(url)
        log.warning(
            "audit: entries written unsigned to %s: this process did not install the audit key "
            "(governance.audit_witness.install, done by build_app)",
            url,
        )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None  # the first entry at which the chain breaks
    findings: tuple[Any, ...] = ()  # audit_verify.Finding: every kind of tampering found, named
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.checked} entries" + "".join(f" ({n})" for n in self.notes)
        if self.findings:
            lines = "".join(f"\n  {f}" for f in self.findings)
            return f"audit log BROKEN at entry {self.seq} ({self.checked} entries checked):{lines}"
        return f"audit log BROKEN at entry {self.seq}: {self.problem} ({self.checked} entries checked)"


def _rows(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(select(LOG).order_by(LOG.c.seq)).yield_per(1000)


def verify(
    conn: Connection, *, public: Any = None, records: list[dict[str, Any]] | None = None
) -> VerifyResult:
    """Check the chain against its key and witness (audit_verify.check): `public` and the witness
    `records` given, or those of the key registered for this database. With neither (a database that was
    never keyed), only the plain chain: from its anchor, the first inconsistency with its number."""
    signer = signer_for(conn.engine.url)
    if public is None and signer is not None:
        public, records = signer.public, signer.witness_records()
    if public is not None:
        from safecity.governance.audit_verify import check

        return check(conn, public, records or [])
    return _verify_plain(conn)


def _verify_plain(conn: Connection) -> VerifyResult:
    head = conn.execute(select(HEAD).where(HEAD.c.id == 1)).first()
    head_count, head_hash = (int(head[1]), str(head[2])) if head else (0, GENESIS)
    anchor, prev = (int(head.purged_through), str(head.purged_hash)) if head else (0, GENESIS)
    expected_seq, checked = anchor + 1, 0
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
    if (head_count, head_hash) != (expected_seq - 1, prev):
        problem = (
            f"the log ends at entry {expected_seq - 1} but {head_count} were written "
            "(entries removed from the end)"
        )
        return VerifyResult(False, checked, problem, expected_seq)
    return VerifyResult(True, checked)


def purgeable(conn: Connection, before: datetime) -> tuple[int, int]:
    """(last seq, count) of the oldest entries written before `before`: what a purge would remove."""
    newer = conn.execute(select(func.min(LOG.c.seq)).where(LOG.c.at >= before)).scalar()
    if newer is None:
        newer = int(conn.execute(select(func.coalesce(func.max(LOG.c.seq), 0))).scalar_one()) + 1
    through = int(newer) - 1
    count = int(conn.execute(select(func.count()).select_from(LOG).where(LOG.c.seq <= through)).scalar_one())
    return (through, count) if count else (0, 0)


def purge_through(conn: Connection, through: int) -> int:
    """Remove the entries up to `through` (retention only) and anchor the chain there; how many."""
    if through <= 0:
        return 0
    _lock(conn)
    anchor = conn.execute(select(LOG.c.hash).where(LOG.c.seq == through)).scalar_one()
    first = conn.execute(select(func.min(LOG.c.seq))).scalar_one()
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(purge_permit=through))
    removed = int(conn.execute(LOG.delete().where(LOG.c.seq <= through)).rowcount or 0)
    conn.execute(
        update(HEAD).where(HEAD.c.id == 1).values(purge_permit=0, purged_through=through, purged_hash=anchor)
    )
    signer = signer_for(conn.engine.url)
    if signer is not None:  # the witness records the purge's range and anchor
        signer.purged(int(first), through, anchor, removed)
    return removed


def entries(conn: Connection, *, limit: int = 100, offset: int = 0, action: str | None = None) -> list[Any]:
    q = select(LOG).order_by(LOG.c.seq.desc()).limit(limit).offset(offset)
    if action is not None:
        q = q.where(LOG.c.action == action)
    return list(conn.execute(q))
