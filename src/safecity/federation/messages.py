"""What may cross a site boundary: one typed message per kind, nothing else.

The allow-list is the set of models below. A city publishes only `Envelope`s whose body is one of the
`UP` kinds; the subject is derived from the kind (`safecity.fed.<site>.<kind>`), the national stream
sources only `safecity.fed.<site>.>` from each city, and every model forbids extra fields. So a face
template, a watchlist name, a match crop key, a snapshot key or a track id cannot be attached to a
summary by accident: there is no field for it, and an unknown field is a validation error on both
sides (publisher and national consumer). Messages that flow down (`DOWN` kinds) go to
`safecity.fedctl.<site>.<kind>` on the national site's downlink stream.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SITE_ID = r"^[a-z0-9_]{1,32}$"  # one subject token and part of a JetStream domain name
UP_PREFIX = "safecity.fed"
DOWN_PREFIX = "safecity.fedctl"
_SITE_RE = re.compile(SITE_ID)

Short = Annotated[str, Field(max_length=128)]
Text = Annotated[str, Field(max_length=500)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteInfo(_Msg):
    """A site announces itself: where it is on the map and where its own UI lives (for drill-down)."""

    kind: Literal["site"] = "site"
    site: Short
    name: Short
    level: Literal["city", "region", "country"]
    parent: Short | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    ui_url: Annotated[str, Field(max_length=300)] | None = None


class CameraHealth(_Msg):
    """One camera's state; no frames, no snapshot key."""

    kind: Literal["camera_health"] = "camera_health"
    camera_id: Short
    status: Short
    fps: float | None = None
    lat: float | None = None
    lon: float | None = None


class EventSummary(_Msg):
    """An analytics event without track id, snapshot, occupancy grid or any position of a person."""

    kind: Literal["event"] = "event"
    event_id: Annotated[str, Field(max_length=64)]
    event_kind: Short
    camera_id: Short
    at: datetime
    label: Short | None = None
    zone_id: Short | None = None
    line_id: Short | None = None
    direction: Short | None = None
    count: int | None = None


class AlertSummary(_Msg):
    """An alert with its severity and location (camera, zone, coordinates); no snapshot key."""

    kind: Literal["alert"] = "alert"
    alert_id: int
    alert_kind: Short
    severity: Short
    status: Short
    title: Annotated[str, Field(max_length=256)]
    camera_id: Short | None = None
    zone_id: Short | None = None
    lat: float | None = None
    lon: float | None = None
    count: int | None = None
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    closed_at: datetime | None = None


class IncidentSummary(_Msg):
    """An incident's current state; published again on every status change. No description or notes."""

    kind: Literal["incident"] = "incident"
    incident_id: int
    title: Annotated[str, Field(max_length=200)]
    type: Short
    priority: Short
    status: Short
    camera_id: Short | None = None
    lat: float | None = None
    lon: float | None = None
    origin_at: datetime
    created_at: datetime
    dispatched_at: datetime | None = None
    on_scene_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


class Aggregate(_Msg):
    """An hourly analytics figure: footfall per zone, line counts, crowding, response times."""

    kind: Literal["aggregate"] = "aggregate"
    hour: datetime
    metric: Literal["footfall", "line_count", "crowding_peak", "response_time_s"]
    key: Short  # camera/zone, camera/line, or incident type
    value: float


class Handoff(_Msg):
    """An incident handed from one city to another: the request, and later the answer."""

    kind: Literal["handoff"] = "handoff"
    handoff_id: Annotated[str, Field(max_length=64)]
    from_site: Short
    to_site: Short
    state: Literal["requested", "accepted", "refused"]
    incident_id: int  # the incident at `from_site`
    remote_incident_id: int | None = None  # the incident opened at `to_site` on acceptance
    title: Annotated[str, Field(max_length=200)]
    type: Short
    priority: Short
    reason: Text
    actor: Short
    at: datetime


class MediaRequest(_Msg):
    """A national operator asks a city for an incident's redacted snapshot or clip (flows down)."""

    kind: Literal["media_request"] = "media_request"
    request_id: Annotated[str, Field(max_length=64)]
    site: Short  # the city asked
    incident_id: int
    media: Literal["snapshot", "clip"]
    reason: Text
    requested_by: Short
    at: datetime


class MediaDecision(_Msg):
    """The city's answer: approved (with a redacted media key served by the city itself) or refused."""

    kind: Literal["media_decision"] = "media_decision"
    request_id: Annotated[str, Field(max_length=64)]
    decision: Literal["approved", "refused"]
    decided_by: Short
    note: Text = ""
    redacted_url: Annotated[str, Field(max_length=300)] | None = None
    at: datetime


Body = Annotated[
    SiteInfo
    | CameraHealth
    | EventSummary
    | AlertSummary
    | IncidentSummary
    | Aggregate
    | Handoff
    | MediaRequest
    | MediaDecision,
    Field(discriminator="kind"),
]
UP = frozenset(
    {"site", "camera_health", "event", "alert", "incident", "aggregate", "handoff", "media_decision"}
)
DOWN = frozenset({"handoff", "media_request"})


class Envelope(_Msg):
    """What travels: the sending site, when it was published (for lag), and one allow-listed body."""

    v: Literal[1] = 1
    site: Annotated[str, Field(pattern=SITE_ID)]
    sent_at: datetime
    body: Body


ENVELOPE = TypeAdapter(Envelope)


def check_site(site: str) -> str:
    if not _SITE_RE.match(site):
        raise ValueError(f"a site id is 1-32 of [a-z0-9_], got {site!r}")
    return site


def up_subject(site: str, kind: str) -> str:
    if kind not in UP:
        raise ValueError(f"{kind!r} may not leave a site (allowed: {', '.join(sorted(UP))})")
    return f"{UP_PREFIX}.{check_site(site)}.{kind}"


def down_subject(site: str, kind: str) -> str:
    if kind not in DOWN:
        raise ValueError(f"{kind!r} may not flow down (allowed: {', '.join(sorted(DOWN))})")
    return f"{DOWN_PREFIX}.{check_site(site)}.{kind}"


def msg_id(env: Envelope) -> str:
    """The JetStream de-duplication id: the same fact published twice is stored once."""
    b = env.body
    match b:
        case EventSummary():
            return f"{env.site}.ev.{b.event_id}"
        case AlertSummary():
            return f"{env.site}.al.{b.alert_id}.{b.status}.{b.occurrences}"
        case IncidentSummary():
            return f"{env.site}.in.{b.incident_id}.{b.status}"
        case Aggregate():
            return f"{env.site}.ag.{b.metric}.{b.key}.{b.hour:%Y%m%d%H}.{b.value:g}"
        case Handoff():
            return f"{env.site}.ho.{b.handoff_id}.{b.state}"
        case MediaRequest():
            return f"{env.site}.mr.{b.request_id}"
        case MediaDecision():
            return f"{env.site}.md.{b.request_id}"
        case CameraHealth():
            return f"{env.site}.ch.{b.camera_id}.{b.status}.{env.sent_at.timestamp():.0f}"
        case SiteInfo():
            return f"{env.site}.si.{env.sent_at.timestamp():.0f}"


def encode(env: Envelope) -> bytes:
    return env.model_dump_json().encode()


def decode(data: bytes) -> Envelope:
    """Parse and validate; ValueError (pydantic's ValidationError) on anything outside the allow-list."""
    return ENVELOPE.validate_json(data)
