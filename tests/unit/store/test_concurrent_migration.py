"""Cluster nodes on one host start at once on a fresh SQLite file: an API node or consumer opens the
store while workers run `upgrade`. Every one must come up on the migrated schema (a consumer used to
exit with "table events already exists", having migrated beside a worker)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, inspect

from safecity.store import open_store
from safecity.store.migrate import current_revisions, head_revisions, upgrade
from support.race import at_once

NODES = 4


def _node(kind: str, url: str) -> str:
    if kind == "store":
        open_store(url).close()
    else:
        upgrade(url)
    return "ok"


def test_nodes_migrating_one_sqlite_file_at_once_all_come_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'safecity.db'}"
    kinds = ["store", "upgrade"] * (NODES // 2)
    results = at_once([partial(_node, k, url) for k in kinds])
    assert results == ["ok"] * NODES, results
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()
            assert "events" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
