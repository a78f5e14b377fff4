"""The node's cache of checked credentials (`safecity.api.authcache`): a credential checked a moment ago
is not read from the database again, and every revocation made through the node (logout, revoked tokens,
ended sessions, disabled or re-roled users) still takes effect on the very next request. The cache lives
60 s in these tests, so a revocation seen at once cannot be the entry simply expiring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safecity.accounts.models import ApiTokenRow, SessionRow, UserRow
from safecity.accounts.sessions import revoke_user_sessions, revoke_user_tokens
from safecity.api.authcache import TOUCH, WATCHED, AuthCache, Credential
from safecity.api.deps import CSRF_HEADER
from support.api_harness import ApiHarness

LONG = {"auth_cache_s": 60}


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path, api=LONG) as h:
        yield h


def _credential_reads(h: ApiHarness) -> list[str]:
    """Every statement of the node that reads sessions or tokens (appended to as they run)."""
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and (
            "sessions" in statement or "api_tokens" in statement
        ):
            seen.append(statement)

    event.listen(h.node.engine, "before_cursor_execute", spy)
    return seen


def test_a_credential_checked_a_moment_ago_is_not_read_again(harness: ApiHarness) -> None:
    harness.user("operator", username="ona")
    web = harness.browser("ona")
    token = {"Authorization": f"Bearer {harness.token('ona')}"}
    reads = _credential_reads(harness)
    assert web.get("/api/events").status_code == 200
    assert harness.client.get("/api/events", headers=token).status_code == 200
    first = len(reads)
    assert first >= 2  # the session and the token were read once each
    for _ in range(3):
        assert web.get("/api/events").status_code == 200
        assert harness.client.get("/api/events", headers=token).status_code == 200
    assert len(reads) == first


def test_a_cached_credential_is_still_held_to_csrf_and_to_its_read_only_scope(harness: ApiHarness) -> None:
    # a cached credential is checked on the event loop, not by the database path: the same refusals apply
    harness.user("operator", username="cy")
    web = harness.browser("cy")
    read_only = {"Authorization": f"Bearer {harness.token('cy', scopes=['read-only'])}"}
    reads = _credential_reads(harness)
    assert web.get("/api/alerts").status_code == 200
    assert harness.client.get("/api/alerts", headers=read_only).status_code == 200
    first = len(reads)
    forged = web.post(
        "/api/incidents", json={"title": "x", "priority": "low"}, headers={CSRF_HEADER: "forged"}
    )
    assert forged.status_code == 403 and CSRF_HEADER in forged.json()["detail"]
    r = harness.client.post("/api/incidents", json={"title": "x", "priority": "low"}, headers=read_only)
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    assert len(reads) == first  # both refused from the cache
    assert web.post("/api/incidents", json={"title": "x", "priority": "low"}).status_code == 201


def _cached_session_and_token(h: ApiHarness, name: str, role: str = "operator") -> tuple[Any, Any, UserRow]:
    user = h.user(role, username=name)
    web = h.browser(name)
    token = {"Authorization": f"Bearer {h.token(name)}"}
    assert web.get("/api/alerts").status_code == 200
    assert h.client.get("/api/alerts", headers=token).status_code == 200
    return web, token, user


def test_sessions_and_tokens_ended_through_the_node_are_refused_at_once(harness: ApiHarness) -> None:
    web, token, user = _cached_session_and_token(harness, "ted")
    with harness.node.session() as db:  # as "log out everywhere" and a password reset do
        revoke_user_sessions(db, user.id)
        revoke_user_tokens(db, user.id)
        db.commit()
    assert web.get("/api/alerts").status_code == 401
    assert harness.client.get("/api/alerts", headers=token).status_code == 401


def test_disabled_and_re_roled_users_are_refused_at_once(harness: ApiHarness) -> None:
    web, token, user = _cached_session_and_token(harness, "dora")
    with harness.node.session() as db:
        row = db.get(UserRow, user.id)
        assert row is not None
        row.roles = ["viewer"]
        db.commit()
    me = web.get("/api/auth/me").json()
    assert me["roles"] == ["viewer"]
    assert harness.client.get("/api/auth/me", headers=token).json()["roles"] == ["viewer"]
    with harness.node.session() as db:
        db.execute(update(UserRow).where(UserRow.id == user.id).values(disabled=True))
        db.commit()
    assert web.get("/api/auth/me").status_code == 401
    assert harness.client.get("/api/auth/me", headers=token).status_code == 401


def test_an_ended_session_is_refused_even_when_only_its_last_seen_moved(harness: ApiHarness) -> None:
    # the touch statement is ignored only as authentication's own write: the same UPDATE from elsewhere
    # (here: the session made idle for longer than the idle timeout) empties the cache
    web, _, user = _cached_session_and_token(harness, "iris")
    with harness.node.session() as db:
        long_ago = datetime.now(UTC) - timedelta(days=2)
        db.execute(update(SessionRow).where(SessionRow.user_id == user.id).values(last_seen_at=long_ago))
        db.commit()
    assert web.get("/api/alerts").status_code == 401


def test_the_authentications_own_touch_keeps_the_cache(harness: ApiHarness) -> None:
    harness.user("operator", username="tom")
    web = harness.browser("tom")
    with harness.node.session() as db:  # due for its "last seen" touch at the next request
        db.execute(update(SessionRow).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=2)))
        db.commit()
    reads = _credential_reads(harness)
    assert web.get("/api/alerts").status_code == 200  # read, touched, cached
    first = len(reads)
    assert web.get("/api/alerts").status_code == 200
    assert len(reads) == first
    with harness.node.session() as db:
        row = db.scalars(db.query(SessionRow).statement).one()
        assert datetime.now(UTC) - row.last_seen_at < timedelta(minutes=1)


def test_without_the_cache_a_change_from_another_process_is_seen_at_once(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, api={"auth_cache_s": 0}) as h:
        web, token, user = _cached_session_and_token(h, "cleo")
        other = create_engine(h.node.engine.url)  # another node or the CLI: not watched by this node
        with Session(other) as db:
            revoke_user_sessions(db, user.id)
            revoke_user_tokens(db, user.id)
            db.commit()
        other.dispose()
        assert web.get("/api/alerts").status_code == 401
        assert h.client.get("/api/alerts", headers=token).status_code == 401


def test_a_read_that_raced_a_revocation_is_not_stored() -> None:
    cache = AuthCache(60)
    started = cache.generation  # a request starts reading its credential ...
    cache.invalidate()  # ... a logout commits meanwhile ...
    entry = Credential(object(), None, False, cache.expiry())  # type: ignore[arg-type]
    cache.put("s:x", entry, started)  # ... the stale read is dropped
    assert cache.get("s:x") is None
    cache.put("s:x", entry, cache.generation)
    assert cache.get("s:x") is entry


@pytest.mark.parametrize("dialect", [postgresql.psycopg.dialect(), sqlite.dialect()])
def test_the_touch_pattern_matches_only_the_touch(dialect: Any) -> None:
    def sql(stmt: Any) -> str:
        return str(stmt.compile(dialect=dialect))

    now = datetime.now(UTC)
    touch = update(SessionRow).where(SessionRow.token_hash == "h").values(last_seen_at=now)
    token_touch = update(ApiTokenRow).where(ApiTokenRow.id == "i").values(last_used_at=now)
    assert TOUCH.match(sql(touch)) and TOUCH.match(sql(token_touch))
    more = update(SessionRow).where(SessionRow.token_hash == "h").values(last_seen_at=now, stage="mfa")
    assert WATCHED.match(sql(more)) and not TOUCH.match(sql(more))
    assert WATCHED.match(sql(update(UserRow).values(disabled=True)))
