"""Settings: pydantic models and the YAML loader."""

from safecity.config.loader import ConfigError, load_settings, parse_settings
from safecity.config.models import CameraConfig, LineConfig, Settings, ZoneConfig

__all__ = [
    "CameraConfig",
    "ConfigError",
    "LineConfig",
    "Settings",
    "ZoneConfig",
    "load_settings",
    "parse_settings",
]
