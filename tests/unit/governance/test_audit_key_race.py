"""Nodes of a cluster start at once on a fresh data directory and all create the audit signing key: every
one must end up with the same, complete key (a half-written key file made a worker exit at start)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from safecity.governance.audit_keys import fingerprint, load_or_create_key

PROCESSES = 6
ROUNDS = 25


def _node(path: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    try:
        out.put(fingerprint(load_or_create_key(Path(path)).public_key()))
    except Exception as exc:  # reported to the test
        out.put(f"error: {exc}")


def test_nodes_creating_the_key_at_once_share_one_complete_key(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for n in range(ROUNDS):
        path = tmp_path / f"round-{n}" / "keys" / "audit-ed25519.pem"
        barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [ctx.Process(target=_node, args=(str(path), barrier, out)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        seen = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert len(set(seen)) == 1 and not seen[0].startswith("error"), seen
        assert sorted(x.name for x in path.parent.iterdir()) == [path.name], "no temp file left behind"
        assert path.stat().st_mode & 0o777 == 0o600
