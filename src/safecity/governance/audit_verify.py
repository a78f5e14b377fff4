"""`verify` against the key and the witness: every kind of tampering found is named.

Inputs: the public key, the witness records (audit_witness) and the database's head and entries, read
only. The witness holds the hash of every entry it saw, so each entry is compared with what was
witnessed at its number:

- modified: the entry's stored signature still signs the witnessed hash, but its content no longer
  hashes to it (changed in place);
- re-inserted: the entry differs from the witnessed one and its signature is not the key's (deleted and
  inserted again, or rewritten with recomputed hashes);
- reordered: the entry is one the witness saw at another number;
- deleted: a number is missing, or an entry the witness saw is nowhere (later entries renumbered), or the
  oldest entries are gone without a witnessed purge ending there;
- truncated: the log ends before the witnessed count (whatever `audit_head` now says).

Entries newer than the last witness record are checked by their signature and link. A witness record that
the key did not sign is reported too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from safecity.governance import audit
from safecity.governance.audit_keys import valid
from safecity.governance.audit_witness import record_valid

MOVE_WINDOW = 16  # how far from its number a moved entry is looked for when its hash was recomputed


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # modified | re-inserted | reordered | deleted | truncated | witness
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f" at entry {self.seq}" if self.seq is not None else ""
        return f"{self.kind}{where}: {self.message}"


@dataclass
class Witnessed:
    hashes: dict[int, str] = field(default_factory=dict)
    count: int = 0
    genesis_count: int = 0
    genesis_anchor: tuple[int, str] = (0, audit.GENESIS)
    purges: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def read_witness(records: Iterable[dict[str, Any]], public: Any) -> Witnessed:
    """What the witness saw; records the key did not sign are findings, not evidence."""
    w, genesis = Witnessed(), False
    for number, r in enumerate(records, 1):
        if not record_valid(r, public):
            w.findings.append(Finding("witness", None, f"record {number} is not signed by the audit key"))
            continue
        kind = r.get("kind")
        if kind == "genesis" and not genesis:
            genesis, w.genesis_count = True, int(r["count"])
            w.genesis_anchor = (int(r["anchor"][0]), str(r["anchor"][1]))
            if w.genesis_count:
                w.hashes[w.genesis_count] = str(r["last_hash"])
            w.count = max(w.count, w.genesis_count)
        elif kind == "head":
            for seq, digest in enumerate(r["hashes"], int(r["from"])):
                if w.hashes.setdefault(seq, digest) != digest:
                    w.findings.append(Finding("witness", seq, "witness records disagree on this entry"))
            w.count = max(w.count, int(r["count"]))
        elif kind == "purge":
            w.purges[int(r["through"])] = str(r["hash"])
    if not genesis:
        w.findings.append(
            Finding("witness", None, "no genesis record: the witness file is missing or replaced")
        )
    return w


def _moved_from(row: Any, w: Witnessed, by_hash: dict[str, int]) -> int | None:
    """The number the witness saw this entry's content at, if not its own."""
    content = (row.at, row.actor, row.action, row.subject, row.details)
    s = by_hash.get(row.hash)
    if s is not None and s != row.seq and audit.entry_hash(row.prev_hash, s, *content) == row.hash:
        return s
    for s in range(max(1, row.seq - MOVE_WINDOW), row.seq + MOVE_WINDOW + 1):
        prev = w.hashes.get(s - 1, audit.GENESIS if s == 1 else None)
        if s != row.seq and prev is not None and w.hashes.get(s) == audit.entry_hash(prev, s, *content):
            return s
    return None


