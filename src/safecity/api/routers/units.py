"""Field units: the roster (units:read) and its management (units:manage).

A unit may be linked to one user account holding the field-unit role: that account then sees the unit's
dispatches in `/api/field/...` and receives them live.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from safecity.accounts.users import get_user
from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.permissions import Role
from safecity.api.routers._operations import IdPath, commit, publish, translated
from safecity.operations import dispatch as service
from safecity.operations.schemas import UnitCreate, UnitPublic, UnitUpdate

router = APIRouter(prefix="/units", tags=["units"])
Reader = Annotated[Principal, Depends(require("units:read"))]
Manager = Annotated[Principal, Depends(require("units:manage"))]


def _check_account(db: DbSession, user_id: int | None) -> None:
    if user_id is None:
        return
    user = get_user(db, user_id)
    if user is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"user_id: no user {user_id}")
    if Role.FIELD_UNIT.value not in user.roles:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"user_id: {user.username} does not have the field-unit role",
        )


@router.get("", response_model=list[UnitPublic])
def list_units(db: DbSession, who: Reader) -> list[UnitPublic]:
    """Every unit, by call sign, with its status and last known position."""
    return [UnitPublic.model_validate(u) for u in service.list_units(db)]


@router.get("/{unit_id}", response_model=UnitPublic)
def get_unit(unit_id: IdPath, db: DbSession, who: Reader) -> UnitPublic:
    with translated():
        return UnitPublic.model_validate(service.get_unit(db, unit_id))


@router.post("", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(body: UnitCreate, db: DbSession, node: Node, who: Manager) -> UnitPublic:
    _check_account(db, body.user_id)
    with translated():
        out = UnitPublic.model_validate(service.create_unit(db, body))
    commit(db)
    publish(node, "unit_update", out, None)
    return out


@router.patch("/{unit_id}", response_model=UnitPublic)
def update_unit(unit_id: IdPath, body: UnitUpdate, db: DbSession, node: Node, who: Manager) -> UnitPublic:
    """Rename, relink, move, or set available / off duty (409 while it has an active dispatch)."""
    _check_account(db, body.user_id)
    with translated():
        row = service.update_unit(db, service.get_unit(db, unit_id), body)
        out = UnitPublic.model_validate(row)
    commit(db)
    publish(node, "unit_update", out, None)
    return out
