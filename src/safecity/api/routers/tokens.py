"""API tokens of the caller (tokens:own): create (the secret is shown once), list, revoke.

Only a signed-in person creates tokens (a token-minted token would outlive revoking its parent); a token
is scoped to a subset of its owner's permissions, and lives at most `api.token_max_days`
(safecity.accounts.scopes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status

from safecity.accounts.models import ApiTokenRow
from safecity.accounts.scopes import ScopeError, validate_scopes
from safecity.accounts.sessions import create_token, delete_token, list_tokens
from safecity.accounts.users import get_user
from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.permissions import PERMISSIONS
from safecity.api.schemas import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])
Owner = Annotated[Principal, Depends(require("tokens:own"))]


def signed_in_owner(who: Owner) -> Principal:
    """tokens:own, through a login session: a token cannot mint another token (checked before the body)."""
    if who.via == "token":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "an API token cannot create tokens: sign in")
    return who


SignedInOwner = Annotated[Principal, Depends(signed_in_owner)]


def public(row: ApiTokenRow) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        scopes=row.scopes,
    )


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create(body: TokenCreate, db: DbSession, node: Node, who: SignedInOwner) -> TokenCreated:
    user = get_user(db, who.user_id)
    if user is None:  # deleted between authentication and now
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account no longer exists")
    cfg = node.settings.api
    if body.expires_in_days is not None and body.expires_in_days > cfg.token_max_days:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"expires_in_days: at most {cfg.token_max_days} (api.token_max_days)",
        )
    try:
        scopes = validate_scopes(body.scopes, who.permissions, PERMISSIONS)
    except ScopeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"scopes: {exc}") from exc
    days = body.expires_in_days or min(cfg.token_default_days, cfg.token_max_days)
    expires = datetime.now(UTC) + timedelta(days=days)
    new = create_token(db, user, body.name.strip() or "token", expires, scopes=scopes)
    return TokenCreated(**public(new.row).model_dump(), token=new.secret)


@router.get("", response_model=list[TokenPublic])
def tokens(db: DbSession, who: Owner) -> list[TokenPublic]:
    return [public(t) for t in list_tokens(db, who.user_id)]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(token_id: str, db: DbSession, who: Owner) -> Response:
    if not delete_token(db, who.user_id, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no token {token_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
