"""`/ws`: live push of events, alerts, incidents, dispatches and camera status to a signed-in client.

Authenticate with the session cookie (same-origin pages), `?token=sc_...` or an `Authorization: Bearer`
header. The server sends `{"type": "hello", "data": <me>}` first, then the LiveHub's messages the caller
may see; a client may send `{"type": "ping"}` and gets `{"type": "pong"}`. Every `REVALIDATE_S` seconds
the credential is checked again (a disabled user or ended session is disconnected, code 1008). A client
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
from safecity.api.routers.auth import me_of

PREFIX = ""
router = APIRouter(tags=["live"])
REVALIDATE_S = 60.0
TRY_AGAIN_LATER = 1013
_auth = ws_require(AUTHENTICATED)


async def _still_valid(ws: WebSocket) -> bool:
    try:
        await run_in_threadpool(_auth, ws)
    except WebSocketException:
        return False
    return True


async def _pump(ws: WebSocket, client: LiveClient) -> None:
    while True:
        try:
            text = await asyncio.wait_for(client.queue.get(), REVALIDATE_S)
        except TimeoutError:
            if not await _still_valid(ws):
                await ws.close(1008, "credential no longer valid")
                return
            continue
        if text is TOO_SLOW:
            await ws.close(TRY_AGAIN_LATER, "too slow: reconnect")
            return
        await ws.send_text(text)
        client.sent += 1


async def _listen(ws: WebSocket) -> None:
    while True:
        raw = await ws.receive_text()
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(raw).get("type") == "ping":
                await ws.send_text('{"type":"pong"}')


@router.websocket("/ws")
async def live(websocket: WebSocket, who: Annotated[Principal, Depends(_auth)]) -> None:
    hub: LiveHub = get_node(websocket).live
    await websocket.accept()
    await websocket.send_json({"type": "hello", "data": me_of(who).model_dump()})
    client = hub.connect(who)
    tasks = [asyncio.create_task(_pump(websocket, client)), asyncio.create_task(_listen(websocket))]
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
