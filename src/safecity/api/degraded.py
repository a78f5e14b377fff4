"""Degraded mode: the database is unreachable, the service stays up.

A request that needs the database gets `503 {"detail": "...", "degraded": true}` with `Retry-After`,
not a 500; `/healthz` (public) says `degraded` with a plain reason, and the web UI shows it as a
banner on every screen. Meanwhile events are held in the outbox (see `safecity.store.writer`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from safecity.store.writer import StoreWriter

log = logging.getLogger(__name__)
RETRY_AFTER_S = "5"
DATABASE_DOWN = "the database is unavailable; events are held and will be stored when it returns"
DATABASE_BUSY = "the database is busy (all connections in use); try again shortly"


def public_status(writer: StoreWriter) -> dict[str, Any]:
    """What `/healthz` says: no addresses or driver messages, only the state and how much is held."""
    if writer.reason is None:
        return {"status": "ok"}
    return {"status": "degraded", "reason": DATABASE_DOWN, "held_events": writer.held}


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    outage = isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)
    if isinstance(exc, DBAPIError) and not outage and not exc.connection_invalidated:
        # a real SQL error, not an outage: the generic 500 path
        log.exception("database error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    busy = isinstance(exc, PoolTimeout)  # the database answers; this node ran out of connections
    return JSONResponse(
        {"detail": DATABASE_BUSY if busy else DATABASE_DOWN, "degraded": True},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


def install_degraded_handlers(app: FastAPI) -> None:
    for exc in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, DBAPIError):
        app.add_exception_handler(exc, _database_down)
