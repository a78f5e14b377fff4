"""Shared vocabulary of the biometrics services: errors, the audit call, templates as bytes.

Services take an explicit ORM `Session` (the caller commits) and write every action to the hash-chained
audit log (`safecity.governance.audit`) in the same transaction: an action that is not audited did not
happen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from safecity.operations.domain import Actor, ConflictError, InvalidError, NotFoundError, OperationsError

__all__ = [
    "Actor",
    "ConflictError",
    "InvalidError",
    "NotFoundError",
    "OperationsError",
    "PolicyError",
    "log_action",
    "now_utc",
    "template_from_bytes",
    "template_to_bytes",
]

TEMPLATE_BYTES = 128 * 4


class PolicyError(OperationsError):
    """The law-as-code refuses it (no authorization, unbounded search, same person twice...): HTTP 403."""

    http_status = 403


def now_utc() -> datetime:
    return datetime.now(UTC)


def log_action(
    db: Session,
    actor: Actor | str,
    action: str,
    subject: str,
    details: dict[str, Any],
    at: datetime | None = None,
) -> None:
    """Append one audit entry in the session's transaction."""
    from safecity.governance import audit  # the data center's hash-chained log

    name = actor if isinstance(actor, str) else actor.name
    audit.append(db.connection(), name, action, subject, details, at=at or now_utc())


def template_to_bytes(template: np.ndarray) -> bytes:
    """A listed person's template as stored (128 little-endian float32)."""
    t = np.asarray(template, dtype="<f4").reshape(-1)
    if t.size != 128 or not np.all(np.isfinite(t)):
        raise ValueError("a face template is 128 finite floats")
    return t.tobytes()


def template_from_bytes(data: bytes) -> np.ndarray:
    if len(data) != TEMPLATE_BYTES:
        raise ValueError(f"a stored template has {TEMPLATE_BYTES} bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidError(f"{value.isoformat()} has no time zone")
    return value.astimezone(UTC)
