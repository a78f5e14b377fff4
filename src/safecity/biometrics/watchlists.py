"""Watchlists and their entries: governance (G7), activation under an authorization or an urgent start (G1).

- An entry records its source, legal basis and expiry; bulk import is only from a verified source registry.
- Any change to a watchlist's entries needs a review, by someone other than who changed it, before the
  watchlist can be activated; entries cannot be added while it runs (stop it first).
- Activation needs an authorization in force that covers the watchlist's cameras, used by someone other
  than who recorded it. An urgent start needs a written justification instead, once per watchlist until an
  authorization is recorded; unless one is attached within `urgent_max_hours` (24 h), or if it is stopped
  before, the watchlist is purged (templates, match crops, match rows; `safecity.biometrics.safeguards`).
- A watchlist stops by itself when its authorization ends or is revoked: `active_watchlists` never returns
  it past that instant, and `sweep` records the stop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.art12 import reference_version
from safecity.biometrics.authorizations import get_authorization, in_force, require_in_force
from safecity.biometrics.common import (
    Actor,
    ConflictError,
    InvalidError,
    NotFoundError,
    PolicyError,
    aware,
    log_action,
    now_utc,
    template_from_bytes,
    template_to_bytes,
)
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import AuthorizationRow, EntryRow, WatchlistRow, WatchlistStatus
from safecity.biometrics.safeguards import (
    check_not_authorizer,
    check_urgent_allowed,
    purge_watchlist,
    unauthorized_urgent,
)

SYSTEM = Actor.system("safecity")


@dataclass(frozen=True, slots=True)
class EntryInput:
    label: str
    source: str
    legal_basis: str
    expires_at: datetime
    source_registry: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveList:
    """What the face step needs of one running watchlist (templates of listed persons only)."""

    id: int
    name: str
    threshold: float
    cameras: frozenset[str]
    ends_at: datetime
    entry_ids: np.ndarray  # (N,) int64
    templates: np.ndarray  # (N, 128) float32


def get_watchlist(db: Session, watchlist_id: int) -> WatchlistRow:
    row = db.get(WatchlistRow, watchlist_id)
    if row is None:
        raise NotFoundError(f"no watchlist {watchlist_id}")
    return row


def list_watchlists(db: Session) -> list[WatchlistRow]:
    return list(db.scalars(select(WatchlistRow).order_by(WatchlistRow.id)))


def live_entries(db: Session, watchlist_id: int, at: datetime | None = None) -> list[EntryRow]:
    at = at or now_utc()
    return list(
        db.scalars(
            select(EntryRow)
            .where(
                EntryRow.watchlist_id == watchlist_id,
                EntryRow.removed_at.is_(None),
                EntryRow.template.is_not(None),
                EntryRow.expires_at > at,
            )
            .order_by(EntryRow.id)
        )
    )


def create_watchlist(
    db: Session, name: str, description: str, cameras: Sequence[str], actor: Actor, config: BiometricsConfig
) -> WatchlistRow:
    cams = sorted({c.strip() for c in cameras if c.strip()})
    if not name.strip() or not cams:
        raise InvalidError("a watchlist needs a name and at least one camera")
    if db.scalar(select(WatchlistRow.id).where(WatchlistRow.name == name.strip())) is not None:
        raise ConflictError(f"a watchlist named {name.strip()!r} exists")
    now = now_utc()
    row = WatchlistRow(
        name=name.strip(),
        description=description.strip(),
        cameras=cams,
        threshold=config.default_threshold,
        status=WatchlistStatus.DRAFT.value,
        created_at=now,
        created_by=actor.name,
        changed_at=now,
        changed_by=actor.name,
    )
    db.add(row)
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.watchlist.create",
        f"watchlist:{row.id}",
        {"name": row.name, "cameras": cams, "threshold": row.threshold},
        now,
    )
    return row


def _changed(row: WatchlistRow, actor: Actor, at: datetime) -> None:
    row.changed_at, row.changed_by = at, actor.name
    row.reviewed_at, row.reviewed_by = None, None


def _check_entry(data: EntryInput, config: BiometricsConfig, now: datetime) -> datetime:
    if not data.label.strip() or not data.source.strip() or not data.legal_basis.strip():
        raise InvalidError("a watchlist entry records who it is (label), its source and its legal basis")
    expires = aware(data.expires_at)
    if expires <= now:
        raise InvalidError("a watchlist entry must expire in the future")
    if expires > now + timedelta(days=config.max_entry_days):
        raise InvalidError(f"a watchlist entry expires within {config.max_entry_days} days")
    return expires


def check_bulk_sources(registries: Sequence[str | None], config: BiometricsConfig) -> None:
    """PolicyError for a bulk import (more than one entry) with any source outside the verified registries."""
    unverified = sorted({r or "(none)" for r in registries} - set(config.verified_sources))
    if len(registries) > 1 and unverified:
        raise PolicyError(
            f"bulk import refused: unverified source(s) {', '.join(unverified)}; only the "
            "registries in biometrics.verified_sources may be imported in bulk"
        )


def add_entries(
    db: Session,
    watchlist_id: int,
    entries: Sequence[tuple[EntryInput, np.ndarray]],
    actor: Actor,
    config: BiometricsConfig,
) -> list[EntryRow]:
    """Add entries (one, or a bulk import: every source must be a verified registry)."""
    row = get_watchlist(db, watchlist_id)
    if row.status in (WatchlistStatus.ACTIVE.value, WatchlistStatus.PURGED.value):
        raise ConflictError(
            f"watchlist {row.id} is {row.status}; entries are added to a stopped or draft list"
        )
    if not entries:
        raise InvalidError("no entries to add")
    check_bulk_sources([e.source_registry for e, _ in entries], config)
    now = now_utc()
    added = []
    for data, template in entries:
        expires = _check_entry(data, config, now)
        entry = EntryRow(
            watchlist_id=row.id,
            label=data.label.strip(),
            source=data.source.strip(),
            source_registry=data.source_registry,
            legal_basis=data.legal_basis.strip(),
            expires_at=expires,
            template=template_to_bytes(template),
            added_at=now,
            added_by=actor.name,
        )
        db.add(entry)
        db.flush()
        added.append(entry)
        log_action(
            db,
            actor,
            "biometrics.entry.add",
            f"watchlist:{row.id}/entry:{entry.id}",
            {
                "label": entry.label,
                "source": entry.source,
                "source_registry": entry.source_registry,
                "legal_basis": entry.legal_basis,
                "expires_at": expires.isoformat(),
                "bulk": len(entries) > 1,
            },
            now,
        )
    _changed(row, actor, now)
    return added


def remove_entry(db: Session, entry_id: int, reason: str, actor: Actor) -> EntryRow:
    """Remove an entry: its template is deleted at once (the row stays, for the record)."""
    entry = db.get(EntryRow, entry_id)
    if entry is None or entry.removed_at is not None:
        raise NotFoundError(f"no entry {entry_id}")
    if not reason.strip():
        raise InvalidError("removing an entry needs a reason")
    now = now_utc()
    entry.template, entry.removed_at, entry.removed_by, entry.remove_reason = None, now, actor.name, reason
    _changed(get_watchlist(db, entry.watchlist_id), actor, now)
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.entry.remove",
        f"watchlist:{entry.watchlist_id}/entry:{entry.id}",
        {"reason": reason, "template_deleted": True},
        now,
    )
    return entry


def review_watchlist(db: Session, watchlist_id: int, note: str, actor: Actor) -> WatchlistRow:
    row = get_watchlist(db, watchlist_id)
    if row.changed_by == actor.name:
        raise PolicyError(f"{actor.name} made the last change; another person must review watchlist {row.id}")
    if not live_entries(db, row.id):
        raise ConflictError(f"watchlist {row.id} has no live entry to review")
    now = now_utc()
    row.reviewed_at, row.reviewed_by = now, actor.name
    db.flush()
    log_action(db, actor, "biometrics.watchlist.review", f"watchlist:{row.id}", {"note": note}, now)
    return row


def _check_activatable(db: Session, row: WatchlistRow) -> None:
    if row.status not in (WatchlistStatus.DRAFT.value, WatchlistStatus.STOPPED.value):
        raise ConflictError(f"watchlist {row.id} is {row.status}")
    if row.reviewed_at is None or row.reviewed_at < row.changed_at:
        raise PolicyError(f"watchlist {row.id} changed after its last review; it must be reviewed first")
    if not live_entries(db, row.id):
        raise ConflictError(f"watchlist {row.id} has no live entry")


def _start(row: WatchlistRow, actor: Actor, now: datetime) -> None:
    row.status, row.activated_at, row.activated_by = WatchlistStatus.ACTIVE.value, now, actor.name
    row.stopped_at = row.stopped_by = row.stop_reason = None


def activate(db: Session, watchlist_id: int, authorization_id: int, actor: Actor) -> WatchlistRow:
    row = get_watchlist(db, watchlist_id)
    _check_activatable(db, row)
    now = now_utc()
    auth = get_authorization(db, authorization_id)
    require_in_force(auth, now, row.cameras)
    check_not_authorizer(auth, actor, f"activate watchlist {row.id}")
    row.authorization_id = auth.id
    row.urgent_justification = row.urgent_started_at = row.urgent_started_by = None
    _start(row, actor, now)
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.watchlist.activate",
        f"watchlist:{row.id}",
        {
            "authorization": auth.id,
            "reference": auth.reference,
            "purpose": auth.purpose,
            "cameras": row.cameras,
            "until": auth.ends_at.isoformat(),
            "reference_version": reference_version(db, row.id, now),
        },
        now,
    )
    return row


def start_urgent(
    db: Session, watchlist_id: int, justification: str, actor: Actor, config: BiometricsConfig
) -> WatchlistRow:
    """Start without an authorization: stopped and purged unless one is attached in time."""
    row = get_watchlist(db, watchlist_id)
    check_urgent_allowed(row)
    if len(justification.strip()) < config.urgent_min_justification:
        raise PolicyError(
            f"an urgent start needs a written justification "
            f"(at least {config.urgent_min_justification} characters)"
        )
    _check_activatable(db, row)
    now = now_utc()
    row.authorization_id = None
    row.urgent_justification, row.urgent_started_at, row.urgent_started_by = (
        justification.strip(),
        now,
        actor.name,
    )
    _start(row, actor, now)
    db.flush()
    deadline = now + timedelta(hours=config.urgent_max_hours)
    log_action(
        db,
        actor,
        "biometrics.watchlist.urgent_start",
        f"watchlist:{row.id}",
        {
            "justification": row.urgent_justification,
            "cameras": row.cameras,
            "purge_at": deadline.isoformat(),
            "reference_version": reference_version(db, row.id, now),
        },
        now,
    )
    return row


def attach_authorization(
    db: Session, watchlist_id: int, authorization_id: int, actor: Actor, config: BiometricsConfig
) -> WatchlistRow:
    row = get_watchlist(db, watchlist_id)
    if row.status != WatchlistStatus.ACTIVE.value or row.urgent_started_at is None or row.authorization_id:
        raise ConflictError(f"watchlist {row.id} is not an urgent start waiting for its authorization")
    now = now_utc()
    if now >= row.urgent_started_at + timedelta(hours=config.urgent_max_hours):
        raise PolicyError(
            f"watchlist {row.id}: the {config.urgent_max_hours:g} h to attach an authorization ended"
        )
    auth = get_authorization(db, authorization_id)
    require_in_force(auth, now, row.cameras)
    check_not_authorizer(auth, actor, f"attach it to watchlist {row.id}")
    row.authorization_id = auth.id
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.watchlist.authorize",
        f"watchlist:{row.id}",
        {"authorization": auth.id, "reference": auth.reference, "purpose": auth.purpose},
        now,
    )
    return row


def stop(
    db: Session,
    watchlist_id: int,
    reason: str,
    actor: Actor,
    at: datetime | None = None,
    delete_media: Callable[[str], object] | None = None,
) -> WatchlistRow:
    """Stop a running watchlist. An urgent start without its authorization is purged instead (needs
    `delete_media` for its match crops): stopping must not be a way to start a new 24 hours."""
    row = get_watchlist(db, watchlist_id)
    if row.status != WatchlistStatus.ACTIVE.value:
        raise ConflictError(f"watchlist {row.id} is {row.status}, not active")
    now = at or now_utc()
    if unauthorized_urgent(row):
        if delete_media is None:
            raise PolicyError(f"watchlist {row.id} is an urgent start without authorization: it is purged")
        log_action(db, actor, "biometrics.watchlist.stop", f"watchlist:{row.id}", {"reason": reason}, now)
        purge_watchlist(db, row, now, delete_media, f"stopped by {actor.name} without authorization: purged")
        return row
    row.status, row.stopped_at, row.stopped_by, row.stop_reason = (
        WatchlistStatus.STOPPED.value,
        now,
        actor.name,
        reason,
    )
    db.flush()
    log_action(db, actor, "biometrics.watchlist.stop", f"watchlist:{row.id}", {"reason": reason}, now)
    return row


def effective_end(
    row: WatchlistRow, auth: AuthorizationRow | None, config: BiometricsConfig
) -> datetime | None:
    """When a running watchlist must stop: its authorization's end (or revocation), or the urgent deadline."""
    if auth is not None:
        return min(auth.ends_at, auth.revoked_at) if auth.revoked_at else auth.ends_at
    if row.urgent_started_at is not None:
        return row.urgent_started_at + timedelta(hours=config.urgent_max_hours)
    return None


