"""Moved to `safecity.config.api` (config must not import the API); kept so old imports still work."""

from safecity.config.api import ApiConfig, CameraSourcePolicy

__all__ = ["ApiConfig", "CameraSourcePolicy"]
