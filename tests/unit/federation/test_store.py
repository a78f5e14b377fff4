"""The national ledger: a message applied once, whatever the redeliveries (SQLite; PostgreSQL in CI)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from safecity.federation.link import Received
from safecity.federation.messages import AlertSummary, Envelope, msg_id
from safecity.federation.models import FedAlertRow, FedMessageRow
from safecity.federation.store import store_batch
from safecity.store.engine import make_engine
from safecity.store.migrate import upgrade

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def received(seq: int, status: str, occurrences: int) -> Received:
    body = AlertSummary(
        alert_id=7,
        alert_kind="crowding",
        severity="high",
        status=status,
        title="Crowding",
        occurrences=occurrences,
        first_seen=NOW,
        last_seen=NOW,
    )
    env = Envelope(site="rome", sent_at=NOW, body=body)
    return Received(env, msg_id(env), seq)


def test_redelivered_and_duplicated_messages_are_applied_once_and_the_last_state_wins(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    first, second = received(1, "open", 1), received(2, "acknowledged", 3)
    with engine.begin() as conn:
        assert store_batch(conn, [first, first]) == [first]  # a copy within the batch
    with engine.begin() as conn:
        assert store_batch(conn, [first, second]) == [second]  # a redelivery of the first
    with engine.begin() as conn:
        assert store_batch(conn, [second]) == []
        assert conn.scalar(select(func.count()).select_from(FedMessageRow)) == 2
        row = conn.execute(select(FedAlertRow.status, FedAlertRow.occurrences)).one()
        assert tuple(row) == ("acknowledged", 3)
    engine.dispose()
