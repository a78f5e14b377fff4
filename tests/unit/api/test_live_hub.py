"""LiveHub: who receives what, thread-safe broadcast, and a slow client dropped without slowing anyone."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

import pytest

from safecity.api.live import TOO_SLOW, LiveHub


@dataclass(frozen=True)
class Viewer:
    user_id: int
    permissions: frozenset[str]
    cameras: frozenset[str] | None = None

    def can_see_camera(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras


def _drain(q: asyncio.Queue[str | None]) -> list[str | None]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_messages_go_to_clients_with_the_permission_and_the_camera() -> None:
    async def main() -> None:
        hub = LiveHub()
        hub.attach(asyncio.get_running_loop())
        ops = hub.connect(Viewer(1, frozenset({"events:read", "alerts:read"})))
        gate_only = hub.connect(Viewer(2, frozenset({"events:read"}), frozenset({"gate"})))
        field = hub.connect(Viewer(3, frozenset({"field:respond"})))
        hub.broadcast("event", {"id": "e1"}, "plaza")
        hub.broadcast("event", {"id": "e2"}, "gate")
        hub.broadcast("alert", {"id": 7}, "gate")
        hub.broadcast("dispatch", {"id": 9}, users=[3])  # for the field unit it is addressed to
        await asyncio.sleep(0.05)
        got = {
            c.viewer.user_id: [json.loads(t or "null")["data"] for t in _drain(c.queue)]
            for c in (ops, gate_only, field)
        }
        assert got == {1: [{"id": "e1"}, {"id": "e2"}, {"id": 7}], 2: [{"id": "e2"}], 3: [{"id": 9}]}

    asyncio.run(main())


def test_envelope_and_unknown_types_need_a_permission() -> None:
    hub = LiveHub()
    hub.broadcast("event", {"x": 1})  # no loop attached: counted and discarded, never raises
    assert hub.discarded == 1
    with pytest.raises(ValueError, match="needs a permission"):
        hub.broadcast("secret_thing", {})

    async def main() -> None:
        hub.attach(asyncio.get_running_loop())
        c = hub.connect(Viewer(1, frozenset({"audit:read"})))
        hub.broadcast("secret_thing", {"n": 1}, permission="audit:read")
        await asyncio.sleep(0.02)
        msg = json.loads(_drain(c.queue)[0] or "")
        assert msg["type"] == "secret_thing" and msg["data"] == {"n": 1} and msg["ts"] > 0

    asyncio.run(main())


def test_broadcast_from_other_threads_and_a_slow_client_is_dropped_not_the_others() -> None:
    async def main() -> None:
        hub = LiveHub(queue_size=8)
        hub.attach(asyncio.get_running_loop())
        perms = frozenset({"events:read"})
        slow, fast = hub.connect(Viewer(1, perms)), hub.connect(Viewer(2, perms))
        received: list[str | None] = []

        async def consume() -> None:
            while True:
                received.append(await fast.queue.get())

        task = asyncio.create_task(consume())

        def produce() -> None:  # like the bus thread: one event at a time
            for i in range(10):
                hub.broadcast("event", {"i": i}, "cam")
                time.sleep(0.002)

        threads = [threading.Thread(target=produce) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            await asyncio.to_thread(t.join)
        await asyncio.sleep(0.1)
        task.cancel()
        assert len(received) == 30  # the fast client got everything
        assert slow.dropped and _drain(slow.queue) == [TOO_SLOW]
        assert hub.dropped_clients == 1 and hub.clients == 1

    asyncio.run(main())
