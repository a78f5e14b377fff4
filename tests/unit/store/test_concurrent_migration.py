"""Cluster nodes on one host start at once on a fresh SQLite file: an API node or consumer opens the
store while workers run `upgrade`. Every one must come up on the migrated schema (a consumer used to
exit with "table events already exists", having migrated beside a worker)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect

from safecity.store import open_store
from safecity.store.migrate import current_revisions, head_revisions, upgrade

NODES = 4


def _node(kind: str, url: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    try:
        if kind == "store":
            open_store(url).close()
        else:
            upgrade(url)
        out.put("ok")
    except Exception as exc:  # reported to the test
        out.put(f"{kind}: {type(exc).__name__}: {exc}"[:300])


def test_nodes_migrating_one_sqlite_file_at_once_all_come_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'safecity.db'}"
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(NODES), ctx.Queue()
    kinds = ["store", "upgrade"] * (NODES // 2)
    procs = [ctx.Process(target=_node, args=(k, url, barrier, out)) for k in kinds]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == ["ok"] * NODES, results
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()
            assert "events" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
