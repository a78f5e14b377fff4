"""Vehicle hotlists (stolen vehicles, AMBER alerts) under the accountability of face watchlists.

- A hotlist matches only while `active` under an authorization of scope `vehicles` (the same table, rules
  and API shape as face watchlists' authorizations, `safecity.biometrics.authorizations`): in force, covering
  the hotlist's cameras, used by someone other than who recorded it. Past the authorization's end or after
  its revocation no read is matched at all: `active_hotlists` never returns the list past that instant, the
  registry's copy carries the end and is checked on every read, and `sweep` records the stop.
- No urgent start: a hotlist has no way to run without an authorization.
- Entries are plate texts (normalized: upper case letters and digits only), each with why it is listed,
  its source and an expiry (`plates.hotlist_max_entry_days` at most). Entries may be added while the list
  runs (stolen-vehicle lists change by the hour); every change is audited, and every hit is confirmed by
  two people against the plate crop before anyone acts (`safecity.plates.hits`).
- A hotlist with `fuzzy` also raises reads that differ from an entry only by look-alike characters (O/0,
  I/1, B/8, S/5, Z/2, G/6: `plate_formats.fold`); such hits are flagged `fuzzy`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import get_authorization, in_force, require_in_force
from safecity.biometrics.common import (
    Actor,
    ConflictError,
    InvalidError,
    NotFoundError,
    aware,
    log_action,
    now_utc,
)
from safecity.biometrics.models import AuthorizationRow, Scope
from safecity.biometrics.safeguards import check_not_authorizer
from safecity.plates.models import HotlistEntryRow, HotlistRow
from safecity.vision.plate_formats import fold, normalize
from safecity.vision.plates_config import PlatesConfig

log = logging.getLogger(__name__)
SYSTEM = Actor.system("safecity")
VEHICLES = Scope.VEHICLES.value
DRAFT, ACTIVE, STOPPED = "draft", "active", "stopped"
MAX_PLATE = 16
AS_WRITTEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .·-]*")


@dataclass(frozen=True, slots=True)
class HotlistEntryInput:
    plate: str  # as written; normalized here
    label: str
    source: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ListedPlate:
    entry_id: int
    plate: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveHotlist:
    """What the plate step needs of one running hotlist."""

    id: int
    name: str
    cameras: frozenset[str]
    fuzzy: bool
    ends_at: datetime  # the authorization's end (or revocation)
    exact: dict[str, ListedPlate]
    folded: dict[str, ListedPlate]


@dataclass(frozen=True, slots=True)
class HotlistMatch:
    hotlist: ActiveHotlist
    entry: ListedPlate
    fuzzy: bool


def get_hotlist(db: Session, hotlist_id: int) -> HotlistRow:
    row = db.get(HotlistRow, hotlist_id)
    if row is None:
        raise NotFoundError(f"no hotlist {hotlist_id}")
    return row


def list_hotlists(db: Session) -> list[HotlistRow]:
    return list(db.scalars(select(HotlistRow).order_by(HotlistRow.id)))


def entries_of(db: Session, hotlist_id: int) -> list[HotlistEntryRow]:
    stmt = select(HotlistEntryRow).where(HotlistEntryRow.hotlist_id == hotlist_id)
    return list(db.scalars(stmt.order_by(HotlistEntryRow.id)))


def live_entries(db: Session, hotlist_id: int, at: datetime | None = None) -> list[HotlistEntryRow]:
    at = at or now_utc()
    return [e for e in entries_of(db, hotlist_id) if e.removed_at is None and e.expires_at > at]


def _cameras(cameras: Sequence[str]) -> list[str]:
    return sorted({c.strip() for c in cameras if c.strip()})


def create_hotlist(
    db: Session, name: str, description: str, cameras: Sequence[str], fuzzy: bool, actor: Actor
) -> HotlistRow:
    cams = _cameras(cameras)
    if not name.strip() or not cams:
        raise InvalidError("a hotlist needs a name and at least one camera")
    if db.scalar(select(HotlistRow.id).where(HotlistRow.name == name.strip())) is not None:
        raise ConflictError(f"a hotlist named {name.strip()!r} exists")
    now = now_utc()
    row = HotlistRow(
        name=name.strip(),
        description=description.strip(),
        cameras=cams,
        fuzzy=fuzzy,
        status=DRAFT,
        created_at=now,
        created_by=actor.name,
    )
    db.add(row)
    db.flush()
    details = {"name": row.name, "cameras": cams, "fuzzy": fuzzy}
    log_action(db, actor, "plates.hotlist.create", f"hotlist:{row.id}", details, now)
    return row


def update_hotlist(
    db: Session,
    hotlist_id: int,
    actor: Actor,
    description: str | None = None,
    cameras: Sequence[str] | None = None,
    fuzzy: bool | None = None,
) -> HotlistRow:
    """Change a hotlist's description, cameras or fuzzy matching; a running list keeps to its
    authorization's cameras."""
    row = get_hotlist(db, hotlist_id)
    changes: dict[str, object] = {}
    if cameras is not None:
        cams = _cameras(cameras)
        if not cams:
            raise InvalidError("a hotlist needs at least one camera")
        if row.status == ACTIVE and row.authorization_id is not None:
            auth = get_authorization(db, row.authorization_id, VEHICLES)
            require_in_force(auth, now_utc(), cams, VEHICLES)
        row.cameras, changes["cameras"] = cams, cams
    if description is not None:
        row.description, changes["description"] = description.strip(), description.strip()
    if fuzzy is not None:
        row.fuzzy, changes["fuzzy"] = fuzzy, fuzzy
    if not changes:
        raise InvalidError("nothing to change")
    db.flush()
    log_action(db, actor, "plates.hotlist.update", f"hotlist:{row.id}", changes)
    return row


