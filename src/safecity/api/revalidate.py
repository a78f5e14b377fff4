"""Revocation that reaches open connections (WebSocket, MJPEG).

A long-lived connection was authorised once, at its start. `Revalidator` checks again, at most every
`CHECK_EVERY_S`, before a push or a frame batch: the session or API token must still exist and be
unexpired, its user enabled, and the user's roles, permissions, camera access list and password must be
what they were when the connection opened. Any change (disable, demotion, camera-list change, token
revocation, password reset, logout) ends the connection: a connection keeps the rights it was opened with
or none, so re-filtering with new rights is never needed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

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


class Revalidator:
    """`await still_allowed()`: whether the connection may go on (cached for `every_s`)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        who: Principal,
        *,
        every_s: float = CHECK_EVERY_S,
        extra: Callable[[Principal], bool] | None = None,
    ) -> None:
        self._factory = session_factory
        self._who = who
        self._every = every_s
        self._extra = extra  # a condition of this connection (e.g. "may still see camera X")
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
        grant = self._grant()
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
        return await run_in_threadpool(self.check)
