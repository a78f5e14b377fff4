"""Login sessions and API tokens: random secrets handed out once, stored as SHA-256.

A session carries its CSRF token (double-submit: the browser echoes it in `X-CSRF-Token`). An API token
acts with its owner's roles and camera access as they are at each request, so changing a user changes
their tokens too. Functions take an explicit ORM `Session`; callers commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safecity.accounts.models import ApiTokenRow, SessionRow, UserRow

TOKEN_PREFIX = "sc_"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often per session or token


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # the cookie value; never stored
    row: SessionRow


def create_session(
    db: Session,
    user: UserRow,
    ttl: timedelta,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
    stage: str | None = None,
) -> NewSession:
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    row = SessionRow(
        token_hash=digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
        last_seen_at=now,
        client_ip=(client_ip or "")[:64] or None,
        user_agent=(user_agent or "")[:256] or None,
        stage=stage,
    )
    db.add(row)
    db.flush()
    return NewSession(token, row)


def resolve_session(
    db: Session, token: str, idle: timedelta | None = None
) -> tuple[SessionRow, UserRow] | None:
    """The live session and its enabled user for a cookie value, or None (expired ones are deleted:
    past their absolute lifetime, or unused for longer than `idle`)."""
    if not token or len(token) > 256:
        return None
    # one query for the session and its user (two `get`s were two round trips on every cache miss)
    stmt = (
        select(SessionRow, UserRow)
        .outerjoin(UserRow, UserRow.id == SessionRow.user_id)
        .where(SessionRow.token_hash == digest(token))
    )
    found = db.execute(stmt).first()
    if found is None:
        return None
    row, user = found.tuple()
    now = datetime.now(UTC)
    if row.expires_at <= now or (idle is not None and now - row.last_seen_at > idle):
        db.delete(row)
        db.flush()
        return None
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def delete_session(db: Session, token_hash: str) -> None:
    db.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))


def revoke_user_sessions(db: Session, user_id: int) -> int:
    result = db.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def list_sessions(db: Session, user_id: int) -> list[SessionRow]:
    """The user's live sessions, most recently used first."""
    now = datetime.now(UTC)
    stmt = select(SessionRow).where(SessionRow.user_id == user_id, SessionRow.expires_at > now)
    return sorted(db.scalars(stmt), key=lambda r: r.last_seen_at, reverse=True)


def purge_expired_sessions(db: Session) -> int:
    result = db.execute(delete(SessionRow).where(SessionRow.expires_at <= datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class NewToken:
    secret: str  # shown to its owner once; never stored
    row: ApiTokenRow


def create_token(
    db: Session, user: UserRow, name: str, expires_at: datetime | None, *, scopes: list[str] | None = None
) -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        id=secrets.token_hex(8),
        token_hash=digest(secret),
        name=name,
        user_id=user.id,
        created_at=datetime.now(UTC),
        expires_at=expires_at,
        last_used_at=None,
        scopes=scopes,
    )
    db.add(row)
    db.flush()
    return NewToken(secret, row)


def resolve_token(db: Session, secret: str) -> tuple[ApiTokenRow, UserRow] | None:
    """The unexpired token and its enabled owner for a bearer secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 256:
        return None
    row = db.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest(secret))).first()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = db.get(UserRow, row.user_id)
    if user is None or user.disabled:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return row, user


def revoke_user_tokens(db: Session, user_id: int) -> None:
    db.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == user_id))


def list_tokens(db: Session, user_id: int) -> list[ApiTokenRow]:
    stmt = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.created_at)
    return list(db.scalars(stmt))


def delete_token(db: Session, user_id: int, token_id: str) -> bool:
    """Revoke one of the user's tokens; False when they have no token with that id."""
    row = db.get(ApiTokenRow, token_id)
    if row is None or row.user_id != user_id:
        return False
    db.delete(row)
    db.flush()
    return True
