"""Media: snapshot (and later clip/recording) storage behind the `MediaStorage` protocol."""

from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.media.storage import LocalMediaStorage, MediaNotFoundError, MediaStorage, normalize_key

__all__ = [
    "LocalMediaStorage",
    "MediaNotFoundError",
    "MediaStorage",
    "encode_jpeg",
    "normalize_key",
    "snapshot_key",
]
