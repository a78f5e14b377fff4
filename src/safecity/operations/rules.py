"""Alert rules: which observations raise an alert, how severe, and what counts as a repeat.

An `Observation` is what an alert is raised from: an analytics `Event`, or a condition the platform
notices itself (a camera that went dark). A `Rule` matches observations by kind and optional label /
camera / zone / line lists; its de-duplication key is the rule id plus the observation's values of the
rule's `dedup_by` fields, so "same rule + camera + zone" is `dedup_by = (camera_id, zone_id)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safecity.operations.config import CAMERA_DARK, AlertRuleSeed
from safecity.operations.domain import Severity
from safecity.types import Event, EventKind


@dataclass(frozen=True, slots=True)
class Observation:
    kind: str
    camera_id: str | None
    at: datetime
    zone_id: str | None = None
    line_id: str | None = None
    label: str | None = None
    direction: str | None = None
    count: int | None = None
    event_id: str | None = None
    snapshot: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> Observation:
        return cls(
            kind=EventKind(event.kind).value,
            camera_id=event.camera_id,
            at=event.end,
            zone_id=event.zone_id,
            line_id=event.line_id,
            label=event.label,
            direction=event.direction,
            count=event.count,
            event_id=event.id,
            snapshot=event.snapshot,
        )

    @classmethod
    def camera_dark(cls, camera_id: str, at: datetime) -> Observation:
        return cls(kind=CAMERA_DARK, camera_id=camera_id, at=at)

    def title(self) -> str:
        what = {
            "crowding": "Crowding",
            "loitering": "Loitering",
            "line_crossing": "Line crossing",
            "zone_enter": "Zone entry",
            "zone_exit": "Zone exit",
            CAMERA_DARK: "Camera dark",
        }.get(self.kind, self.kind)
        where = self.zone_id or self.line_id
        text = f"{what} on {self.camera_id}" + (f" / {where}" if where else "")
        if self.kind == "crowding" and self.count is not None:
            text += f" ({self.count} present)"
        return text


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule as the engine uses it (detached from the database)."""

    id: int
    name: str
    event_kinds: frozenset[str]
    severity: Severity
    cooldown_s: float
    dedup_by: tuple[str, ...]
    labels: frozenset[str] | None = None
    camera_ids: frozenset[str] | None = None
    zone_ids: frozenset[str] | None = None
    line_ids: frozenset[str] | None = None
    enabled: bool = True

    def matches(self, obs: Observation) -> bool:
        if not self.enabled or obs.kind not in self.event_kinds:
            return False
        checks = (
            (self.labels, obs.label),
            (self.camera_ids, obs.camera_id),
            (self.zone_ids, obs.zone_id),
            (self.line_ids, obs.line_id),
        )
        return all(allowed is None or value in allowed for allowed, value in checks)

    def dedup_key(self, obs: Observation) -> str:
        parts = [f"rule={self.id}"] + [f"{name}={getattr(obs, name) or ''}" for name in self.dedup_by]
        return "|".join(parts)


DEFAULT_RULES: tuple[AlertRuleSeed, ...] = (
    AlertRuleSeed(name="Crowding", event_kinds=("crowding",), severity=Severity.HIGH, cooldown_s=300),
    AlertRuleSeed(name="Loitering", event_kinds=("loitering",), severity=Severity.MEDIUM, cooldown_s=300),
    AlertRuleSeed(
        name="Camera dark", event_kinds=(CAMERA_DARK,), severity=Severity.HIGH, cooldown_s=600,
        dedup_by=("camera_id",),
    ),
    # line crossings are counted, not alerted: a disabled rule shows how to turn them on
    AlertRuleSeed(
        name="Line crossing", event_kinds=("line_crossing",), severity=Severity.INFO, cooldown_s=60,
        dedup_by=("camera_id", "line_id", "direction"), enabled=False,
    ),
)  # fmt: skip
