"""User administration (users:manage): list, create, change roles, camera access, password, disabled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from safecity.accounts.models import UserRow
from safecity.accounts.passwords import PasswordPolicyError
from safecity.accounts.users import (
    UserExistsError,
    create_user,
    enabled_admins,
    get_user,
    list_users,
    normalize_cameras,
    parse_roles,
    set_disabled,
    set_password,
)
from safecity.api.deps import DbSession, Principal, require
from safecity.api.permissions import Role
from safecity.api.schemas import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[Principal, Depends(require("users:manage"))]


def public(user: UserRow) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        cameras=user.cameras,
        disabled=user.disabled,
        created_at=user.created_at,
    )


@router.get("", response_model=list[UserPublic])
def users(db: DbSession, who: Admin) -> list[UserPublic]:
    return [public(u) for u in list_users(db)]


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create(body: UserCreate, db: DbSession, who: Admin) -> UserPublic:
    try:
        user = create_user(
            db,
            body.username,
            body.password,
            [r.value for r in body.roles],
            display_name=body.display_name,
            cameras=body.cameras,
        )
    except UserExistsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (PasswordPolicyError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return public(user)


def _would_lose_last_admin(db: DbSession, user: UserRow, body: UserUpdate) -> bool:
    admins = {u.id for u in enabled_admins(db)}
    if user.id not in admins or len(admins) > 1:
        return False
    drops_role = body.roles is not None and Role.ADMIN not in body.roles
    return drops_role or body.disabled is True


@router.patch("/{user_id}", response_model=UserPublic)
def update(user_id: int, body: UserUpdate, db: DbSession, who: Admin) -> UserPublic:
    user = get_user(db, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id}")
    if _would_lose_last_admin(db, user, body):
        raise HTTPException(status.HTTP_409_CONFLICT, "this would leave no enabled admin")
    sent = body.model_fields_set
    if body.display_name is not None:
        user.display_name = body.display_name.strip() or user.username
    if body.roles is not None:
        user.roles = parse_roles(r.value for r in body.roles)
    if "cameras" in sent:
        user.cameras = normalize_cameras(body.cameras)
    try:
        if body.password is not None:
            set_password(db, user, body.password)
    except PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if body.disabled is not None:
        set_disabled(db, user, body.disabled)
    db.flush()
    return public(user)
