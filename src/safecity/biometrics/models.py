"""Tables of lawful face matching: authorizations, watchlists and their entries, threshold changes,
matches with their two-person reviews, retrospective searches.

Who did what is kept as user id + user name at the time (no foreign key to the accounts branch). The only
biometric data stored are the templates of *listed* persons (`bio_watchlist_entries.template`, 128
float32), nulled when an entry is removed, expires or its urgent watchlist is purged; the template of a
face that matched nothing is never written anywhere (safecity.biometrics.stage).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime

NAME = String(128)


class Purpose(enum.StrEnum):
    """The fixed list of purposes (the narrow exceptions for remote biometric identification)."""

    VICTIM_OR_MISSING_PERSON = "victim_or_missing_person"
    IMMINENT_THREAT = "imminent_threat"
    SERIOUS_CRIME_SUSPECT = "serious_crime_suspect"


class Scope(enum.StrEnum):
    """What an authorization allows: face matching (watchlists, searches) or vehicle hotlists. An
    authorization of one scope is never accepted for the other (a stolen-car order runs no face match)."""

    FACES = "faces"
    VEHICLES = "vehicles"


class VehiclePurpose(enum.StrEnum):
    """Purposes of a vehicle hotlist's authorization."""

    STOLEN_VEHICLE = "stolen_vehicle"
    VICTIM_OR_MISSING_PERSON = "victim_or_missing_person"  # AMBER alerts
    IMMINENT_THREAT = "imminent_threat"
    SERIOUS_CRIME_SUSPECT = "serious_crime_suspect"


class WatchlistStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    STOPPED = "stopped"
    PURGED = "purged"


class MatchStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"  # two different reviewers confirmed it
    REJECTED = "rejected"  # a reviewer found it false
    DISPATCHED = "dispatched"  # acted upon after confirmation
    PURGED = "purged"


class ThresholdStatus(enum.StrEnum):
    APPLIED = "applied"
    PENDING = "pending"  # below the validated minimum: waits for a second approver
    REJECTED = "rejected"


class AuthorizationRow(Base):
    __tablename__ = "bio_authorizations"
    __table_args__ = (Index("ix_bio_authorizations_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(200), nullable=False)
    reference: Mapped[str] = mapped_column(String(128), nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default=Scope.FACES.value)
    cameras: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(NAME, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(NAME)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class WatchlistRow(Base):
    __tablename__ = "bio_watchlists"
    __table_args__ = (Index("ix_bio_watchlists_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    cameras: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    authorization_id: Mapped[int | None] = mapped_column(ForeignKey("bio_authorizations.id"))
    urgent_justification: Mapped[str | None] = mapped_column(Text)
    urgent_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgent_started_by: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(NAME, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    changed_by: Mapped[str] = mapped_column(NAME, nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(NAME)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(NAME)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(NAME)
    stop_reason: Mapped[str | None] = mapped_column(Text)


class EntryRow(Base):
    __tablename__ = "bio_watchlist_entries"
    __table_args__ = (Index("ix_bio_watchlist_entries_watchlist_id", "watchlist_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("bio_watchlists.id"), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    source_registry: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    template: Mapped[bytes | None] = mapped_column(LargeBinary)  # 128 float32; None once purged
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    added_by: Mapped[str] = mapped_column(NAME, nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(NAME)
    remove_reason: Mapped[str | None] = mapped_column(Text)


class ThresholdChangeRow(Base):
    __tablename__ = "bio_threshold_changes"
    __table_args__ = (Index("ix_bio_threshold_changes_watchlist_id", "watchlist_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("bio_watchlists.id"), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    previous: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(NAME, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(NAME)


class MatchRow(Base):
    __tablename__ = "bio_matches"
    __table_args__ = (
        Index("ix_bio_matches_status_seen_at", "status", "seen_at"),
        Index("ix_bio_matches_watchlist_id", "watchlist_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("bio_watchlists.id"), nullable=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bio_watchlist_entries.id"), nullable=False)
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    track_id: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    crop_key: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_by: Mapped[str | None] = mapped_column(NAME)
    act_note: Mapped[str | None] = mapped_column(Text)


class MatchReviewRow(Base):
    __tablename__ = "bio_match_reviews"
    __table_args__ = (UniqueConstraint("match_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("bio_matches.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    username: Mapped[str] = mapped_column(NAME, nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # confirm | reject
    note: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SearchRow(Base):
    __tablename__ = "bio_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("bio_authorizations.id"), nullable=False)
    cameras: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    requested_by: Mapped[str] = mapped_column(NAME, nullable=False)
    snapshots_scanned: Mapped[int] = mapped_column(Integer, nullable=False)
    faces_compared: Mapped[int] = mapped_column(Integer, nullable=False)
    hits: Mapped[list[dict[str, object]]] = mapped_column(JSON, nullable=False)
