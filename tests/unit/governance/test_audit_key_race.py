"""Nodes of a cluster start at once on a fresh data directory and all create the audit signing key: every
one must end up with the same, complete key (a half-written key file made a worker exit at start)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from safecity.governance.audit_keys import fingerprint, load_or_create_key
from support.race import at_once

PROCESSES = 6
ROUNDS = 25


def _node(path: Path) -> str:
    return fingerprint(load_or_create_key(path).public_key())


def test_nodes_creating_the_key_at_once_share_one_complete_key(tmp_path: Path) -> None:
    for n in range(ROUNDS):
        path = tmp_path / f"round-{n}" / "keys" / "audit-ed25519.pem"
        seen = at_once([partial(_node, path)] * PROCESSES, 60)
        assert len(set(seen)) == 1 and not seen[0].startswith("error"), seen
        assert sorted(x.name for x in path.parent.iterdir()) == [path.name], "no temp file left behind"
        assert path.stat().st_mode & 0o777 == 0o600
