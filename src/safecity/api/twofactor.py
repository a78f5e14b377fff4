"""When a login needs a second factor, and the session stages that follow (see routers/twofactor.py)."""

from __future__ import annotations

from datetime import timedelta

from safecity.accounts import totp
from safecity.accounts.models import UserRow
from safecity.config.api import ApiConfig

STAGE_TTL = timedelta(minutes=10)  # a half-signed-in session lasts this long


def second_factor_stage(user: UserRow, cfg: ApiConfig) -> str | None:
    """ "mfa" when the user has a second factor, "enrol" when their role needs one they lack, else None."""
    if totp.enabled(user):
        return "mfa"
    if set(user.roles) & set(cfg.two_factor_roles):
        return "enrol"
    return None
