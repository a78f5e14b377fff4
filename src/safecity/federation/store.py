"""Writing received summaries into a site's database: idempotent upserts keyed by (site, id there)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from safecity.federation.link import Received
from safecity.federation.messages import (
    Aggregate,
    AlertSummary,
    CameraHealth,
    Envelope,
    EventSummary,
    Handoff,
    IncidentSummary,
    MediaDecision,
    SiteInfo,
)
from safecity.federation.models import (
    FedAggregateRow,
    FedAlertRow,
    FedCameraRow,
    FedEventRow,
    FedHandoffRow,
    FedIncidentRow,
    FedMediaRequestRow,
    FedMessageRow,
    FedSiteRow,
)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def upsert(conn: Connection, model: Any, rows: Sequence[dict[str, Any]], update: bool = True) -> None:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE (or DO NOTHING) on SQLite and PostgreSQL."""
    if not rows:
        return
    table = _table(model)
    keys = [c.name for c in table.primary_key.columns]
    mod: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = mod.insert(table)
    cols = [c for c in rows[0] if c not in keys]
    if update and cols:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, list(rows))


def _last_per_key(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key, the last one received (per-source order is the stream's order)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        out[tuple(row[k] for k in keys)] = row
    return list(out.values())


def _row(env: Envelope) -> tuple[Any, dict[str, Any]] | None:
    b, site = env.body, env.site
    data = b.model_dump(exclude={"kind"})
    match b:
        case SiteInfo():
            data.pop("site")
            return FedSiteRow, {"site": b.site, **data, "last_seen": env.sent_at}
        case CameraHealth():
            return FedCameraRow, {"site": site, **data, "updated_at": env.sent_at}
        case EventSummary():
            return FedEventRow, {"site": site, **data}
        case AlertSummary():
            return FedAlertRow, {"site": site, **data}
        case IncidentSummary():
            return FedIncidentRow, {"site": site, **data}
        case Aggregate():
            return FedAggregateRow, {"site": site, **data}
        case Handoff():
            return FedHandoffRow, handoff_row(b)
        case MediaDecision():
            return None  # applied by the media request service (it audits)
    return None


def handoff_row(b: Handoff) -> dict[str, Any]:
    row: dict[str, Any] = {
        "handoff_id": b.handoff_id,
        "from_site": b.from_site,
        "to_site": b.to_site,
        "state": b.state,
        "incident_id": b.incident_id,
        "title": b.title,
        "type": b.type,
        "priority": b.priority,
        "reason": b.reason,
    }
    if b.state == "requested":
        row |= {
            "requested_by": b.actor,
            "requested_at": b.at,
            "remote_incident_id": None,
            "answered_by": None,
            "answered_at": None,
        }
    else:
        row |= {
            "requested_by": "",
            "requested_at": b.at,
            "remote_incident_id": b.remote_incident_id,
            "answered_by": b.actor,
            "answered_at": b.at,
        }
    return row


def store_batch(conn: Connection, batch: Sequence[Received]) -> list[Received]:
    """Record the batch in the ledger and apply the messages not seen before; returns those.

    One statement decides what is new: INSERT ... ON CONFLICT DO NOTHING RETURNING the ids it inserted
    (a redelivered message, or a second copy within the batch, returns nothing)."""
    now = datetime.now(UTC)
    first: dict[str, Received] = {}
    for r in batch:
        first.setdefault(r.msg_id, r)
    if not first:
        return []
    mod: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    table = _table(FedMessageRow)
    stmt = mod.insert(table).on_conflict_do_nothing(index_elements=["msg_id"]).returning(table.c.msg_id)
    rows = [
        {
            "msg_id": r.msg_id,
            "site": r.envelope.site,
            "kind": r.envelope.body.kind,
            "stream_seq": r.stream_seq,
            "sent_at": r.envelope.sent_at,
            "received_at": now,
        }
        for r in first.values()
    ]
    inserted = set(conn.execute(stmt, rows).scalars().all())
    fresh = [r for m, r in first.items() if m in inserted]
    by_model: dict[Any, list[dict[str, Any]]] = {}
    for r in fresh:
        item = _row(r.envelope)
        if item is not None:
            by_model.setdefault(item[0], []).append(item[1])
    for model, rows in by_model.items():
        if model is FedHandoffRow:
            _apply_handoffs(conn, rows)
            continue
        keys = [c.name for c in _table(model).primary_key.columns]
        upsert(conn, model, _last_per_key(rows, keys), update=model is not FedEventRow)
    return fresh


def _apply_handoffs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """A request inserts the row; an answer only updates the answer's columns (the request keeps its)."""
    t = _table(FedHandoffRow)
    for row in rows:
        if row["state"] == "requested":
            upsert(conn, FedHandoffRow, [row], update=False)
            continue
        done = conn.execute(
            t.update()
            .where(t.c.handoff_id == row["handoff_id"])
            .values(
                state=row["state"],
                remote_incident_id=row["remote_incident_id"],
                answered_by=row["answered_by"],
                answered_at=row["answered_at"],
            )
        )
        if done.rowcount == 0:
            upsert(conn, FedHandoffRow, [row], update=False)


def media_table() -> Table:
    return _table(FedMediaRequestRow)
