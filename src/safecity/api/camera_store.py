"""Moved to `safecity.store.cameras` (workers read it too); kept so old imports still work."""

from safecity.store.cameras import (
    CameraRow,
    CameraRowInvalid,
    get_camera,
    insert_camera,
    list_cameras,
    seed_cameras,
    to_config,
    update_camera,
)

__all__ = [
    "CameraRow",
    "CameraRowInvalid",
    "get_camera",
    "insert_camera",
    "list_cameras",
    "seed_cameras",
    "to_config",
    "update_camera",
]