class _Walk:
    """One pass over the entries in number order."""

    def __init__(self, w: Witnessed, public: Any, anchor: tuple[int, str]) -> None:
        self.w, self.public = w, public
        self.by_hash = {h: s for s, h in w.hashes.items()}
        self.findings: list[Finding] = []
        self.present: set[int] = set()  # witnessed numbers whose entry is somewhere in the log
        self.last, self.prev, self.checked = anchor[0], anchor[1], 0

    def row(self, r: Any) -> None:
        if r.seq <= self.last:  # rows come in number order: only entries at or before the anchor
            self.findings.append(Finding("re-inserted", r.seq, "entry is older than the purge anchor"))
            return
        if r.seq > self.last + 1:
            gap = f"{self.last + 1}" if r.seq == self.last + 2 else f"{self.last + 1}..{r.seq - 1}"
            self.findings.append(Finding("deleted", self.last + 1, f"entry {gap} is missing"))
        finding = self._entry(r)
        if finding is not None:
            self.findings.append(finding)
        self.last, self.prev, self.checked = r.seq, r.hash, self.checked + 1

    def _authentic(self, r: Any, orig: str) -> bool:
        """The content is what the witness saw here, whatever the stored hashes now say."""
        prev = self.w.hashes.get(r.seq - 1, audit.GENESIS if r.seq == 1 else None)
        content = (r.at, r.actor, r.action, r.subject, r.details)
        return prev is not None and audit.entry_hash(prev, r.seq, *content) == orig

    def _entry(self, r: Any) -> Finding | None:
        own = audit.entry_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.subject, r.details)
        orig = self.w.hashes.get(r.seq)
        if orig is not None and (r.hash == orig == own or self._authentic(r, orig)):
            self.present.add(
                r.seq
            )  # (an authentic entry re-hashed after an earlier change: that one is named)
            return None
        if orig is not None or self.by_hash.get(r.hash) is not None:
            moved = _moved_from(r, self.w, self.by_hash)
            if moved is not None:
                self.present.add(moved)
                return Finding("reordered", r.seq, f"this is the entry written as {moved}")
        if orig is not None:
            if valid(self.public, r.sig, orig.encode()):
                return Finding("modified", r.seq, "content changed after it was signed and witnessed")
            return Finding(
                "re-inserted", r.seq, "replaced by an entry the audit key did not sign (recomputed hash)"
            )
        if own != r.hash:
            return Finding("modified", r.seq, "content does not match its hash")
        if r.prev_hash != self.prev:
            return Finding("reordered", r.seq, "does not follow the entry before it")
        if r.seq > self.w.genesis_count and not valid(self.public, r.sig, r.hash.encode()):
            return Finding(
                "re-inserted", r.seq, "not signed by the audit key (inserted with a computed hash)"
            )
        return None


def _anchor_finding(anchor: tuple[int, str], w: Witnessed) -> Finding | None:
    seq, digest = anchor
    if seq == 0 or anchor == w.genesis_anchor or w.purges.get(seq) == digest:
        return None
    return Finding("deleted", 1, f"entries up to {seq} were removed without a witnessed retention purge")


def compare(head: Any, rows: Iterable[Any], public: Any, records: list[dict[str, Any]]) -> audit.VerifyResult:
    """The database's head and entries (in number order) against the witness."""
    w = read_witness(records, public)
    anchor = (int(head.purged_through), str(head.purged_hash)) if head else (0, audit.GENESIS)
    findings = list(w.findings)
    if (f := _anchor_finding(anchor, w)) is not None:
        findings.append(f)
    walk = _Walk(w, public, anchor)
    for r in rows:
        walk.row(r)
    findings += walk.findings
    gone = [s for s in range(anchor[0] + 1, w.count + 1) if s not in walk.present and s > walk.last]
    if gone:
        findings.append(
            Finding(
                "truncated",
                gone[0],
                f"entries {gone[0]}..{gone[-1]} were removed from the end "
                f"(the witness saw {w.count}, the log ends at {walk.last})",
            )
        )
    flagged = {f.seq for f in findings if f.kind != "reordered"}  # a moved entry does not explain a gone one
    for s in range(anchor[0] + 1, min(walk.last, w.count) + 1):
        if s not in walk.present and s not in flagged and s > w.genesis_count:
            findings.append(Finding("deleted", s, "the entry the witness saw here is gone (renumbered)"))
    head_count = int(head._mapping["count"]) if head else 0
    if head_count < walk.last or (head_count > walk.last and not gone):
        kind = "truncated" if head_count > walk.last else "head"
        says = f"audit_head says {head_count} entries, the log ends at {walk.last}"
        findings.append(Finding(kind, walk.last, says))
    notes = (f"{walk.last - w.count} newest entries not witnessed yet",) if walk.last > w.count else ()
    if not findings:
        return audit.VerifyResult(True, walk.checked, notes=notes)
    findings.sort(key=lambda f: (f.seq is not None, f.seq or 0))
    first = next((f.seq for f in findings if f.seq is not None), None)
    problem = "; ".join(str(f) for f in findings)
    return audit.VerifyResult(False, walk.checked, problem, first, tuple(findings), notes)


def check(conn: Connection, public: Any, records: list[dict[str, Any]]) -> audit.VerifyResult:
    head = conn.execute(select(audit.HEAD).where(audit.HEAD.c.id == 1)).first()
    rows = conn.execute(select(audit.LOG).order_by(audit.LOG.c.seq)).yield_per(1000)
    return compare(head, rows, public, records)
