"""The `api:` section of the settings file: where `safecity serve` listens and how it guards sessions.

Kept free of FastAPI imports (config/models.py imports it) and of `safecity.config` (no import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address `safecity serve` listens on")
    port: int = Field(8080, ge=1, le=65535, description="TCP port `safecity serve` listens on")
    secure_cookies: bool = Field(
        True,
        description=(
            "Mark session cookies Secure (sent over HTTPS only). While true, a request made over plain "
            "http to a loopback address (127.0.0.1, ::1, localhost) still gets cookies without Secure, so "
            "the local demo works; false drops Secure everywhere (only for a closed test network)"
        ),
    )
    session_ttl_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="Absolute lifetime of a login session, however active it is"
    )
    session_idle_minutes: float = Field(
        60.0,
        ge=2,
        le=24 * 60 * 30,
        description="A login session unused for this long ends (idle timeout; activity is recorded "
        "at most once a minute)",
    )
    auth_cache_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="Seconds a node reuses a checked session or API token without reading the database "
        "again (0: never). Logout and revocations on the same node take effect at once; those made on "
        "another node or with the CLI within this many seconds",
    )
    login_window_s: float = Field(300.0, gt=0, description="Window in which failed logins are counted")
    login_max_failures_per_user: int = Field(
        5, ge=1, description="Failed logins for one username within the window before 429"
    )
    login_max_failures_per_ip: int = Field(
        20, ge=1, description="Failed logins from one client address within the window before 429"
    )
    token_default_days: int = Field(90, ge=1, le=3650, description="Lifetime of an API token by default")
    token_max_days: int = Field(
        365, ge=1, le=3650, description="Longest lifetime a new API token may ask for (longer: 422)"
    )
    camera_dark_after_s: float = Field(
        10.0, gt=0, description="A running camera with no frame for this long is reported dark"
    )
    ws_queue_size: int = Field(
        256,
        ge=8,
        le=100_000,
        description="Messages buffered per WebSocket client; a client that falls "
        "this far behind is disconnected (the bus is never slowed down)",
    )
    mjpeg_max_fps: float = Field(10.0, gt=0, le=30, description="Upper bound of the live MJPEG frame rate")
    ui_dir: Path | None = Field(
        None, description="Built web UI to serve at / (default: the package's web/dist)"
    )
    start_workers: bool = Field(
        True, description="Run the camera workers inside `safecity serve` (false: API and UI only)"
    )
    camera_sources: CameraSourcePolicy = Field(
        default_factory=lambda: CameraSourcePolicy(),
        description="Sources allowed for cameras added or changed through the API",
    )
    two_factor_roles: tuple[Literal["admin", "supervisor", "investigator", "auditor", "operator",
                                    "viewer", "field-unit"], ...] = Field(
        ("admin", "supervisor", "investigator", "auditor"),
        description="Roles whose users must use a second factor (TOTP) to sign in: those that see "
        "biometric data or unredacted media, or manage users. An empty list turns the requirement off "
        "(the API unit tests do; see docs/security.md); a user who enrolled is asked for it regardless",
    )  # fmt: skip
    two_factor_issuer: str = Field(
        "safecity", min_length=1, max_length=64, description="Issuer name shown in authenticator apps"
    )
    hsts_max_age_s: int = Field(
        31_536_000,
        ge=0,
        description="Strict-Transport-Security max-age sent on responses to HTTPS requests (0: no HSTS)",
    )


class CameraSourcePolicy(BaseModel):
    """Which sources a camera added or re-pointed through the API may use (the settings file is trusted).

    Without it an administrator's account (or a stolen session) could point a camera at `/etc/passwd`, a
    stored recording, or an internal service (`http://127.0.0.1:6379`) and read what the error says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schemes: tuple[str, ...] = Field(
        ("rtsp", "rtsps", "http", "https"),
        description="URL schemes a camera source may use; add 'file' to allow local files (see file_dirs)",
    )
    hosts: tuple[str, ...] = Field(
        ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
        description="Where network cameras may be: networks (CIDR), addresses or host names. A host name "
        "not listed is resolved and every address must be in a listed network. Loopback, link-local "
        "(cloud metadata) and public addresses are refused unless listed",
    )
    file_dirs: tuple[Path, ...] = Field(
        (),
        description="Folders whose video files may be camera sources (with the 'file' scheme or a plain "
        "path); anything outside them (after resolving links) is refused",
    )


ApiConfig.model_rebuild()
