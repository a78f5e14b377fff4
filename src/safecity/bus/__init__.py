"""Event bus: in-process (`MemoryBus`) now, NATS JetStream later, behind the `Bus` protocol."""

from safecity.bus.base import Bus, Handler, Unsubscribe
from safecity.bus.codec import event_from_dict, event_from_json, event_to_dict, event_to_json
from safecity.bus.memory import MemoryBus

__all__ = [
    "Bus",
    "Handler",
    "MemoryBus",
    "Unsubscribe",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
]
