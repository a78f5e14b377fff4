"""Second factor (TOTP): enrolment with a QR code, confirmation, the login's second step, recovery codes,
and an administrator's reset. Every step is audited (safecity.accounts.totp).

A password login of a user who has (or whose role requires) a second factor gets a staged session: it
holds no permission until `POST /api/auth/2fa/verify` (or, for a first enrolment, `/confirm`) completes
it; then it lasts `api.session_ttl_hours` like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from safecity.accounts import totp
from safecity.accounts.models import SessionRow, UserRow
from safecity.accounts.users import get_user
from safecity.api.deps import DbSession, Node, Principal, require, require_user
from safecity.api.security import LoginGuard, client_ip

router = APIRouter(tags=["auth"])
Caller = Annotated[Principal, Depends(require_user())]
Admin = Annotated[Principal, Depends(require("users:manage"))]


class Code(BaseModel):
    code: str = Field("", max_length=32, description="The 6-digit code of the authenticator app")
    recovery_code: str = Field("", max_length=32, description="Or one of the recovery codes")


class EnrolmentPublic(BaseModel):
    secret: str = Field(description="Base32 secret, for typing into the app by hand")
    uri: str = Field(description="otpauth:// URI (what the QR code holds)")
    qr_svg: str = Field(description="The QR code, as a data:image/svg+xml URI")


class Enabled(BaseModel):
    recovery_codes: list[str] = Field(description="One-time codes, shown once: keep them offline")


class Status(BaseModel):
    enabled: bool
    required: bool
    recovery_codes_left: int


def _session_user(db: DbSession, who: Principal) -> tuple[SessionRow, UserRow]:
    row = db.get(SessionRow, who.credential_id) if who.via == "session" else None
    user = get_user(db, who.user_id)
    if row is None or user is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "second-factor steps need a login session")
    return row, user


def _complete(row: SessionRow, node: Node) -> None:
    row.stage = None
    row.expires_at = datetime.now(UTC) + timedelta(hours=node.settings.api.session_ttl_hours)


@router.get("/auth/2fa", response_model=Status)
def two_factor_status(db: DbSession, node: Node, who: Caller) -> Status:
    user = get_user(db, who.user_id)
    assert user is not None
    required = bool(set(user.roles) & set(node.settings.api.two_factor_roles))
    return Status(enabled=totp.enabled(user), required=required,
                  recovery_codes_left=totp.remaining_recovery_codes(db, user))  # fmt: skip


@router.post("/auth/2fa/enrol", response_model=EnrolmentPublic)
def enrol(db: DbSession, node: Node, who: Caller) -> EnrolmentPublic:
    """Start (or restart) enrolment: a new secret and its QR code. Not while a login waits for its code."""
    row, user = _session_user(db, who)
    if row.stage == "mfa":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "enter your code first")
    try:
        e = totp.start_enrolment(db, user, node.settings.api.two_factor_issuer)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return EnrolmentPublic(secret=e.secret, uri=e.uri, qr_svg=e.qr_svg)


@router.post("/auth/2fa/confirm", response_model=Enabled)
def confirm(body: Code, db: DbSession, node: Node, who: Caller) -> Enabled:
    """The first code from the app activates the second factor and completes an 'enrol' login."""
    row, user = _session_user(db, who)
    if row.stage == "mfa" or user.totp_secret is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "start with POST /api/auth/2fa/enrol")
    codes = totp.confirm_enrolment(db, user, body.code)
    if codes is None:
        db.commit()  # keep the audit entry of the failure
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "code: wrong or expired code")
    _complete(row, node)
    return Enabled(recovery_codes=codes)


@router.post("/auth/2fa/verify", status_code=status.HTTP_204_NO_CONTENT)
def verify(body: Code, request: Request, db: DbSession, node: Node, who: Caller) -> None:
    """The login's second step: a code of the app, or a recovery code (each works once)."""
    row, user = _session_user(db, who)
    if row.stage != "mfa":
        raise HTTPException(status.HTTP_409_CONFLICT, "this session does not wait for a code")
    guard: LoginGuard = request.app.state.login_guard
    ip = client_ip(request)
    guard.check(user.username, ip)
    if body.code and totp.check_code(db, user, body.code):
        totp.audit(db, user.username, "auth.2fa.verified", user, ip=ip)
    elif body.recovery_code and totp.use_recovery_code(db, user, body.recovery_code):
        left = totp.remaining_recovery_codes(db, user)
        totp.audit(db, user.username, "auth.2fa.recovery_used", user, ip=ip, left=left)
    else:
        guard.failed(user.username, ip)
        totp.audit(db, user.username, "auth.2fa.failed", user, ip=ip)
        db.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong or already used code")
    db.commit()  # the code is spent before the limiter writes (its own connection: SQLite has one writer)
    guard.succeeded(user.username)
    _complete(row, node)


@router.post("/users/{user_id}/2fa/reset", status_code=status.HTTP_204_NO_CONTENT)
def reset(user_id: int, db: DbSession, who: Admin) -> None:
    """Remove a user's second factor (lost phone); they enrol again at their next login. Audited."""
    user = get_user(db, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id}")
    totp.reset(db, user, who.username)