def _check_entry(data: HotlistEntryInput, config: PlatesConfig, now: datetime) -> tuple[str, datetime]:
    if not AS_WRITTEN.fullmatch(data.plate.strip()):
        # never drop a character silently: "ÄB12" listed as "B12" would stop the wrong cars
        raise InvalidError(f"plate: letters A-Z, digits, spaces and dashes only, got {data.plate!r}")
    plate = normalize(data.plate)
    if not 2 <= len(plate) <= MAX_PLATE:
        raise InvalidError(f"plate: 2 to {MAX_PLATE} letters or digits, got {data.plate!r}")
    if not data.label.strip() or not data.source.strip():
        raise InvalidError("a hotlist entry records why the plate is listed (label) and its source")
    expires = aware(data.expires_at)
    if expires <= now:
        raise InvalidError("a hotlist entry must expire in the future")
    if expires > now + timedelta(days=config.hotlist_max_entry_days):
        raise InvalidError(f"a hotlist entry expires within {config.hotlist_max_entry_days} days")
    return plate, expires


def add_entries(
    db: Session,
    hotlist_id: int,
    entries: Sequence[HotlistEntryInput],
    actor: Actor,
    config: PlatesConfig,
) -> list[HotlistEntryRow]:
    row = get_hotlist(db, hotlist_id)
    if not entries:
        raise InvalidError("no entries to add")
    now = now_utc()
    checked = [_check_entry(e, config, now) for e in entries]  # all or none
    listed = {e.plate for e in live_entries(db, row.id, now)}
    added = []
    for data, (plate, expires) in zip(entries, checked, strict=True):
        if plate in listed:
            raise ConflictError(f"plate {plate} is already on hotlist {row.id}")
        listed.add(plate)
        added.append(
            HotlistEntryRow(
                hotlist_id=row.id,
                plate=plate,
                label=data.label.strip(),
                source=data.source.strip(),
                expires_at=expires,
                added_at=now,
                added_by=actor.name,
            )
        )
    db.add_all(added)
    db.flush()
    listing = [
        {"entry": e.id, "plate": e.plate, "label": e.label, "source": e.source,
         "expires_at": e.expires_at.isoformat()}
        for e in added
    ]  # fmt: skip
    # one audit entry per request (a stolen-vehicle feed brings thousands of plates), every plate in it
    subject = f"hotlist:{row.id}/entry:{added[0].id}" if len(added) == 1 else f"hotlist:{row.id}"
    details = {"entries": listing, "while_active": row.status == ACTIVE}
    log_action(db, actor, "plates.hotlist.entry.add", subject, details, now)
    return added


