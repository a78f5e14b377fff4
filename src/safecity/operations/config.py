"""Settings of the command center's operations: alert rule seeds, camera-dark watchdog, public reports.

Every field has a default, so a deployment with no `operations:` section works out of the box.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safecity.operations.domain import Severity
from safecity.operations.fields import Ident, Text
from safecity.types import EventKind

CAMERA_DARK = "camera_dark"
ALERT_KINDS: tuple[str, ...] = (*(k.value for k in EventKind), CAMERA_DARK)
DedupField = Literal["camera_id", "zone_id", "line_id", "label", "direction"]
DEDUP_FIELDS: tuple[str, ...] = get_args(DedupField)


def check_kinds(kinds: tuple[str, ...] | None) -> tuple[str, ...] | None:
    unknown = sorted(set(kinds or ()) - set(ALERT_KINDS))
    if unknown:
        raise ValueError(f"unknown event kind(s) {', '.join(unknown)}; known: {', '.join(ALERT_KINDS)}")
    return kinds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertRuleSeed(_Strict):
    """One alert rule written to the database on first start (afterwards the database is the truth)."""

    name: Text = Field(..., min_length=1, max_length=128, description="Unique rule name shown to operators")
    event_kinds: tuple[str, ...] = Field(
        ...,
        min_length=1,
        max_length=16,
        description="Event kinds that match (crowding, loitering, camera_dark, ...)",
    )
    labels: tuple[Ident, ...] | None = Field(
        None, max_length=200, description="Only these labels (default: any)"
    )
    camera_ids: tuple[Ident, ...] | None = Field(
        None, max_length=200, description="Only these cameras (default: any)"
    )
    zone_ids: tuple[Ident, ...] | None = Field(
        None, max_length=200, description="Only these zones (default: any)"
    )
    line_ids: tuple[Ident, ...] | None = Field(
        None, max_length=200, description="Only these lines (default: any)"
    )
    severity: Severity = Field(Severity.MEDIUM, description="Severity of the alerts it raises")
    cooldown_s: float = Field(300.0, ge=0, le=86_400, description="Repeats within this long are merged")
    dedup_by: tuple[DedupField, ...] = Field(
        ("camera_id", "zone_id"), description="Event fields that, with the rule, identify a repeat"
    )
    enabled: bool = True

    _kinds = field_validator("event_kinds")(check_kinds)


class ReportsConfig(_Strict):
    rate_limit: int = Field(5, ge=1, le=1_000_000, description="Reports accepted per client IP per window")
    rate_window_s: float = Field(600.0, gt=0, le=86_400, description="Rate limit window in seconds")
    max_photo_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="Photo size cap")
    max_photo_pixels: int = Field(
        12_000_000,
        ge=10_000,
        le=100_000_000,
        description="Pixel cap of a public photo, read from its header before decoding (decompression bombs)",
    )
    max_photo_side: int = Field(
        2048, ge=64, le=8192, description="A public photo is decoded reduced to at most this many pixels wide"
    )
    max_age_days: float = Field(7.0, gt=0, le=365, description="Oldest observation time accepted")


class OperationsConfig(_Strict):
    alert_rules: tuple[AlertRuleSeed, ...] | None = Field(
        None, description="Rules seeded on first start instead of the built-in defaults"
    )
    watchdog_every_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="How often camera health is checked for camera_dark alerts "
        "(dark means no frame for api.camera_dark_after_s)",
    )
    reports: ReportsConfig = ReportsConfig()
