"""Login sessions: idle timeout and absolute lifetime (enforced server-side, against the database's
clock fields), the list of one's sessions, ending one, and "log out everywhere"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from safecity.accounts.models import SessionRow
from support.api_harness import BASE_URL, TEST_PASSWORD, ApiHarness


def _shift(h: ApiHarness, username_id: int, **changes: datetime) -> None:
    with h.node.session() as db:
        db.execute(update(SessionRow).where(SessionRow.user_id == username_id).values(**changes))
        db.commit()


def test_idle_timeout_and_absolute_lifetime(tmp_path: Path) -> None:
    api = {"session_idle_minutes": 5, "session_ttl_hours": 1}
    with ApiHarness.start(tmp_path, api=api) as h:
        user = h.user("operator", username="olga")
        web = h.browser("olga")
        with h.node.session() as db:
            row = db.scalars(select(SessionRow).where(SessionRow.user_id == user.id)).one()
            assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)
        now = datetime.now(UTC)
        _shift(h, user.id, last_seen_at=now - timedelta(minutes=4))  # idle, but not for long enough
        assert web.get("/api/events").status_code == 200
        _shift(h, user.id, last_seen_at=now - timedelta(minutes=6))
        r = web.get("/api/events")
        assert r.status_code == 401 and "expired" in r.json()["detail"]

        busy = h.browser("olga")  # active all the time, but past its absolute lifetime
        _shift(h, user.id, expires_at=now - timedelta(seconds=1), last_seen_at=now)
        assert busy.get("/api/events").status_code == 401
        assert h.browser("olga").get("/api/events").status_code == 200  # a new login starts afresh


def test_list_end_one_and_log_out_everywhere(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path) as h:
        h.user("viewer", username="val")
        laptop, phone, tablet = (h.browser("val") for _ in range(3))
        token = {"Authorization": f"Bearer {h.token('val')}"}
        listed = laptop.get("/api/auth/sessions").json()
        assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
        assert all(len(s["id"]) == 16 and s["user_agent"] for s in listed)
        phone_id = next(s["id"] for s in phone.get("/api/auth/sessions").json() if s["current"])
        assert laptop.delete(f"/api/auth/sessions/{phone_id}").status_code == 204
        assert phone.get("/api/events").status_code == 401
        assert laptop.delete("/api/auth/sessions/ffffffffffffffff").status_code == 404
        other = h.user("viewer", username="vera")
        h.browser("vera")  # someone else's session is not in val's list and cannot be ended by val
        assert len(laptop.get("/api/auth/sessions").json()) == 2
        r = tablet.post("/api/auth/logout-everywhere")
        assert r.status_code == 200 and r.json() == {"sessions_ended": 2}
        assert laptop.get("/api/events").status_code == 401 and tablet.get("/api/events").status_code == 401
        assert h.client.get("/api/events", headers=token).status_code == 200  # tokens are revoked apart
        with h.node.session() as db:
            assert len(db.scalars(select(SessionRow).where(SessionRow.user_id == other.id)).all()) == 1


def test_a_session_waiting_for_its_second_factor_cannot_see_sessions(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, api={"two_factor_roles": ["admin"]}) as h:
        h.user("admin", username="ann")
        web = TestClient(h.api, base_url=BASE_URL)
        r = web.post("/api/auth/login", json={"username": "ann", "password": TEST_PASSWORD})
        web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        assert web.get("/api/auth/sessions").status_code == 403
        assert web.post("/api/auth/logout-everywhere").status_code == 403
