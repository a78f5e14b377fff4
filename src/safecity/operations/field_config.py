"""Settings of field units and the control room's map and clock: `field:`, `map:` and `site:` sections.

Every field has a default, so a deployment without these sections works (no tiles: the map falls back to
country outlines bundled with the UI).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldConfig(_Strict):
    position_every_s: float = Field(
        10.0, ge=1, le=3600, description="How often the field app sends its position while on duty"
    )
    stale_after_s: float = Field(
        120.0, ge=5, le=86_400, description="A unit with no position for this long is shown as stale"
    )
    dispatch_ack_s: float = Field(
        60.0,
        ge=1,
        le=86_400,
        description="A dispatch not acknowledged (en route / on scene) within this long escalates",
    )
    critical_alert_ack_s: float = Field(
        60.0,
        ge=1,
        le=86_400,
        description="An open critical alert not acknowledged within this long escalates",
    )
    escalation_every_s: float = Field(
        2.0, gt=0, le=3600, description="How often unanswered dispatches and critical alerts are checked"
    )
    max_message_photo_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="Size cap of a photo in a message"
    )
    correlation_radius_m: float = Field(
        300.0, gt=0, le=50_000, description="Incident page: alerts and reports this close are correlated"
    )
    correlation_window_min: float = Field(
        30.0, gt=0, le=7 * 24 * 60, description="Incident page: ... and this many minutes before or after"
    )
    evidence_lock_days: int = Field(
        90, ge=1, le=3650, description="Incident page: how long a one-click evidence lock keeps the clip"
    )


class MapConfig(_Strict):
    tile_url: str | None = Field(
        None,
        max_length=500,
        description="XYZ tile URL template with {z}/{x}/{y} (e.g. OpenStreetMap's "
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png); none: offline country outlines",
    )
    attribution: str = Field("", max_length=500, description="Attribution shown for the tiles (HTML text)")
    max_zoom: int = Field(19, ge=1, le=24, description="Highest zoom the tile source serves")
    center: tuple[float, float] | None = Field(None, description="Initial [lat, lon] (default: the cameras)")
    zoom: int | None = Field(None, ge=0, le=24, description="Initial zoom (default: fit the cameras)")

    @field_validator("tile_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and not all(p in value for p in ("{z}", "{x}", "{y}")):
            raise ValueError("tile_url must contain {z}, {x} and {y}")
        if value is not None and not value.startswith(("http://", "https://", "/")):
            raise ValueError("tile_url must be an http(s) URL or a path on this server")
        return value


class SiteConfig(_Strict):
    timezone: str = Field("UTC", description="IANA time zone every time in the UI is shown in by default")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Rome)") from exc
        return value
