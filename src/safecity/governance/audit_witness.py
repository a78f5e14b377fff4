"""The witness: signed records of the audit chain's head, kept outside the database.

Within `witness_interval_s` of each append (a thread woken by appends, and once more at close), the
`Sealer` reads the committed head, checks every new entry (hash, link, signature) and appends one signed
record to `<witness_dir>/audit-witness.jsonl`: the count, the last hash and the hash of every entry it
covers. Each retention purge is recorded as it happens (its range and anchor hash). The file is only
ever appended to (O_APPEND, one line per record, under flock so processes sharing it do not interleave).

`verify` (audit_verify) compares the database with these records: an entry rewritten, deleted,
re-inserted, moved or cut off the end no longer matches what the witness saw, and nobody without the key
file can write a witness record that verifies.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safecity.governance import audit
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_keys import (
    ALGORITHM,
    AuditKeyError,
    Signer,
    fingerprint,
    load_key,
    load_or_create_key,
    public_hex,
    register,
    unregister,
    valid,
)
from safecity.governance.audit_s3 import S3Witness
from safecity.store.engine import make_engine

log = logging.getLogger(__name__)
WITNESS_FILE = "audit-witness.jsonl"
VERSION = 1


def canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def record_valid(record: dict[str, Any], public: Any) -> bool:
    return valid(public, record.get("sig"), canonical(record))


class WitnessFile:
    """An append-only JSON-lines file of signed records."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / WITNESS_FILE

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """Every record, in file order; a line that is not JSON becomes {"kind": "unreadable"}."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            out.append(record if isinstance(record, dict) else {"kind": "unreadable", "line": number})
        return out


class Sealer(Signer):
    """Signs entries for one database and keeps its witness (see the module docstring)."""

    def __init__(self, url: str, config: AuditConfig, data_dir: Path) -> None:
        self.url = url
        self.key_file = config.resolved_key_file(data_dir)
        self.witness = WitnessFile(config.resolved_witness_dir(data_dir))
        self.copies = [S3Witness(config.witness_s3)] if config.witness_s3 is not None else []
        self.interval_s = config.witness_interval_s
        existing = self.witness.records()
        if existing and not self.key_file.exists():
            raise AuditKeyError(
                f"audit.key_file {self.key_file} is missing but the witness {self.witness.path} exists: "
                "restore the key file (a new key would make every signed entry unverifiable)"
            )
        super().__init__(load_or_create_key(self.key_file))
        self.engine = make_engine(url)
        self._sync_lock = threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[int] = set()
        self._count, self._hash = self._resume(existing)
        self._warn_if_behind()

    # -- records ------------------------------------------------------------------------------------

    def _write(self, record: dict[str, Any]) -> None:
        record = {"v": VERSION, "at": datetime.now(UTC).isoformat(), "key": fingerprint(self.public)} | record
        record["sig"] = self.sign(canonical(record))
        self.witness.append(record)
        for copy in self.copies:  # off-site, locked; the local file already holds the record
            try:
                copy.append(record)
            except Exception:
                log.exception("audit witness: could not write the record to its S3 copy")

    def _resume(self, existing: list[dict[str, Any]]) -> tuple[int, str]:
        """Where this witness stands; at first start, a genesis record adopts the chain as it is."""
        genesis = next((r for r in existing if r.get("kind") == "genesis"), None)
        if genesis is not None:
            if genesis.get("public_key") != public_hex(self.public):
                raise AuditKeyError(
                    f"audit.key_file {self.key_file} is not the key the witness {self.witness.path} was "
                    f"started with (key {genesis.get('key')})"
                )
            heads = [
                r for r in existing if r.get("kind") in ("genesis", "head") and record_valid(r, self.public)
            ]
            last = max(heads, key=lambda r: int(r["count"]))
            return int(last["count"]), str(last["last_hash"])
        with self.engine.connect() as conn:
            head = conn.execute(select(audit.HEAD).where(audit.HEAD.c.id == 1)).first()
        count, last_hash = (int(head._mapping["count"]), str(head.last_hash)) if head else (0, audit.GENESIS)
        anchor = [int(head.purged_through), str(head.purged_hash)] if head else [0, audit.GENESIS]
        self._write(
            {
                "kind": "genesis",
                "algorithm": ALGORITHM,
                "public_key": public_hex(self.public),
                "count": count,
                "last_hash": last_hash,
                "anchor": anchor,
            }
        )
        return count, last_hash

    def _warn_if_behind(self) -> None:
        with self.engine.connect() as conn:
            count = conn.execute(select(audit.HEAD.c["count"]).where(audit.HEAD.c.id == 1)).scalar()
        if count is not None and int(count) < self._count:
            log.error(
                "audit: the log holds %s entries but its witness saw %s: entries were removed; "
                "run `safecity audit verify`",
                count,
                self._count,
            )

    def purged(self, first: int, through: int, anchor: str, removed: int) -> None:
        self._write({"kind": "purge", "from": first, "through": through, "hash": anchor, "removed": removed})

    def witness_records(self) -> list[dict[str, Any]]:
        return self.witness.records() + [r for copy in self.copies for r in copy.records()]

    # -- following the head -------------------------------------------------------------------------

    def appended(self) -> None:
        self._wake.set()

    def sync(self) -> int:
        """Witness every committed entry not witnessed yet; returns how many."""
        with self._sync_lock, self.engine.connect() as conn:
            head = conn.execute(select(audit.HEAD).where(audit.HEAD.c.id == 1)).first()
            if head is None or int(head._mapping["count"]) <= self._count:
                return 0
            if int(head.purged_through) > self._count:  # purged before it was witnessed (recorded as purge)
                self._count, self._hash = int(head.purged_through), str(head.purged_hash)
            log_ = audit.LOG
            rows = conn.execute(
                select(log_)
                .where(log_.c.seq > self._count, log_.c.seq <= int(head._mapping["count"]))
                .order_by(log_.c.seq)
            )
            hashes = self._checked(rows)
        if not hashes:
            return 0
        first = self._count + 1
        self._write({"kind": "head", "from": first, "count": first + len(hashes) - 1,
                     "last_hash": hashes[-1], "hashes": hashes})  # fmt: skip
        self._count, self._hash = first + len(hashes) - 1, hashes[-1]
        return len(hashes)

    def _checked(self, rows: Any) -> list[str]:
        """The hashes of the new entries up to the first that does not verify (never witnessed)."""
        hashes: list[str] = []
        prev, expected = self._hash, self._count + 1
        for r in rows:
            digest = audit.entry_hash(prev, r.seq, r.at, r.actor, r.action, r.subject, r.details)
            if (
                r.seq != expected
                or r.prev_hash != prev
                or digest != r.hash
                or not valid(self.public, r.sig, r.hash.encode())
            ):
                if r.seq not in self._reported:
                    self._reported.add(r.seq)
                    log.error("audit witness: entry %s does not verify; not witnessed", r.seq)
                break
            hashes.append(r.hash)
            prev, expected = r.hash, expected + 1
        return hashes

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="audit-witness", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.interval_s)
            self._wake.clear()
            if woken:
                self._stop.wait(0.05)  # the append's transaction commits just after it wakes us
            try:
                self.sync()
            except Exception:
                log.exception("audit witness: sync failed")

    def _at_exit(self) -> None:
        try:
            self.sync()
        except Exception:
            log.exception("audit witness: sync at exit failed")

    def close(self) -> None:
        atexit.unregister(self._at_exit)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        try:
            self.sync()
        except Exception:
            log.exception("audit witness: final sync failed")
        unregister(self.url, self)
        self.engine.dispose()


def install(url: str, config: AuditConfig, data_dir: Path, *, follow: bool = True) -> Sealer:
    """Key and witness for the database at `url`; `audit.append` on it signs from now on. With `follow`,
    a thread witnesses appends within `witness_interval_s`; without it (short CLI runs), call `close()`
    (also run at exit) to witness what was written."""
    sealer = Sealer(url, config, data_dir)
    register(url, sealer)
    if follow:
        sealer.start()
    atexit.register(sealer._at_exit)
    return sealer


def witness_records(config: AuditConfig, data_dir: Path) -> list[dict[str, Any]]:
    """Every witness record: the local file's and, when configured, the S3 copies' (read-only)."""
    records = WitnessFile(config.resolved_witness_dir(data_dir)).records()
    if config.witness_s3 is not None:
        records += S3Witness(config.witness_s3).records()
    return records


def public_key_of(config: AuditConfig, data_dir: Path) -> Any:
    """The public key from the key file (read-only, for `verify`)."""
    return load_key(config.resolved_key_file(data_dir)).public_key()
