"""Moved to `safecity.store.ratelimit` (operations uses it too); kept so old imports still work."""

from safecity.store.ratelimit import SlidingWindowLimiter

__all__ = ["SlidingWindowLimiter"]
