"""The `api:` section of the settings file: where `safecity serve` listens and how it guards sessions.

Kept free of FastAPI imports (config/models.py imports it) and of `safecity.config` (no import cycle).
"""

from __future__ import annotations

from pathlib import Path

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
    session_ttl_hours: float = Field(12.0, gt=0, le=24 * 30, description="A login session lasts this long")
    login_window_s: float = Field(300.0, gt=0, description="Window in which failed logins are counted")
    login_max_failures_per_user: int = Field(
        5, ge=1, description="Failed logins for one username within the window before 429"
    )
    login_max_failures_per_ip: int = Field(
        20, ge=1, description="Failed logins from one client address within the window before 429"
    )
    token_default_days: int = Field(90, ge=1, le=3650, description="Lifetime of an API token by default")
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
