"""A full media store is a critical alert row, not only a log line: the node wires the recording service's
`storage_full` to a platform alert (safecity.operations.conditions). Driven through the node's real
RecordingService.StorageFull with ENOSPC errors; checked through the alerts API and the live socket.
The integration test with a real full volume is tests/integration/test_disk_full.py."""

from __future__ import annotations

import errno

from safecity.recording.service import StorageFull
from support.api_harness import ApiHarness

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _storage_alerts(harness: ApiHarness, headers: dict[str, str]) -> list[dict[str, object]]:
    r = harness.client.get("/api/alerts?limit=200", headers=headers)
    assert r.status_code == 200, r.text
    return [a for a in r.json()["items"] if a["kind"] == "storage_full"]


def test_full_media_store_is_one_critical_alert_while_it_lasts_closed_when_recording_resumes(
    harness: ApiHarness,
) -> None:
    center = harness.node.data_center
    assert center is not None
    full = center.recording.storage_full
    assert full.notify is not None, "the node did not wire the storage-full alert"
    operator = harness.bearer("operator")
    token = harness.token(harness.user("operator").username)
    with harness.client.websocket_connect(f"/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        for _ in range(5):  # every waiting segment fails again while the volume stays full
            full.enter(ENOSPC)
        pushed = ws.receive_json()
        assert pushed["type"] == "alert" and pushed["data"]["kind"] == "storage_full"
    [alert] = _storage_alerts(harness, operator)
    assert alert["severity"] == "critical" and alert["status"] == "open" and alert["camera_id"] is None
    assert "full" in str(alert["title"]).lower()

    assert full.leave() is True  # a segment was stored again
    [closed] = _storage_alerts(harness, operator)
    assert closed["id"] == alert["id"] and closed["status"] == "closed"
    assert "recording resumed" in str(closed["close_note"])

    full.enter(ENOSPC)  # a new episode is a new alert
    alerts = _storage_alerts(harness, operator)
    assert [a["status"] for a in alerts] == ["open", "closed"]


def test_an_alert_left_open_by_a_killed_process_closes_when_the_next_one_records(harness: ApiHarness) -> None:
    center = harness.node.data_center
    assert center is not None
    notify = center.recording.storage_full.notify
    operator = harness.bearer("operator")
    StorageFull(notify).enter(ENOSPC)  # the old process: raised, then killed
    again = StorageFull(notify)  # the restarted one: full too, at first
    again.enter(ENOSPC)
    [alert] = _storage_alerts(harness, operator)
    assert alert["status"] == "open" and alert["occurrences"] == 2  # de-duplicated across processes
    fresh = StorageFull(notify)  # restarted once more, with space: its first stored segment closes it
    assert fresh.leave() is False
    assert [a["status"] for a in _storage_alerts(harness, operator)] == ["closed"]


def test_the_alert_is_raised_on_a_later_refusal_when_the_database_was_down_at_the_first() -> None:
    calls: list[bool] = []

    def notify(full: bool, detail: str) -> None:
        calls.append(full)
        if len(calls) == 1:
            raise ConnectionError("database down")

    state = StorageFull(notify)
    state.enter(ENOSPC)
    state.enter(ENOSPC)
    state.enter(ENOSPC)  # raised on the second call; not again while the episode lasts
    assert calls == [True, True]
    state.leave()
    state.leave()
    assert calls == [True, True, False]
