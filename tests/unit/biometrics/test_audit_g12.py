"""G12: every biometric action, unblurred view and export is in the append-only, hash-chained audit log;
`safecity audit verify` detects a modified, deleted or reordered entry, on SQLite and on PostgreSQL, where
the database itself refuses UPDATE and DELETE on the log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from safecity.biometrics import matches as mt
from safecity.biometrics import thresholds as th
from safecity.biometrics import watchlists as wl
from safecity.biometrics.authorizations import revoke_authorization
from safecity.biometrics.search import SearchRequest, retrospective_search
from safecity.cli import app as cli
from safecity.governance import audit
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_witness import install
from safecity.media.storage import LocalMediaStorage
from safecity.store import make_engine
from support.biometrics_fixtures import (
    ALICE,
    BOB,
    CAROL,
    CONFIG,
    REVIEWER,
    authorization,
    entry,
    now,
    reviewed_watchlist,
    template,
)


def _count(db: Session) -> int:
    return int(db.scalar(sa.select(sa.func.count()).select_from(audit.LOG)) or 0)


def _last_action(db: Session) -> str:
    return str(db.scalar(sa.select(audit.LOG.c.action).order_by(audit.LOG.c.seq.desc()).limit(1)))


def scenario(db: Session, tmp: Path) -> list[str]:
    """Every biometric action once; returns the action each call was audited as (one entry per call)."""
    seen: list[str] = []

    def step(call: Callable[[], object]) -> None:
        before = _count(db)
        call()
        assert _count(db) > before, "an action left no audit entry"
        seen.append(_last_action(db))

    row = reviewed_watchlist(db, ["c1"], [template(1)])
    auth = authorization(db, ["c1"], since=timedelta(hours=2))  # covers the search below
    step(lambda: wl.create_watchlist(db, "other", "", ["c1"], ALICE, CONFIG))
    step(lambda: wl.add_entries(db, row.id, [(entry("extra"), template(2))], ALICE, CONFIG))
    step(lambda: wl.review_watchlist(db, row.id, "ok", BOB))
    step(lambda: wl.activate(db, row.id, auth.id, ALICE))
    change = th.request_threshold(db, row.id, 0.35, "night camera", ALICE, CONFIG)
    step(lambda: th.decide_threshold(db, change.id, True, BOB))
    e = wl.live_entries(db, row.id)[0]
    match = mt.record_match(
        db, mt.NewMatch(row.id, e.id, "c1", 1, now(), 0.6, 0.5, "biometrics/matches/x.jpg")
    )
    step(lambda: mt.view_crop(db, match.id, ALICE))
    step(lambda: mt.review_match(db, match.id, True, "", ALICE, REVIEWER))
    step(lambda: mt.review_match(db, match.id, True, "", BOB, REVIEWER))
    step(lambda: mt.dispatch_match(db, match.id, "unit 7", CAROL, REVIEWER))
    req = SearchRequest(auth.id, ["c1"], now() - timedelta(hours=1), now() - timedelta(minutes=1), "case 1")
    step(
        lambda: retrospective_search(
            db, req, template(3), ALICE, CONFIG, LocalMediaStorage(tmp), cast(Any, (None, None))
        )
    )
    step(lambda: wl.stop(db, row.id, "suspect arrested", ALICE))
    step(lambda: wl.remove_entry(db, e.id, "no longer needed", ALICE))
    urgent = reviewed_watchlist(db, ["c1"], [template(4)])
    step(
        lambda: wl.start_urgent(
            db, urgent.id, "Child taken from the square ten minutes ago, court closed.", ALICE, CONFIG
        )
    )
    step(lambda: wl.attach_authorization(db, urgent.id, auth.id, BOB, CONFIG))
    step(lambda: revoke_authorization(db, auth.id, "ended", ALICE))
    db.commit()
    return seen


def test_every_biometric_action_is_audited(db: Session, tmp_path: Path) -> None:
    actions = scenario(db, tmp_path)
    assert actions == [
        "biometrics.watchlist.create",
        "biometrics.entry.add",
        "biometrics.watchlist.review",
        "biometrics.watchlist.activate",
        "biometrics.threshold.approve",
        "biometrics.match.view",
        "biometrics.match.review",
        "biometrics.match.review",
        "biometrics.match.dispatch",
        "biometrics.search",
        "biometrics.watchlist.stop",
        "biometrics.entry.remove",
        "biometrics.watchlist.urgent_start",
        "biometrics.watchlist.authorize",
        "biometrics.authorization.revoke",
    ]
    entries = audit.entries(db.connection(), limit=1000)
    assert {"biometrics.match", "biometrics.threshold.request", "biometrics.authorization.create"} <= {
        e.action for e in entries
    }
    assert audit.verify(db.connection()).ok


def _settings_file(tmp: Path, url: str) -> Path:
    path = tmp / "settings.yaml"
    path.write_text(f"storage: {{data_dir: {tmp}, database_url: '{url}'}}\n")
    return path


def _verify(settings: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "-c", str(settings)])
    return result.exit_code, result.output


def _unguard(conn: sa.Connection) -> None:
    """What a tamperer with full database rights does first: take the append-only triggers away."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))


def _tamper(conn: sa.Connection, how: str) -> None:
    log = audit.LOG
    if how == "modified":
        conn.execute(sa.update(log).where(log.c.seq == 3).values(details='{"note":"nothing to see"}'))
    elif how == "deleted":
        conn.execute(sa.delete(log).where(log.c.seq == 3))
    elif how == "truncated":
        conn.execute(sa.delete(log).where(log.c.seq == sa.select(sa.func.max(log.c.seq)).scalar_subquery()))
    else:  # reordered: entries 2 and 3 swap places (each keeps its own hash)
        cols = [c for c in log.c if c.name != "seq"]
        a, b = (conn.execute(sa.select(*cols).where(log.c.seq == s)).one()._asdict() for s in (2, 3))
        conn.execute(sa.update(log).where(log.c.seq == 2).values(**b))
        conn.execute(sa.update(log).where(log.c.seq == 3).values(**a))


@pytest.mark.parametrize("how", ["modified", "deleted", "reordered", "truncated"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_verify_detects_tampering(
    backend: str, how: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    sealer = install(url, AuditConfig(), tmp_path, follow=False)  # the key and witness, as the app has them
    try:
        with Session(engine) as db:
            scenario(db, tmp_path)
        sealer.sync()
        settings = _settings_file(tmp_path, url)
        assert _verify(settings)[0] == 0
        with engine.begin() as conn:
            _unguard(conn)
            _tamper(conn, how)
        code, output = _verify(settings)
        assert code == 1 and "BROKEN" in output, output
        expected = {"modified": "at entry 3", "deleted": "entry 3 is missing", "reordered": "at entry 2"}
        assert expected.get(how, "removed from the end") in output
    finally:
        sealer.close()
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_database_refuses_update_and_delete(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            scenario(db, tmp_path)
        for stmt in (sa.update(audit.LOG).values(actor="nobody"), sa.delete(audit.LOG)):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(stmt)
        with engine.connect() as conn:
            assert audit.verify(conn).ok
    finally:
        engine.dispose()
