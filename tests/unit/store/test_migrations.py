"""One linear migration history, and wave-1 databases (six branch heads) upgrade onto it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from safecity.store.migrate import (
    LEGACY_BRANCH_HEADS,
    LEGACY_HEAD,
    alembic_config,
    current_revisions,
    head_revisions,
    upgrade,
)


def test_one_head_and_no_branches() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert len({r.revision for r in revisions}) == len(revisions)
    # every revision has at most one parent and at most one child: a line, not a tree
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)
    assert all(len(r.nextrev) <= 1 for r in revisions)
    prefixes = [r.revision.split("_", 1)[0] for r in revisions]
    assert len(set(prefixes)) == len(prefixes), "two revisions share a number"


def test_legacy_branched_database_upgrades_to_the_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    upgrade(url, LEGACY_HEAD)  # the schema wave 1 left (later revisions did not exist then)
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        conn.execute(text("DELETE FROM alembic_version"))
        for rev in sorted(LEGACY_BRANCH_HEADS):  # what wave 1 left: one row per branch head
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": rev})
    upgrade(url)
    with engine.connect() as conn:
        assert current_revisions(conn) == head_revisions()
        assert set(inspect(conn).get_table_names()) >= tables  # and the later revisions ran on top
    engine.dispose()


def test_partial_legacy_set_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        for rev in ("0002_accounts", "0004_media"):
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": rev})
    engine.dispose()
    with pytest.raises(RuntimeError, match="partial wave-1"):
        upgrade(url)
