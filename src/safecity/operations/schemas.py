"""API shapes of alerts, alert rules, field units and public reports: Create / Update / Public models.

Public models read ORM rows (`from_attributes`); Create and Update models forbid unknown keys so a typo in
a request is a 422, never silently ignored. Incident shapes are in `incident_schemas`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from safecity.operations.config import AlertRuleSeed, DedupField, check_kinds
from safecity.operations.domain import AlertStatus, ReportStatus, Severity, UnitKind, UnitStatus
from safecity.operations.fields import DbId, Ident, Lat, Lon, Text

Note = Annotated[Text, Field(max_length=4000)]
CallSign = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$", description="e.g. 'Foot-12'")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- alerts -----------------------------------------------------------------------------------------


class AlertPublic(_Out):
    id: int
    rule_id: int | None
    rule_name: str
    kind: str
    severity: Severity
    status: AlertStatus
    title: str
    camera_id: str | None
    zone_id: str | None
    line_id: str | None
    label: str | None
    count: int | None = Field(description="Largest count seen (crowding: people present)")
    occurrences: int = Field(description="Matching observations merged into this alert")
    first_event_id: str | None
    last_event_id: str | None
    snapshot: str | None = Field(description="Media key of the latest event's snapshot")
    first_seen: datetime
    last_seen: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assigned_at: datetime | None
    assigned_by: str | None
    assignee_id: int | None
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    incident_id: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def snapshot_url(self) -> str | None:
        """Where the UI loads the snapshot (media:read and access to the camera)."""
        return f"/api/media/{self.snapshot}" if self.snapshot else None


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int
    limit: int
    offset: int


class AlertAssign(_In):
    user_id: DbId = Field(..., description="The user who takes the alert over")


class AlertClose(_In):
    note: Text = Field(..., min_length=1, max_length=4000, description="Why it is closed (outcome)")


# --- alert rules ------------------------------------------------------------------------------------


class AlertRuleCreate(AlertRuleSeed):
    """A new rule (same fields as a rule seeded from the settings)."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class AlertRuleUpdate(_In):
    name: Text | None = Field(None, min_length=1, max_length=128)
    event_kinds: tuple[str, ...] | None = Field(None, min_length=1, max_length=16)
    labels: tuple[Ident, ...] | None = Field(None, max_length=200)
    camera_ids: tuple[Ident, ...] | None = Field(None, max_length=200)
    zone_ids: tuple[Ident, ...] | None = Field(None, max_length=200)
    line_ids: tuple[Ident, ...] | None = Field(None, max_length=200)
    severity: Severity | None = None
    cooldown_s: float | None = Field(None, ge=0, le=86_400)
    dedup_by: tuple[DedupField, ...] | None = None
    enabled: bool | None = None

    _kinds = field_validator("event_kinds")(check_kinds)


class AlertRulePublic(_Out):
    id: int
    name: str
    enabled: bool
    event_kinds: list[str]
    labels: list[str] | None
    camera_ids: list[str] | None
    zone_ids: list[str] | None
    line_ids: list[str] | None
    severity: Severity
    cooldown_s: float
    dedup_by: list[str]
    created_at: datetime
    updated_at: datetime
    updated_by: str


# --- field units ------------------------------------------------------------------------------------


class UnitCreate(_In):
    call_sign: CallSign
    kind: UnitKind
    user_id: DbId | None = Field(None, description="The field-unit account that answers for it")
    status: Literal[UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY] = UnitStatus.AVAILABLE
    lat: Lat | None = None
    lon: Lon | None = None


class UnitUpdate(_In):
    call_sign: CallSign | None = None
    kind: UnitKind | None = None
    user_id: DbId | None = None
    unlink_user: bool = Field(False, description="Remove the linked account")
    status: Literal[UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY] | None = Field(
        None, description="Only available / off duty by hand; dispatch sets the others"
    )
    lat: Lat | None = None
    lon: Lon | None = None


class UnitPublic(_Out):
    id: int
    call_sign: str
    kind: UnitKind
    user_id: int | None
    status: UnitStatus
    lat: float | None
    lon: float | None
    position_at: datetime | None
    created_at: datetime
    updated_at: datetime


# --- public reports ---------------------------------------------------------------------------------


class PublicReportCreate(_In):
    """What a member of the public submits (multipart form fields, plus an optional `photo` file)."""

    category: Text = Field(..., max_length=32, description="One of GET /api/public/report-options categories")
    description: Text = Field(..., min_length=1, max_length=2000)
    lat: Lat | None = None
    lon: Lon | None = None
    camera_id: Ident | None = Field(None, description="Nearest camera instead of a pin")
    observed_at: datetime = Field(..., description="When it happened (ISO 8601; UTC if no offset)")
    contact: Text | None = Field(None, max_length=200, description="Optional phone or e-mail")

    @model_validator(mode="after")
    def _where(self) -> PublicReportCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not self.camera_id:
            raise ValueError("say where: a map pin (lat, lon) or the nearest camera (camera_id)")
        return self


class PublicReportReceipt(BaseModel):
    id: int
    status: Literal["received"] = "received"
    message: str = "Thank you. Your report has been received and will be reviewed by an operator."


class ReportOptions(BaseModel):
    categories: list[str]
    max_description: int
    max_photo_bytes: int
    photo_types: list[str]
    max_age_days: float
    cameras: list[CameraPin]


class CameraPin(BaseModel):
    id: str
    name: str
    lat: float
    lon: float


class ReportPublic(_Out):
    id: int
    category: str
    description: str
    lat: float | None
    lon: float | None
    camera_id: str | None
    observed_at: datetime
    has_photo: bool
    contact: str | None
    status: ReportStatus
    created_at: datetime
    triaged_at: datetime | None
    triaged_by: str | None
    triage_note: str | None
    incident_id: int | None


class ReportTriage(_In):
    action: Literal["dismiss", "incident"]
    note: Text = Field("", max_length=2000)
    priority: Severity | None = Field(None, description="Incident priority (default: its type's)")
    title: Text | None = Field(None, min_length=1, max_length=200)


ReportOptions.model_rebuild()
