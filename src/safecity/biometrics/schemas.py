"""Request and response bodies of the biometrics API (no template or face ever appears in one)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from safecity.biometrics.models import Purpose


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuthorizationCreate(_In):
    issuer: str = Field(
        ..., min_length=1, max_length=200, description="Issuing authority (court, prosecutor)"
    )
    reference: str = Field(..., min_length=1, max_length=128, description="Warrant / order / case reference")
    purpose: Purpose
    cameras: list[str] = Field(..., min_length=1, max_length=1000)
    starts_at: datetime
    ends_at: datetime
    notes: str = Field("", max_length=4000)


class AuthorizationPublic(_Out):
    id: int
    issuer: str
    reference: str
    purpose: str
    scope: str
    cameras: list[str]
    starts_at: datetime
    ends_at: datetime
    notes: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


class Reason(_In):
    reason: str = Field(..., min_length=1, max_length=4000)


class Note(_In):
    note: str = Field("", max_length=4000)


class WatchlistCreate(_In):
    name: str = Field(..., min_length=1, max_length=128)
    description: str = Field("", max_length=4000)
    cameras: list[str] = Field(..., min_length=1, max_length=1000)


class EntryPublic(_Out):
    id: int
    label: str
    source: str
    source_registry: str | None
    legal_basis: str
    expires_at: datetime
    added_at: datetime
    added_by: str
    removed_at: datetime | None
    removed_by: str | None
    remove_reason: str | None


class WatchlistPublic(_Out):
    id: int
    name: str
    description: str
    cameras: list[str]
    threshold: float
    status: str
    authorization_id: int | None
    urgent_justification: str | None
    urgent_started_at: datetime | None
    urgent_started_by: str | None
    created_at: datetime
    created_by: str
    changed_at: datetime
    changed_by: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    activated_at: datetime | None
    activated_by: str | None
    stopped_at: datetime | None
    stop_reason: str | None


class WatchlistDetail(WatchlistPublic):
    entries: list[EntryPublic]


class ImportItem(_In):
    label: str = Field(..., min_length=1, max_length=200)
    source: str = Field(..., min_length=1, max_length=300)
    source_registry: str | None = Field(None, max_length=64)
    legal_basis: str = Field(..., min_length=1, max_length=4000)
    expires_at: datetime


class Activate(_In):
    authorization_id: int = Field(..., ge=1)


class UrgentStart(_In):
    justification: str = Field(..., min_length=1, max_length=8000)


class ThresholdRequest(_In):
    value: float = Field(..., gt=0, lt=1, description="Match score threshold (1 - dlib distance)")
    reason: str = Field(..., min_length=1, max_length=4000)


class ThresholdChangePublic(_Out):
    id: int
    watchlist_id: int
    value: float
    previous: float
    reason: str
    status: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None


class ReviewPublic(_Out):
    username: str
    decision: str
    note: str
    at: datetime


class MatchPublic(_Out):
    id: int
    watchlist_id: int
    entry_id: int
    camera_id: str
    track_id: int | None
    seen_at: datetime
    score: float
    threshold: float
    status: str
    has_crop: bool
    acted_at: datetime | None
    acted_by: str | None


class MatchDetail(MatchPublic):
    reviews: list[ReviewPublic]


class MatchReview(_In):
    confirm: bool
    note: str = Field("", max_length=4000)


class Dispatch(_In):
    note: str = Field(..., min_length=1, max_length=4000)


class SearchHitPublic(BaseModel):
    event_id: str
    camera_id: str
    at: datetime
    score: float


class SearchResult(BaseModel):
    search_id: int
    snapshots_scanned: int
    faces_compared: int
    hits: list[SearchHitPublic]
