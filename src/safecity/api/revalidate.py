"""Revocation that reaches open connections (WebSocket, MJPEG).

A long-lived connection was authorised once, at its start. `Revalidator` checks again, at most every
`CHECK_EVERY_S`, before a push or a frame batch: the session or API token must still exist and be
unexpired, its user enabled, and the user's roles, permissions, camera access list and password must be
what they were when the connection opened. Any change (disable, demotion, camera-list change, token
revocation, password reset, logout) ends the connection: a connection keeps the rights it was opened with
or none, so re-filtering with new rights is never needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safecity.accounts.models import ApiTokenRow, SessionRow, UserRow
from safecity.api.deps import Principal, principal_for, token_principal

CHECK_EVERY_S = 0.5  # a revoked right stops a stream within this (plus one frame or message)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a connection was opened with, compared on every check."""

    principal: Principal
    password_changed_at: datetime


def current_grant(db: Session, who: Principal) -> Grant | None:
    """The grant `who`'s credential carries now, or None when it no longer authenticates anyone. Built as
    the request path builds it (`safecity.api.deps`): a token's scopes, a half-signed-in session's stage."""
    now = datetime.now(UTC)
    token: ApiTokenRow | None = None
    stage: str | None = None
    if who.via == "session":
        session = db.get(SessionRow, who.credential_id)
        if session is None or session.expires_at <= now:
            return None
        user_id, stage = session.user_id, session.stage
    else:
        token = db.get(ApiTokenRow, who.credential_id)
        if token is None or (token.expires_at is not None and token.expires_at <= now):
            return None
        user_id = token.user_id
    user = db.get(UserRow, user_id)
    if user is None or user.disabled:
        return None
    principal = (
        token_principal(user, token) if token is not None else principal_for(user, who.via, who.credential_id)
    )
    if stage is not None:
        principal = dataclasses.replace(principal, permissions=frozenset(), stage=stage)
    return Grant(principal, user.password_changed_at)


class GrantBatcher:
    """The checks of every open connection of a node, coalesced: the checks that fall due while a batch is
    loading wait for the next one, which loads all their credentials with one session on one worker
    thread (three IN queries: sessions, tokens, users). One check per connection per `CHECK_EVERY_S` had
    been one worker-thread hop and one pooled connection each: 500 live clients made 1000 hops a second,
    which starved the API's requests and delayed every push (fan-out p95 29 s, docs/performance.md)."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._factory = session_factory
        self._waiting: dict[tuple[str, str], tuple[Principal, list[asyncio.Future[Grant | None]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def grant(self, who: Principal) -> Grant | None:
        future: asyncio.Future[Grant | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((who.via, who.credential_id), (who, []))[1].append(future)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the checks due in this turn of the loop join the batch
                batch, self._waiting = self._waiting, {}
                try:
                    grants = await run_in_threadpool(self._load, [who for who, _ in batch.values()])
                except Exception as exc:  # the database is down: every waiting check fails as one would
                    for _, futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                self.batches += 1
                for key, (_, futures) in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(grants[key])
        finally:
            self._task = None

    def _load(self, whos: list[Principal]) -> dict[tuple[str, str], Grant | None]:
        with self._factory() as db:
            # loaded into the session's identity map, where current_grant's db.get finds them
            sessions = [w.credential_id for w in whos if w.via == "session"]
            tokens = [w.credential_id for w in whos if w.via != "session"]
            users: set[int] = set()
            if sessions:
                users |= {
                    r.user_id
                    for r in db.scalars(select(SessionRow).where(SessionRow.token_hash.in_(sessions)))
                }
            if tokens:
                users |= {
                    r.user_id for r in db.scalars(select(ApiTokenRow).where(ApiTokenRow.id.in_(tokens)))
                }
            if users:
                list(db.scalars(select(UserRow).where(UserRow.id.in_(users))))
            return {(w.via, w.credential_id): current_grant(db, w) for w in whos}


def grant_batcher(state: Any, session_factory: Callable[[], Session]) -> GrantBatcher:
    """The node's batcher on the running loop (kept in the app's `state`; a test client may run its own)."""
    per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GrantBatcher] | None = getattr(
        state, "grant_batchers", None
    )
    if per_loop is None:
        per_loop = state.grant_batchers = weakref.WeakKeyDictionary()
    loop = asyncio.get_running_loop()
    if loop not in per_loop:
        per_loop[loop] = GrantBatcher(session_factory)
    return per_loop[loop]


class Revalidator:
    """`await still_allowed()`: whether the connection may go on (cached for `every_s`). With a `batcher`,
    the periodic checks go through it (shared with the node's other connections)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        who: Principal,
        *,
        every_s: float = CHECK_EVERY_S,
        extra: Callable[[Principal], bool] | None = None,
        batcher: GrantBatcher | None = None,
    ) -> None:
        self._factory = session_factory
        self._who = who
        self._every = every_s
        self._extra = extra  # a condition of this connection (e.g. "may still see camera X")
        self._batcher = batcher
        self._opened: Grant | None = None
        self._checked = float("-inf")
        self._ok = True

    def _grant(self) -> Grant | None:
        with self._factory() as db:
            return current_grant(db, self._who)

    def open(self) -> bool:
        """Record what the connection opens with (blocking; call once at the start)."""
        self._opened = self._grant()
        self._checked = time.monotonic()
        self._ok = self._opened is not None and self._opened.principal == self._who
        return self._ok

    def check(self) -> bool:
        """Blocking check, ignoring the cache."""
        return self._judge(self._grant())

    def _judge(self, grant: Grant | None) -> bool:
        self._checked = time.monotonic()
        ok = grant is not None and grant == self._opened
        if ok and self._extra is not None:
            assert grant is not None
            ok = self._extra(grant.principal)
        self._ok = self._ok and ok  # once revoked, always revoked
        return self._ok

    async def still_allowed(self) -> bool:
        if not self._ok:
            return False
        if time.monotonic() - self._checked < self._every:
            return True
        if self._batcher is not None:
            return self._judge(await self._batcher.grant(self._who))
        return await run_in_threadpool(self.check)
