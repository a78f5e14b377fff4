"""Request and response bodies of the accounts, cameras, events and health routes.

Separate Create / Update / Public models per resource: what a client may send is never what we store or
show (no password hash, no token hash, no camera password ever leaves the server).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from safecity.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from safecity.api.permissions import Role
from safecity.config.models import CameraConfig, Identifier, Label, LineConfig, ZoneConfig


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


CameraId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Camera id")]
CameraIds = Annotated[list[Identifier], Field(max_length=10_000)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


# -- auth ----------------------------------------------------------------------------------------------


class LoginRequest(Body):
    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=MAX_PASSWORD_LENGTH)


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    cameras: list[str] | None = Field(description="Camera access list; null: every camera")
    via: Literal["session", "token"]
    second_factor: Literal["mfa", "enrol"] | None = Field(
        None, description="Set while the session waits for the second factor ('mfa') or its enrolment"
    )


class LoginResponse(Me):
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on POST/PUT/PATCH/DELETE")
    expires_at: datetime


# -- users ---------------------------------------------------------------------------------------------


class UserCreate(Body):
    username: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    password: Password
    roles: list[Role] = Field(..., min_length=1)
    display_name: str = Field("", max_length=128)
    cameras: CameraIds | None = Field(None, description="Camera access list; null: every camera")


class UserUpdate(Body):
    """Only the fields sent change; `cameras: null` grants every camera."""

    display_name: str | None = Field(None, max_length=128)
    roles: list[Role] | None = Field(None, min_length=1)
    cameras: CameraIds | None = None
    disabled: bool | None = None
    password: Password | None = Field(None, description="Reset the password (ends the user's sessions)")


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    cameras: list[str] | None
    disabled: bool
    created_at: datetime


# -- API tokens ----------------------------------------------------------------------------------------


class TokenCreate(Body):
    name: str = Field(..., min_length=1, max_length=64)
    expires_in_days: int | None = Field(
        None, ge=1, description="Default: api.token_default_days; at most api.token_max_days"
    )
    scopes: list[str] | None = Field(
        None,
        max_length=64,
        description="Permissions the token may use (each one you hold), and/or 'read-only'; "
        "default: all of yours except users:manage",
    )


class TokenPublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    scopes: list[str] | None = None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret: shown once, send it as 'Authorization: Bearer <token>'")


# -- cameras -------------------------------------------------------------------------------------------


class CameraCreate(CameraConfig):
    """A new camera: the same fields and checks as a camera in the settings file."""


class CameraUpdate(Body):
    """Only the fields sent change; the result is validated as a whole camera."""

    name: str | None = None
    source: str | None = Field(None, min_length=1)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    fps: float | None = Field(None, gt=0, le=60)
    loop: bool | None = None
    enabled: bool | None = None
    classes: list[Label] | None = None
    lines: list[LineConfig] | None = None
    zones: list[ZoneConfig] | None = None


class CameraHealthPublic(BaseModel):
    camera_id: str
    status: Literal["starting", "ok", "dark", "error", "stopped", "disabled"]
    running: bool
    analysed_fps: float
    frames_analysed: int
    frames_dropped: int
    events: int
    detector_latency_ms: float
    detector_runs: int
    reconnects: int
    last_frame_at: datetime | None
    seconds_since_frame: float | None
    error: str | None
    last_error: str | None = Field(
        None, description="The source's last failure while not ok (why it is dark)"
    )


class CameraPublic(BaseModel):
    id: str
    name: str
    source: str = Field(description="With any password replaced by ***")
    lat: float | None
    lon: float | None
    fps: float | None
    loop: bool
    enabled: bool
    classes: list[str] | None
    lines: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    health: CameraHealthPublic | None = Field(description="Live status; null when no worker runs here")


# -- events --------------------------------------------------------------------------------------------


class EventPublic(BaseModel):
    schema_version: int
    id: str
    camera_id: str
    kind: str
    start: datetime
    end: datetime
    label: str | None
    track_id: int | None
    line_id: str | None
    zone_id: str | None
    direction: str | None
    count: int | None
    score: float | None
    snapshot: str | None
    value: float | None = Field(None, description="A measurement: km/h of `speed` and `speeding` events")
    snapshot_url: str | None = Field(description="GET it for the JPEG (media:read)")


class EventPage(BaseModel):
    items: list[EventPublic]
    total: int
    limit: int
    offset: int


# -- health --------------------------------------------------------------------------------------------


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    cameras: list[CameraHealthPublic]
    bus: dict[str, int]
    store: dict[str, int]
    live: dict[str, int]
    durability: dict[str, Any] | None = None  # the store writer: state, reason, events held in the outbox
