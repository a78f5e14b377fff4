"""Helpers shared by the operations routers (alerts, incidents, units, field, reports).

Not a router itself (the leading underscore keeps `discover()` from mounting it). Services raise
`OperationsError` subclasses, each declaring its HTTP status (404, 409, 422; biometrics' PolicyError 403);
`translated()`, shared with the biometrics router, turns them into that status with the service's reason.
Live messages are sent after an explicit commit, so a client that reacts to one
always finds the change in the database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from safecity.api.deps import Node, Principal
from safecity.app import App
from safecity.operations.domain import Actor, OperationsError
from safecity.operations.live import safe_broadcast
from safecity.operations.runtime import Operations

MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]


Since = Annotated[datetime | None, Query(description="From this time (ISO 8601; UTC if no offset)")]
Until = Annotated[datetime | None, Query(description="Up to this time (ISO 8601; UTC if no offset)")]


def utc(value: datetime | None) -> datetime | None:
    """A query time as UTC (a naive one is UTC: the UI sends ISO strings with Z)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "time out of range") from exc


def actor(who: Principal) -> Actor:
    return Actor(who.user_id, who.username)


@contextmanager
def translated() -> Iterator[None]:
    """Service errors become their HTTP status (each error class declares it) with the reason."""
    try:
        yield
    except OperationsError as exc:
        raise HTTPException(exc.http_status, exc.reason) from exc


def get_operations(node: Node) -> Operations:
    if node.operations is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "operations are not running on this node")
    return node.operations


Ops = Annotated[Operations, Depends(get_operations)]


def publish(
    node: App,
    type: str,
    payload: BaseModel,
    camera_id: str | None,
    users: Collection[int] | None = None,
) -> None:
    data: dict[str, Any] = payload.model_dump(mode="json")
    safe_broadcast(node.live, type, data, camera_id, users)


def commit(db: Session) -> None:
    """Commit now (the request's session would commit after the endpoint; live pushes must follow it)."""
    db.commit()
