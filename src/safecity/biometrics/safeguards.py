"""Loopholes closed around face matching (issue 16): rules that span watchlists, authorizations and matches.

- Urgent start: one per watchlist until an authorization is recorded for it. Stopping an urgent start
  that has no authorization purges it (as the 24 h deadline does), so "stop, then urgent-start again"
  cannot renew the 24 hours.
- Purge removes everything of the watchlist but the audit log: templates, match face crops, match rows
  and their reviews.
- Separation of duties: the person who recorded an authorization may not activate (or attach it to) the
  watchlist it covers, nor be one of the reviewers of a match on that watchlist.
- A rejected match loses its face crop at once; only the audit entries remain.
- A retrospective search covers only the time range of its authorization, not any past "while it is in
  force now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safecity.biometrics.common import Actor, PolicyError, log_action
from safecity.biometrics.models import (
    AuthorizationRow,
    EntryRow,
    MatchReviewRow,
    MatchRow,
    WatchlistRow,
    WatchlistStatus,
)

SYSTEM = Actor.system("safecity")


def check_urgent_allowed(row: WatchlistRow) -> None:
    """PolicyError when this watchlist already had an urgent start and no authorization since."""
    if row.urgent_started_at is not None and row.authorization_id is None:
        raise PolicyError(
            f"watchlist {row.id} already had its urgent start ({row.urgent_started_at.isoformat()}); "
            "it runs again only under a recorded authorization"
        )


def unauthorized_urgent(row: WatchlistRow) -> bool:
    """An urgent start still waiting for its authorization."""
    return row.urgent_started_at is not None and row.authorization_id is None


def check_not_authorizer(auth: AuthorizationRow, actor: Actor, act: str) -> None:
    """The recorder of an authorization may not also put it to use (four eyes)."""
    if actor.id is not None and auth.created_by_id == actor.id:
        raise PolicyError(
            f"{actor.name} recorded authorization {auth.id}; another person must {act} (separation of duties)"
        )


def check_reviewer_not_authorizer(db: Session, match: MatchRow, actor: Actor) -> None:
    watchlist = db.get(WatchlistRow, match.watchlist_id)
    if watchlist is None or watchlist.authorization_id is None:
        return
    auth = db.get(AuthorizationRow, watchlist.authorization_id)
    if auth is not None:
        check_not_authorizer(auth, actor, f"review match {match.id}")


def check_within_authorization(auth: AuthorizationRow, start: datetime, end: datetime) -> None:
    """A retrospective search covers only footage from inside its authorization's own time range."""
    until = min(auth.ends_at, auth.revoked_at) if auth.revoked_at else auth.ends_at
    if start < auth.starts_at or end > until:
        raise PolicyError(
            f"authorization {auth.id} covers {auth.starts_at.isoformat()} to {until.isoformat()}; "
            "a search outside that time range is refused"
        )


def purge_watchlist(
    db: Session, row: WatchlistRow, at: datetime, delete_media: Callable[[str], object], reason: str
) -> tuple[int, int, int]:
    """Delete a watchlist's templates, match face crops, match rows and their reviews; keep the audit log.
    Returns (templates, matches, crops) removed.

    Crops go first: if one cannot be deleted (OSError) nothing is committed and the next sweep retries,
    so a crop never outlives its row."""
    matches = list(db.scalars(select(MatchRow).where(MatchRow.watchlist_id == row.id)))
    crops = [m.crop_key for m in matches if m.crop_key]
    for key in crops:
        delete_media(key)
    entries = list(db.scalars(select(EntryRow).where(EntryRow.watchlist_id == row.id)))
    for entry in entries:
        entry.template = None
        entry.removed_at = entry.removed_at or at
        entry.removed_by = entry.removed_by or SYSTEM.name
        entry.remove_reason = entry.remove_reason or "purged"
    ids = [m.id for m in matches]
    for m in matches:
        db.expunge(m)
    if ids:
        db.execute(delete(MatchReviewRow).where(MatchReviewRow.match_id.in_(ids)))
        db.execute(delete(MatchRow).where(MatchRow.id.in_(ids)))
    row.status, row.stopped_at, row.stopped_by = WatchlistStatus.PURGED.value, at, SYSTEM.name
    row.stop_reason = reason
    db.flush()
    details = {
        "reason": reason,
        "justification": row.urgent_justification,
        "templates_deleted": len(entries),
        "matches_deleted": len(ids),
        "crops_deleted": len(crops),
    }
    log_action(db, SYSTEM, "biometrics.watchlist.urgent_purge", f"watchlist:{row.id}", details, at)
    return len(entries), len(ids), len(crops)


def drop_rejected_crop(match: MatchRow, delete_media: Callable[[str], object] | None) -> str | None:
    """On rejection: forget and delete the face crop; returns the key that was deleted."""
    key, match.crop_key = match.crop_key, None
    if key is not None and delete_media is not None:
        delete_media(key)
    return key