def remove_entry(db: Session, entry_id: int, reason: str, actor: Actor) -> HotlistEntryRow:
    entry = db.get(HotlistEntryRow, entry_id)
    if entry is None or entry.removed_at is not None:
        raise NotFoundError(f"no hotlist entry {entry_id}")
    if not reason.strip():
        raise InvalidError("removing an entry needs a reason")
    now = now_utc()
    entry.removed_at, entry.removed_by, entry.remove_reason = now, actor.name, reason.strip()
    db.flush()
    subject = f"hotlist:{entry.hotlist_id}/entry:{entry.id}"
    log_action(db, actor, "plates.hotlist.entry.remove", subject, {"reason": reason.strip()}, now)
    return entry


def activate(db: Session, hotlist_id: int, authorization_id: int, actor: Actor) -> HotlistRow:
    """Start matching under an authorization (scope `vehicles`, in force, covering the cameras, not used by
    the person who recorded it)."""
    row = get_hotlist(db, hotlist_id)
    if row.status not in (DRAFT, STOPPED):
        raise ConflictError(f"hotlist {row.id} is {row.status}")
    now = now_utc()
    if not live_entries(db, row.id, now):
        raise ConflictError(f"hotlist {row.id} has no live entry")
    auth = get_authorization(db, authorization_id)
    require_in_force(auth, now, row.cameras, VEHICLES)
    check_not_authorizer(auth, actor, f"activate hotlist {row.id}")
    row.status, row.authorization_id, row.activated_at, row.activated_by = ACTIVE, auth.id, now, actor.name
    row.stopped_at = row.stopped_by = row.stop_reason = None
    db.flush()
    details = {
        "authorization": auth.id,
        "reference": auth.reference,
        "purpose": auth.purpose,
        "cameras": row.cameras,
        "until": auth.ends_at.isoformat(),
    }
    log_action(db, actor, "plates.hotlist.activate", f"hotlist:{row.id}", details, now)
    return row


def stop(db: Session, hotlist_id: int, reason: str, actor: Actor, at: datetime | None = None) -> HotlistRow:
    row = get_hotlist(db, hotlist_id)
    if row.status != ACTIVE:
        raise ConflictError(f"hotlist {row.id} is {row.status}, not active")
    if not reason.strip():
        raise InvalidError("stopping a hotlist needs a reason")
    now = at or now_utc()
    row.status, row.stopped_at, row.stopped_by, row.stop_reason = STOPPED, now, actor.name, reason.strip()
    db.flush()
    log_action(db, actor, "plates.hotlist.stop", f"hotlist:{row.id}", {"reason": reason.strip()}, now)
    return row


def authorization_end(auth: AuthorizationRow) -> datetime:
    return min(auth.ends_at, auth.revoked_at) if auth.revoked_at else auth.ends_at


