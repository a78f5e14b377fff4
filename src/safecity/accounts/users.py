"""User repository: create, find, change users. Functions take an explicit ORM `Session`; callers commit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.accounts.models import UserRow
from safecity.accounts.passwords import check_password_policy, hash_password
from safecity.accounts.roles import Role
from safecity.accounts.sessions import revoke_user_sessions, revoke_user_tokens

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")


class UserExistsError(ValueError):
    """The username is taken."""


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared lower-case."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise ValueError(
            "username must be 1-64 characters: letters, digits and _ . @ -, starting with a letter or digit"
        )
    return name


def parse_roles(roles: Iterable[str]) -> list[str]:
    """Validated, de-duplicated, sorted role names; ValueError for an unknown role or none at all."""
    out: set[str] = set()
    for role in roles:
        try:
            out.add(Role(role).value)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {role!r} (known: {known})") from None
    if not out:
        raise ValueError("a user needs at least one role")
    return sorted(out)


def normalize_cameras(cameras: Iterable[str] | None) -> list[str] | None:
    return None if cameras is None else sorted({c.strip() for c in cameras if c.strip()})


def create_user(
    db: Session,
    username: str,
    password: str,
    roles: Iterable[str],
    *,
    display_name: str = "",
    cameras: Iterable[str] | None = None,
) -> UserRow:
    name = normalize_username(username)
    check_password_policy(password, name)
    role_names = parse_roles(roles)
    if get_user_by_name(db, name) is not None:
        raise UserExistsError(f"user {name!r} already exists")
    now = datetime.now(UTC)
    user = UserRow(
        username=name,
        display_name=display_name.strip() or name,
        password_hash=hash_password(password),
        roles=role_names,
        cameras=normalize_cameras(cameras),
        disabled=False,
        created_at=now,
        password_changed_at=now,
    )
    db.add(user)
    db.flush()
    return user


def get_user(db: Session, user_id: int) -> UserRow | None:
    return db.get(UserRow, user_id)


def get_user_by_name(db: Session, username: str) -> UserRow | None:
    return db.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()


def list_users(db: Session) -> list[UserRow]:
    return list(db.scalars(select(UserRow).order_by(UserRow.username)))


def set_password(db: Session, user: UserRow, password: str, *, revoke_tokens: bool = True) -> None:
    """Change the password and end every login session of the user and revoke their API tokens (a reset
    after a suspected compromise must lock out whoever had them); `revoke_tokens=False` only for the
    re-hash of the same password at login."""
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    revoke_user_sessions(db, user.id)
    if revoke_tokens:
        revoke_user_tokens(db, user.id)
    db.flush()


def set_disabled(db: Session, user: UserRow, disabled: bool) -> None:
    """Disable (or enable) a user; disabling ends their sessions, and their tokens stop working."""
    user.disabled = disabled
    if disabled:
        revoke_user_sessions(db, user.id)
    db.flush()


def enabled_admins(db: Session) -> list[UserRow]:
    rows = db.scalars(select(UserRow).where(UserRow.disabled.is_(False)))
    return [u for u in rows if Role.ADMIN.value in u.roles]
