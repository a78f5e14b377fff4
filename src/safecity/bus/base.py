"""The `Bus` protocol: how events travel from camera workers to consumers (store, alerts, ...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from safecity.types import Event

Handler = Callable[[Event], None]
Unsubscribe = Callable[[], None]


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that can also take several events at once (one database transaction for a batch).

    A bus that receives events in batches (NATS) calls `handle_batch` and, if it raises, falls back
    to calling the handler once per event, so one bad event does not hold the others back."""

    def __call__(self, event: Event) -> None: ...

    def handle_batch(self, events: Sequence[Event]) -> None: ...


@runtime_checkable
class Bus(Protocol):
    """Publish/subscribe of `Event`s. `publish` never blocks the producer for long."""

    def publish(self, event: Event) -> None: ...

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        """Call `handler(event)` for events published from now on.

        `durable` names a consumer that survives restarts (NATS: a durable consumer of that name, shared
        by every process that uses it, replaying what it missed); None is a live, per-subscriber view.
        The in-process bus has nothing to survive and ignores the name.
        """
        ...

    def close(self) -> None: ...