def active_hotlists(db: Session, at: datetime | None = None) -> list[ActiveHotlist]:
    """The hotlists matching at `at`, with their live entries (never one past its authorization's end)."""
    at = at or now_utc()
    out = []
    for row in db.scalars(select(HotlistRow).where(HotlistRow.status == ACTIVE)):
        auth = db.get(AuthorizationRow, row.authorization_id) if row.authorization_id else None
        if auth is None or auth.scope != VEHICLES or not in_force(auth, at):
            continue
        live = select(HotlistEntryRow.id, HotlistEntryRow.plate, HotlistEntryRow.expires_at).where(
            HotlistEntryRow.hotlist_id == row.id,
            HotlistEntryRow.removed_at.is_(None),
            HotlistEntryRow.expires_at > at,
        )  # columns only: a list of 10,000 plates loads in milliseconds, not as ORM objects
        entries = [ListedPlate(i, p, x) for i, p, x in db.execute(live)]
        if not entries:
            continue
        exact = {e.plate: e for e in entries}
        folded = {fold(e.plate): e for e in entries} if row.fuzzy else {}
        cams = frozenset(row.cameras) & frozenset(auth.cameras)
        out.append(ActiveHotlist(row.id, row.name, cams, row.fuzzy, authorization_end(auth), exact, folded))
    return out


def sweep(db: Session, at: datetime | None = None) -> tuple[int, int]:
    """Stop hotlists whose authorization ended or was revoked, expire entries; (stopped, expired)."""
    at = at or now_utc()
    stopped = expired = 0
    for row in db.scalars(select(HotlistRow).where(HotlistRow.status == ACTIVE)):
        auth = db.get(AuthorizationRow, row.authorization_id) if row.authorization_id else None
        if auth is None or at >= authorization_end(auth):
            revoked = auth is not None and auth.revoked_at is not None
            reason = "authorization revoked" if revoked else "authorization ended"
            stop(db, row.id, reason, SYSTEM, at)
            stopped += 1
    old = select(HotlistEntryRow).where(
        HotlistEntryRow.removed_at.is_(None), HotlistEntryRow.expires_at <= at
    )
    for entry in db.scalars(old):
        entry.removed_at, entry.removed_by, entry.remove_reason = at, SYSTEM.name, "expired"
        subject = f"hotlist:{entry.hotlist_id}/entry:{entry.id}"
        log_action(db, SYSTEM, "plates.hotlist.entry.expire", subject, {}, at)
        expired += 1
    db.flush()
    return stopped, expired


def match(lists: Sequence[ActiveHotlist], camera_id: str, plate: str, at: datetime) -> HotlistMatch | None:
    """The hotlist entry a read matches on this camera at `at`: exact first, then (on fuzzy lists) a
    look-alike. Lists past their authorization's end and expired entries never match."""
    plate = normalize(plate)
    live = [h for h in lists if camera_id in h.cameras and at < h.ends_at]
    for h in live:
        e = h.exact.get(plate)
        if e is not None and at < e.expires_at:
            return HotlistMatch(h, e, fuzzy=False)
    key = fold(plate)
    for h in live:
        e = h.folded.get(key)
        if e is not None and at < e.expires_at and len(e.plate) == len(plate):
            return HotlistMatch(h, e, fuzzy=True)
    return None


class HotlistRegistry:
    """The active hotlists, re-read (after a sweep) every `plates.hotlist_refresh_s`; an expiry or
    revocation between two reads is still honoured for expiry (each list carries its end time) and within
    one refresh for a revocation."""

    def __init__(self, sessions: Callable[[], Session], config: PlatesConfig) -> None:
        self.sessions, self.config = sessions, config
        self._lists: list[ActiveHotlist] = []
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def refresh(self, at: datetime | None = None) -> list[ActiveHotlist]:
        with self._lock:
            with self.sessions() as db:
                sweep(db, at)
                self._lists = active_hotlists(db, at)
                db.commit()
            self._loaded = time.monotonic()
            return self._lists

    def match(self, camera_id: str, plate: str, at: datetime) -> HotlistMatch | None:
        if time.monotonic() - self._loaded >= self.config.hotlist_refresh_s:
            try:
                self.refresh()
            except Exception:  # store briefly unavailable: keep the last lists (they still expire)
                log.exception("hotlists could not be refreshed")
        return match(self._lists, camera_id, plate, at)
