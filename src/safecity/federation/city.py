"""The city side of federation: what a city publishes up, and what it takes from its parent.

`CityAgent` connects to the city's *federation account* on its own NATS server (the only account the
leaf node to the parent is bound to; the city's event stream, watchlists and media live in another
account the parent cannot reach) and:
- forwards every bus event as an `EventSummary` (durable consumer `federation`; no track id, snapshot
  or occupancy grid: the type has no field for them);
- every `sync_every_s`, publishes changed alerts, incidents, camera health and hourly aggregates,
  read from the city's own database (cursors in `fed_cursors`, so a restart resumes);
- consumes `SAFECITY_FED_IN` (handoffs and media requests for this city, sourced from the parent).
Publishing goes to the city's own stream: with the link down the agent goes on exactly as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from safecity.bus.base import Bus, Unsubscribe
from safecity.federation.config import FederationConfig
from safecity.federation.handoff import CityInbox
from safecity.federation.link import FedLink
from safecity.federation.messages import CameraHealth, Envelope, EventSummary, SiteInfo, up_subject
from safecity.federation.models import FedCursorRow
from safecity.federation.summaries import aggregates, alert_summaries, incident_summaries
from safecity.types import Event

log = logging.getLogger(__name__)
OVERLAP = timedelta(seconds=5)  # re-read a little before the cursor: rows committed late are not missed
HealthSource = Callable[[], list[CameraHealth]]


def event_summary(event: Event) -> EventSummary:
    return EventSummary(
        event_id=event.id,
        event_kind=event.kind.value,
        camera_id=event.camera_id,
        at=event.start,
        label=event.label,
        zone_id=event.zone_id,
        line_id=event.line_id,
        direction=event.direction,
        count=event.count,
    )


class _EventForwarder:
    """A bus `BatchHandler`: one batch of events -> one concurrent publish to the federation stream."""

    def __init__(self, agent: CityAgent) -> None:
        self.agent = agent

    def __call__(self, event: Event) -> None:
        self.handle_batch([event])

    def handle_batch(self, events: Sequence[Event]) -> None:
        self.agent.publish_many([event_summary(e) for e in events])


class CityAgent:
    def __init__(
        self, cfg: FederationConfig, engine: Engine, bus: Bus | None, health: HealthSource | None = None
    ) -> None:
        if cfg.mode != "city" or cfg.site is None:
            raise ValueError("federation.mode must be city (with federation.site) for a city agent")
        self.cfg, self.site, self.engine, self.health = cfg, cfg.site, engine, health
        self.link = FedLink(cfg, cfg.site.id)
        self._stop = threading.Event()
        self._last_health: dict[str, str] = {}
        self._aggregates_due = 0.0  # monotonic time of the next aggregates computation
        self.published = 0
        self._unsubscribe: Unsubscribe | None = None
        try:
            self.link.ensure_city_streams(cfg.site.id)
            self.inbox = CityInbox(cfg, engine, self.link)
            self.link.consume(cfg.in_stream, "city_inbox", self.inbox.handle, 100)
            self.publish_many(
                [
                    SiteInfo(
                        site=self.site.id,
                        name=self.site.name,
                        level=self.site.level,
                        parent=self.site.parent,
                        lat=self.site.lat,
                        lon=self.site.lon,
                        ui_url=self.site.ui_url,
                    )
                ]
            )
            if bus is not None:
                self._unsubscribe = bus.subscribe(_EventForwarder(self), durable="federation")
        except BaseException:
            self.link.close()
            raise
        self._thread = threading.Thread(target=self._run, name="fed-city-sync", daemon=True)
        self._thread.start()

    def publish_many(self, bodies: Sequence[object]) -> int:
        """Publish allow-listed bodies (typed: anything else fails validation) to this city's stream."""
        now = datetime.now(UTC)
        items = []
        for body in bodies:
            env = Envelope(site=self.site.id, sent_at=now, body=body)
            items.append((up_subject(self.site.id, env.body.kind), env))
        if not items:
            return 0
        new = self.link.publish_many(items, self.cfg.out_stream)
        self.published += new
        return new

    def _run(self) -> None:
        while not self._stop.wait(self.cfg.sync_every_s):
            try:
                self.sync()
            except Exception:
                log.exception("federation sync failed; retrying in %.0fs", self.cfg.sync_every_s)

    def sync(self) -> int:
        """Publish what changed since the last sync; the cursor moves only after the publish succeeded."""
        started = datetime.now(UTC)
        with Session(self.engine) as db:
            since = self._cursor(db)
            bodies: list[object] = [*alert_summaries(db, since), *incident_summaries(db, since)]
            if time.monotonic() >= self._aggregates_due:  # a scan of recent events: not on every sync
                self._aggregates_due = time.monotonic() + self.cfg.aggregates_every_s
                bodies += aggregates(db, started - timedelta(hours=self.cfg.analytics_hours))
        bodies += self._health_changes()
        sent = self.publish_many(bodies)
        with Session(self.engine) as db, db.begin():
            db.merge(FedCursorRow(name="records", at=started - OVERLAP))
        return sent

    def _cursor(self, db: Session) -> datetime:
        at = db.scalar(select(FedCursorRow.at).where(FedCursorRow.name == "records"))
        return at or datetime(1970, 1, 1, tzinfo=UTC)

    def _health_changes(self) -> list[CameraHealth]:
        if self.health is None:
            return []
        changed = [h for h in self.health() if self._last_health.get(h.camera_id) != h.status]
        self._last_health.update({h.camera_id: h.status for h in changed})
        return changed

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.link.close()
