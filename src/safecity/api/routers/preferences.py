"""A signed-in user's own display preferences (any role): `GET` and `PATCH /api/me/preferences` (the
fields given are changed, the others kept).

`time_zone` is "site" (every time shown in `site.timezone`, the default) or "browser" (the zone of the
browser the user is on); the alert sound's mute and volume. Kept on the server, so they follow the user.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from safecity.accounts.models import UserPreferenceRow
from safecity.api.deps import DbSession, Node, Principal, require_user

router = APIRouter(prefix="/me", tags=["auth"])


def signed_in(who: Annotated[Principal, Depends(require_user())]) -> Principal:
    """Fully signed in: a session still waiting for its second factor has no preferences to read or keep."""
    if who.stage is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "finish signing in (second factor) first")
    return who


Caller = Annotated[Principal, Depends(signed_in)]


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time_zone: Literal["site", "browser"] = Field(
        "site", description="site: times in the site's zone; browser: in the zone of the user's browser"
    )
    sound_muted: bool | None = Field(None, description="Alert sound off (null: not chosen yet)")
    sound_volume: float | None = Field(None, ge=0, le=1, description="Alert sound volume 0..1")


class PreferencesOut(Preferences):
    site_zone: str = Field(description="The site's zone (site.timezone)")


def _out(node: Node, row: UserPreferenceRow | None) -> PreferencesOut:
    if row is None:
        return PreferencesOut(site_zone=node.settings.site.timezone)
    return PreferencesOut(
        time_zone="browser" if row.time_zone == "browser" else "site",
        sound_muted=row.sound_muted,
        sound_volume=row.sound_volume,
        site_zone=node.settings.site.timezone,
    )


@router.get("/preferences", response_model=PreferencesOut)
def get_preferences(db: DbSession, node: Node, who: Caller) -> PreferencesOut:
    return _out(node, db.get(UserPreferenceRow, who.user_id))


@router.patch("/preferences", response_model=PreferencesOut)
def patch_preferences(body: Preferences, db: DbSession, node: Node, who: Caller) -> PreferencesOut:
    """Change the preferences given in the body; the others stay as they were."""
    row = db.get(UserPreferenceRow, who.user_id)
    if row is None:
        row = UserPreferenceRow(user_id=who.user_id, time_zone="site")
        db.add(row)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    db.flush()
    return _out(node, row)
