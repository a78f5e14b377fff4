"""The `Bus` protocol: how events travel from camera workers to consumers (store, alerts, ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from safecity.types import Event

Handler = Callable[[Event], None]
Unsubscribe = Callable[[], None]


@runtime_checkable
class Bus(Protocol):
    """Publish/subscribe of `Event`s. `publish` never blocks the producer for long."""

    def publish(self, event: Event) -> None: ...

    def subscribe(self, handler: Handler) -> Unsubscribe: ...

    def close(self) -> None: ...
