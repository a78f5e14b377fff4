"""Login, logout and who am I. Login is public (rate-limited); the others need a signed-in caller."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from safecity.accounts.passwords import needs_rehash, verify_password
from safecity.accounts.sessions import create_session, delete_session, purge_expired_sessions
from safecity.accounts.users import get_user_by_name, set_password
from safecity.api.deps import DbSession, Node, Principal, principal_for, require_user
from safecity.api.schemas import LoginRequest, LoginResponse, Me
from safecity.api.security import LoginGuard, clear_session_cookies, client_ip, set_session_cookies
from safecity.api.twofactor import STAGE_TTL, second_factor_stage

router = APIRouter(prefix="/auth", tags=["auth"])
Caller = Annotated[Principal, Depends(require_user())]
BAD_LOGIN = "invalid username or password"


def me_of(p: Principal) -> Me:
    return Me(
        id=p.user_id,
        username=p.username,
        display_name=p.display_name,
        roles=sorted(p.roles),
        permissions=sorted(p.permissions),
        cameras=None if p.cameras is None else sorted(p.cameras),
        via=p.via,
        second_factor=p.stage,  # "mfa" | "enrol" | None
    )


@router.post(
    "/login",
    response_model=LoginResponse,
    responses={401: {"description": "Bad credentials"}, 429: {"description": "Too many failures"}},
)
def login(
    body: LoginRequest, request: Request, response: Response, db: DbSession, node: Node
) -> LoginResponse:
    """Start a session: sets the `safecity_session` (HttpOnly) and `safecity_csrf` cookies."""
    guard: LoginGuard = request.app.state.login_guard
    name, ip = body.username.strip().lower(), client_ip(request)
    guard.check(name, ip)
    user = get_user_by_name(db, name)
    ok = verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok or user.disabled:
        guard.failed(name, ip)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_LOGIN)
    guard.succeeded(name)
    if needs_rehash(user.password_hash):
        set_password(db, user, body.password, revoke_tokens=False)
    cfg = node.settings.api
    purge_expired_sessions(db)  # housekeeping: sessions past their expiry are deleted at each login
    stage = second_factor_stage(user, cfg)  # None, or the session waits for the second factor
    new = create_session(
        db,
        user,
        STAGE_TTL if stage else timedelta(hours=cfg.session_ttl_hours),
        client_ip=ip,
        user_agent=request.headers.get("user-agent"),
        stage=stage,
    )
    set_session_cookies(response, request, cfg, new.token, new.row.csrf_token, new.row.expires_at)
    principal = principal_for(user, "session", new.row.token_hash)
    if stage:
        principal = dataclasses.replace(principal, permissions=frozenset(), stage=stage)
    me = me_of(principal)
    return LoginResponse(**me.model_dump(), csrf_token=new.row.csrf_token, expires_at=new.row.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, db: DbSession, node: Node, who: Caller) -> Response:
    """End this session (a bearer token stays valid: revoke it with DELETE /api/tokens/{id})."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if who.via == "session":
        delete_session(db, who.credential_id)
        clear_session_cookies(response, request, node.settings.api)
    return response


@router.get("/me", response_model=Me)
async def me(who: Caller) -> Me:
    return me_of(who)  # async: no I/O, so no worker thread (one hop for the call, one for validation)
