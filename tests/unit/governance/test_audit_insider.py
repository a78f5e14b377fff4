"""An insider with every right on every table (triggers dropped, `audit_head` rewritten, plain SHA-256
hashes recomputed) cannot modify, delete, re-insert, reorder or cut off audit entries unnoticed:
`verify`, holding the key's public half and the witness, names what was done. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from safecity.governance import audit
from unit.governance.conftest import Sealed, unguard

LOG, HEAD = audit.LOG, audit.HEAD
N = 8


def _rows(conn: sa.Connection) -> list[dict[str, object]]:
    return [r._asdict() for r in conn.execute(sa.select(LOG).order_by(LOG.c.seq))]


def _rechain(conn: sa.Connection, rows: list[dict[str, object]]) -> None:
    """What a careful tamperer does after any change: recompute every plain hash, rewrite the log and the
    head so that the unkeyed chain verifies again (signatures are left as they were: no key)."""
    conn.execute(sa.delete(LOG))
    prev = audit.GENESIS
    for seq, row in enumerate(rows, 1):
        row = {**row, "seq": seq, "prev_hash": prev}
        row["hash"] = audit.entry_hash(
            prev,
            seq,
            row["at"],
            row["actor"],
            row["action"],
            row["subject"],
            row["details"],  # type: ignore[arg-type]
        )
        conn.execute(sa.insert(LOG).values(**row))
        prev = str(row["hash"])
    conn.execute(sa.update(HEAD).values(count=len(rows), last_hash=prev))


def _plain_chain_ok(sealed: Sealed) -> bool:
    with sealed.engine.connect() as conn:
        return audit._verify_plain(conn).ok


def test_untouched_log_verifies_and_is_witnessed(sealed: Sealed) -> None:
    sealed.write(N)
    result = sealed.verify()
    assert result.ok and result.checked == N, result
    heads = [r for r in sealed.sealer.witness_records() if r["kind"] == "head"]
    assert heads[-1]["count"] == N and len({h for r in heads for h in r["hashes"]}) == N
    with sealed.engine.connect() as conn:
        assert all(r.sig for r in conn.execute(sa.select(LOG.c.sig)))


def test_modified_in_place(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        conn.execute(sa.update(LOG).where(LOG.c.seq == 4).values(details='{"i":"nothing to see"}'))
    result = sealed.verify()
    assert not result.ok and result.seq == 4 and "modified at entry 4" in str(result), result


def test_modified_and_rechained_with_head_rewritten(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        rows = _rows(conn)
        rows[3]["actor"] = "someone-else"
        _rechain(conn, rows)
    assert _plain_chain_ok(sealed), "the attack must defeat the unkeyed chain"
    result = sealed.verify()
    assert not result.ok and "modified at entry 4" in str(result), result
    assert [f.seq for f in result.findings] == [4], result  # later entries: authentic, only re-hashed


def test_deleted_from_the_middle(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        conn.execute(sa.delete(LOG).where(LOG.c.seq == 4))
    result = sealed.verify()
    assert not result.ok and "deleted at entry 4" in str(result), result


def test_deleted_renumbered_and_rechained(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        rows = _rows(conn)
        del rows[3]
        _rechain(conn, rows)
    assert _plain_chain_ok(sealed)
    result = sealed.verify()
    assert not result.ok and "deleted at entry 4" in str(result), result
    assert "reordered at entry 4: this is the entry written as 5" in str(result)
    assert "truncated" not in result.problem  # type: ignore[operator]


def test_deleted_and_reinserted_with_recomputed_hashes(sealed: Sealed) -> None:
    """The purge permit raised by hand: entry 4 deleted, a different one inserted in its place."""
    sealed.write(N)
    with sealed.engine.begin() as conn:
        conn.execute(sa.update(HEAD).values(purge_permit=N))  # the triggers let DELETE through now
        rows = _rows(conn)
        rows[3] = {**rows[3], "action": "test.harmless", "sig": "00" * 64}
        _rechain(conn, rows)
        conn.execute(sa.update(HEAD).values(purge_permit=0))
    assert _plain_chain_ok(sealed)
    result = sealed.verify()
    assert not result.ok and "re-inserted at entry 4" in str(result), result


def test_reordered(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        rows = _rows(conn)
        rows[2], rows[3] = rows[3], rows[2]
        _rechain(conn, rows)
    assert _plain_chain_ok(sealed)
    text = str(sealed.verify())
    assert "reordered at entry 3: this is the entry written as 4" in text, text
    assert "reordered at entry 4: this is the entry written as 3" in text, text


def test_tail_truncated_and_head_rewritten(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        conn.execute(sa.delete(LOG).where(LOG.c.seq >= N - 1))
        last = conn.execute(sa.select(LOG.c.hash).where(LOG.c.seq == N - 2)).scalar_one()
        conn.execute(sa.update(HEAD).values(count=N - 2, last_hash=last))
    assert _plain_chain_ok(sealed), "today's verify is fooled by this"
    result = sealed.verify()
    assert not result.ok and f"truncated at entry {N - 1}: entries {N - 1}..{N}" in str(result), result


def test_oldest_deleted_with_a_forged_purge_anchor(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        unguard(conn)
        anchor = conn.execute(sa.select(LOG.c.hash).where(LOG.c.seq == 3)).scalar_one()
        conn.execute(sa.delete(LOG).where(LOG.c.seq <= 3))
        conn.execute(sa.update(HEAD).values(purged_through=3, purged_hash=anchor))
    assert _plain_chain_ok(sealed)
    result = sealed.verify()
    assert not result.ok and "entries up to 3 were removed without a witnessed retention purge" in str(result)


def test_a_retention_purge_stays_provable(sealed: Sealed) -> None:
    sealed.write(N)
    with sealed.engine.begin() as conn:
        assert audit.purge_through(conn, 3) == 3
        audit.append(conn, "retention", "retention.purge", "retention", {})
    sealed.sealer.sync()
    assert sealed.verify().ok, sealed.verify()
    purge = [r for r in sealed.sealer.witness_records() if r["kind"] == "purge"]
    assert [(p["from"], p["through"], p["removed"]) for p in purge] == [(1, 3, 3)]


def test_entry_appended_without_the_key_is_caught(sealed: Sealed) -> None:
    """Written after the last witness record, by someone who computes the plain hash but has no key."""
    sealed.write(N)
    with sealed.engine.begin() as conn:
        prev = conn.execute(sa.select(HEAD.c.last_hash)).scalar_one()
        at = conn.execute(sa.select(LOG.c.at).where(LOG.c.seq == N)).scalar_one()
        digest = audit.entry_hash(prev, N + 1, at, "ghost", "users.create", "user:ghost", "{}")
        row = {"actor": "ghost", "action": "users.create", "subject": "user:ghost", "details": "{}"}
        conn.execute(sa.insert(LOG).values(seq=N + 1, at=at, prev_hash=prev, hash=digest, **row))
        conn.execute(sa.update(HEAD).values(count=N + 1, last_hash=digest))
    assert sealed.sealer.sync() == 0, "the witness must not vouch for an unsigned entry"
    assert "re-inserted at entry 9: not signed by the audit key" in str(sealed.verify())


def test_forged_witness_record_is_named(sealed: Sealed) -> None:
    sealed.write(N)
    path = sealed.sealer.witness.path
    record = json.loads(path.read_text().splitlines()[-1])
    record["count"] = 2
    with path.open("a") as out:
        out.write(json.dumps(record) + "\n")
    result = sealed.verify()
    assert not result.ok and "is not signed by the audit key" in str(result), result


@pytest.mark.parametrize("backend_hint", ["thread"])
def test_the_witness_follows_appends_within_a_second(sealed: Sealed, backend_hint: str) -> None:
    import time

    sealed.sealer.start()
    with sealed.engine.begin() as conn:
        audit.append(conn, "alice", "test.act", "x", {})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(r.get("count") == 1 for r in sealed.sealer.witness_records() if r["kind"] == "head"):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no witness record within 5 s")


def test_two_apps_on_one_database_keep_signing_when_one_closes(sealed: Sealed) -> None:
    """Two nodes in one process (API + worker, tests): the second closing must not unkey the first."""
    from safecity.governance.audit_witness import install

    second = install(sealed.url, sealed.config, sealed.data_dir, follow=False)
    sealed.write(2)
    second.close()
    sealed.write(2)
    result = sealed.verify()
    assert result.ok and result.checked == 4, result
