"""`/ws`: live push of events, alerts, incidents, dispatches and camera status to a signed-in client.

Authenticate with the session cookie (same-origin pages), `?token=sc_...` or an `Authorization: Bearer`
header. The server sends `{"type": "hello", "data": <me>}` first, then the LiveHub's messages the caller
may see; a client may send `{"type": "ping"}` and gets `{"type": "pong"}`. Before every push, and at least
every `CHECK_EVERY_S` while idle, the credential is checked again (`safecity.api.revalidate`): a disabled,
demoted or re-scoped user, a revoked token, a reset password or an ended session closes it (1008). A client
too slow to keep up is disconnected with code 1013 (try again later): reconnect and re-query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, WebSocketException
from starlette.concurrency import run_in_threadpool

from safecity.api.deps import AUTHENTICATED, Principal, get_node, ws_require
from safecity.api.live import TOO_SLOW, LiveClient, LiveHub
from safecity.api.revalidate import CHECK_EVERY_S, Revalidator, grant_batcher
from safecity.api.routers.auth import me_of

PREFIX = ""
router = APIRouter(tags=["live"])
TRY_AGAIN_LATER = 1013
_auth = ws_require(AUTHENTICATED)


_IDLE = object()  # no message within the check period: only revalidate


async def _pump(ws: WebSocket, client: LiveClient, revalidator: Revalidator) -> None:
    while True:
        try:  # a waiting message without wait_for's task and timer per message (the busy case)
            item: object = client.queue.get_nowait()
        except asyncio.QueueEmpty:
            try:
                item = await asyncio.wait_for(client.queue.get(), CHECK_EVERY_S)
            except TimeoutError:
                item = _IDLE
        if not await revalidator.still_allowed():  # before every push, and while idle
            await ws.close(1008, "credential or rights changed: reconnect")
            return
        if item is _IDLE:
            continue
        if item is TOO_SLOW:
            await ws.close(TRY_AGAIN_LATER, "too slow: reconnect")
            return
        assert isinstance(item, str)
        await ws.send_text(item)
        client.sent += 1


async def _listen(ws: WebSocket) -> None:
    while True:
        raw = await ws.receive_text()
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(raw).get("type") == "ping":
                await ws.send_text('{"type":"pong"}')


@router.websocket("/ws")
async def live(websocket: WebSocket, who: Annotated[Principal, Depends(_auth)]) -> None:
    node = get_node(websocket)
    hub: LiveHub = node.live
    revalidator = Revalidator(node.session, who, batcher=grant_batcher(websocket.app.state, node.session))
    if not await run_in_threadpool(revalidator.open):
        raise WebSocketException(1008, "credential no longer valid")
    await websocket.accept()
    await websocket.send_json({"type": "hello", "data": me_of(who).model_dump()})
    client = hub.connect(who)
    pump = _pump(websocket, client, revalidator)
    tasks = [asyncio.create_task(pump), asyncio.create_task(_listen(websocket))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.disconnect(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, Exception):
                await task
