"""The caller's login sessions: list them (where and when each was used), end one, or log out everywhere.

Sessions end by themselves after `api.session_idle_minutes` without use and `api.session_ttl_hours`
after login, whichever comes first. A session half-way through the second factor cannot use these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from safecity.accounts.models import SessionRow
from safecity.accounts.sessions import delete_session, list_sessions, revoke_user_sessions
from safecity.api.deps import DbSession, Node, Principal, require_user
from safecity.api.security import clear_session_cookies

router = APIRouter(prefix="/auth", tags=["auth"])
ID_LENGTH = 16  # a prefix of the session's SHA-256: names it without being usable as a credential


def signed_in(who: Annotated[Principal, Depends(require_user())]) -> Principal:
    if who.stage is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "complete the second factor first")
    return who


Caller = Annotated[Principal, Depends(signed_in)]


class SessionPublic(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None
    current: bool
    second_factor_pending: bool


class LoggedOut(BaseModel):
    sessions_ended: int


def _public(row: SessionRow, who: Principal) -> SessionPublic:
    return SessionPublic(
        id=row.token_hash[:ID_LENGTH], created_at=row.created_at, last_seen_at=row.last_seen_at,
        expires_at=row.expires_at, client_ip=row.client_ip, user_agent=row.user_agent,
        current=who.via == "session" and row.token_hash == who.credential_id,
        second_factor_pending=row.stage is not None,
    )  # fmt: skip


@router.get("/sessions", response_model=list[SessionPublic])
def sessions(db: DbSession, who: Caller) -> list[SessionPublic]:
    return [_public(r, who) for r in list_sessions(db, who.user_id)]


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_session(session_id: str, db: DbSession, who: Caller) -> Response:
    """End one of your sessions (another browser, a lost phone)."""
    match = [r for r in list_sessions(db, who.user_id) if len(session_id) == ID_LENGTH
             and r.token_hash.startswith(session_id)]  # fmt: skip
    if not match:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no session {session_id!r}")
    delete_session(db, match[0].token_hash)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-everywhere", response_model=LoggedOut)
def logout_everywhere(
    request: Request, response: Response, db: DbSession, node: Node, who: Caller
) -> LoggedOut:
    """End every login session of yours, this one included (API tokens stay: revoke them apart)."""
    ended = revoke_user_sessions(db, who.user_id)
    if who.via == "session":
        clear_session_cookies(response, request, node.settings.api)
    return LoggedOut(sessions_ended=ended)