def active_watchlists(db: Session, config: BiometricsConfig, at: datetime | None = None) -> list[ActiveList]:
    """The watchlists running at `at`, each with its live templates (never one past its end)."""
    at = at or now_utc()
    out = []
    for row in db.scalars(select(WatchlistRow).where(WatchlistRow.status == WatchlistStatus.ACTIVE.value)):
        auth = db.get(AuthorizationRow, row.authorization_id) if row.authorization_id else None
        end = effective_end(row, auth, config)
        if end is None or at >= end or (auth is not None and not in_force(auth, at)):
            continue
        entries = live_entries(db, row.id, at)
        if not entries:
            continue
        templates = np.stack([template_from_bytes(e.template or b"") for e in entries])
        ids = np.asarray([e.id for e in entries], np.int64)
        out.append(ActiveList(row.id, row.name, row.threshold, frozenset(row.cameras), end, ids, templates))
    return out


@dataclass(slots=True)
class SweepResult:
    stopped: int = 0
    purged: int = 0
    entries_expired: int = 0
    crops_deleted: int = 0


def sweep(
    db: Session,
    config: BiometricsConfig,
    delete_media: Callable[[str], object],
    at: datetime | None = None,
) -> SweepResult:
    """Stop watchlists past their end, purge urgent starts left without authorization, expire entries."""
    at = at or now_utc()
    result = SweepResult()
    for row in db.scalars(select(WatchlistRow).where(WatchlistRow.status == WatchlistStatus.ACTIVE.value)):
        auth = db.get(AuthorizationRow, row.authorization_id) if row.authorization_id else None
        end = effective_end(row, auth, config)
        if auth is None and end is not None and at >= end:
            reason = "urgent start without authorization: purged"
            result.crops_deleted += purge_watchlist(db, row, at, delete_media, reason)[2]
            result.purged += 1
        elif end is None or at >= end:
            stop(db, row.id, "authorization ended" if auth else "no authorization", SYSTEM, at)
            result.stopped += 1
    expired = db.scalars(
        select(EntryRow).where(
            EntryRow.removed_at.is_(None), EntryRow.template.is_not(None), EntryRow.expires_at <= at
        )
    )
    for entry in expired:
        entry.template, entry.removed_at, entry.removed_by, entry.remove_reason = (
            None,
            at,
            SYSTEM.name,
            "expired",
        )
        log_action(
            db,
            SYSTEM,
            "biometrics.entry.expire",
            f"watchlist:{entry.watchlist_id}/entry:{entry.id}",
            {"template_deleted": True},
            at,
        )
        result.entries_expired += 1
    db.flush()
    return result
