"""Read-only access to the audit log for `verify` and for outside auditors.

`read_only_engine` opens the database so that nothing can be written (SQLite `mode=ro`, PostgreSQL
`default_transaction_read_only`), and never migrates. `export_lines` writes a period of the log as JSON
lines with the public key and the witness records; `verify_export` checks such a file with no database:
each entry's hash and signature, the links between consecutive entries, and each against the witness.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.engine import Connection

from safecity.governance import audit
from safecity.governance.audit_keys import (
    ALGORITHM,
    fingerprint,
    public_from_hex,
    public_hex,
    public_pem,
    valid,
)
from safecity.governance.audit_verify import Finding, read_witness
from safecity.store.engine import normalize_url

FORMAT = "safecity-audit-export/1"


class AuditAccessError(RuntimeError):
    """The database cannot be read as it is (missing, or not migrated to this version)."""


def read_only_engine(url: str) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.is_file():
            raise AuditAccessError(f"no database at {path}")
        return create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    options = str(parsed.query.get("options", ""))
    readonly = parsed.update_query_dict({"options": f"{options} -c default_transaction_read_only=on".strip()})
    return create_engine(readonly)


def require_current(conn: Connection) -> None:
    """Refuse (never migrate) a database whose audit log predates keying."""
    tables = inspect(conn)
    if not tables.has_table("audit_log"):
        raise AuditAccessError("the database has no audit log (never started with this version)")
    if "sig" not in {c["name"] for c in tables.get_columns("audit_log")}:
        raise AuditAccessError("the database is not migrated to this version; start safecity once first")


def _entry(r: Any) -> dict[str, Any]:
    return {
        "kind": "entry",
        "seq": r.seq,
        "at": r.at.astimezone(UTC).isoformat(),
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "details": r.details,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
        "sig": r.sig,
    }


def export_lines(
    conn: Connection, public: Any, records: list[dict[str, Any]], since: datetime, until: datetime
) -> Iterator[str]:
    head = conn.execute(select(audit.HEAD).where(audit.HEAD.c.id == 1)).first()
    header = {
        "kind": "header",
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "public_key": public_hex(public),
        "public_key_pem": public_pem(public),
        "fingerprint": fingerprint(public),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "exported_at": datetime.now(UTC).isoformat(),
        "head": {"count": head._mapping["count"], "last_hash": head.last_hash} if head else None,
        "anchor": [head.purged_through, head.purged_hash] if head else [0, audit.GENESIS],
    }
    yield json.dumps(header, sort_keys=True)
    log = audit.LOG
    rows = conn.execute(select(log).where(log.c.at >= since, log.c.at < until).order_by(log.c.seq))
    for r in rows.yield_per(1000):
        yield json.dumps(_entry(r), sort_keys=True, ensure_ascii=False)
    for record in records:
        yield json.dumps({"kind": "witness", "record": record}, sort_keys=True)


def _check_entry(
    e: dict[str, Any], public: Any, prev: dict[str, Any] | None, hashes: dict[int, str]
) -> Finding | None:
    at = datetime.fromisoformat(e["at"])
    own = audit.entry_hash(e["prev_hash"], e["seq"], at, e["actor"], e["action"], e["subject"], e["details"])
    if own != e["hash"]:
        return Finding("modified", e["seq"], "content does not match its hash")
    if prev is not None and e["seq"] == prev["seq"] + 1 and e["prev_hash"] != prev["hash"]:
        return Finding("reordered", e["seq"], "does not follow the entry before it")
    if prev is not None and e["seq"] != prev["seq"] + 1:
        return Finding("deleted", prev["seq"] + 1, f"entries {prev['seq'] + 1}..{e['seq'] - 1} are missing")
    witnessed = hashes.get(e["seq"])
    if witnessed is not None and witnessed != e["hash"]:
        return Finding("re-inserted", e["seq"], "differs from the entry the witness saw")
    if witnessed is None and not valid(public, e.get("sig"), e["hash"].encode()):
        return Finding("re-inserted", e["seq"], "not signed by the audit key")
    return None


def verify_export(lines: Iterable[str], public: Any = None) -> audit.VerifyResult:
    """Check an export with no database (`public`: the key the auditor trusts; default the file's)."""
    parsed = [json.loads(line) for line in lines if line.strip()]
    if not parsed or parsed[0].get("format") != FORMAT:
        return audit.VerifyResult(False, 0, f"not a {FORMAT} file")
    public = public or public_from_hex(parsed[0]["public_key"])
    w = read_witness([p["record"] for p in parsed if p.get("kind") == "witness"], public)
    entries = [p for p in parsed if p.get("kind") == "entry"]
    findings, prev = list(w.findings), None
    for e in entries:
        if (f := _check_entry(e, public, prev, w.hashes)) is not None:
            findings.append(f)
        prev = e
    if not findings:
        return audit.VerifyResult(True, len(entries))
    first = next((f.seq for f in findings if f.seq is not None), None)
    return audit.VerifyResult(False, len(entries), "; ".join(map(str, findings)), first, tuple(findings))
