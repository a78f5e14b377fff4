"""What crosses between cities and comes down from the parent, on the city side: incident handoffs
(request, accept or refuse; each step on both incidents' timelines) and media requests (the city's own
users approve or refuse). Every step is audited in the city's own log; the national site audits the
requests it sends and the answers it receives (safecity.federation.national).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from safecity.federation.config import FederationConfig
from safecity.federation.errors import Conflict, FederationError, NotFound
from safecity.federation.link import FedLink, Received
from safecity.federation.messages import Envelope, Handoff, MediaDecision, MediaRequest, up_subject
from safecity.federation.models import FedHandoffRow, FedMediaRequestRow
from safecity.federation.store import handoff_row
from safecity.governance import audit
from safecity.operations.domain import Actor, TimelineKind
from safecity.operations.incident_schemas import IncidentCreate
from safecity.operations.incidents import add_timeline, create_incident, get_incident

log = logging.getLogger(__name__)


def _who(actor: Actor) -> str:
    return actor.name


class CityInbox:
    """Applies what flows down to this city; and the city-side actions that answer or start a flow."""

    def __init__(self, cfg: FederationConfig, engine: Engine, link: FedLink) -> None:
        assert cfg.site is not None
        self.cfg, self.site, self.engine, self.link = cfg, cfg.site.id, engine, link

    # -- received ---------------------------------------------------------------------------------

    def handle(self, batch: Sequence[Received]) -> None:
        for r in batch:
            with Session(self.engine) as db, db.begin():
                body = r.envelope.body
                if isinstance(body, Handoff):
                    self._on_handoff(db, body)
                elif isinstance(body, MediaRequest) and body.site == self.site:
                    self._on_media_request(db, body)

    def _on_handoff(self, db: Session, h: Handoff) -> None:
        row = db.get(FedHandoffRow, h.handoff_id)
        if h.state == "requested" and h.to_site == self.site:
            if row is None:
                db.add(FedHandoffRow(**handoff_row(h)))
                audit.append(
                    db.connection(),
                    f"{h.actor}@{h.from_site}",
                    "federation.handoff_received",
                    f"handoff/{h.handoff_id}",
                    {"from": h.from_site, "incident_id": h.incident_id},
                )
        elif (
            h.state != "requested"
            and h.from_site == self.site
            and row is not None
            and row.state == "requested"
        ):
            row.state, row.remote_incident_id = h.state, h.remote_incident_id
            row.answered_by, row.answered_at = f"{h.actor}@{h.to_site}", h.at
            incident = get_incident(db, h.incident_id)
            add_timeline(
                db,
                incident,
                TimelineKind.NOTE,
                Actor.system(f"{h.actor}@{h.to_site}"),
                f"Handoff to {h.to_site} {h.state}"
                + (f" as incident #{h.remote_incident_id}" if h.remote_incident_id else ""),
                {
                    "handoff_id": h.handoff_id,
                    "to_site": h.to_site,
                    "state": h.state,
                    "remote_incident_id": h.remote_incident_id,
                },
            )
            audit.append(
                db.connection(),
                f"{h.actor}@{h.to_site}",
                f"federation.handoff_{h.state}",
                f"incident/{h.incident_id}",
                {"handoff_id": h.handoff_id, "to": h.to_site},
            )

    def _on_media_request(self, db: Session, m: MediaRequest) -> None:
        if db.get(FedMediaRequestRow, m.request_id) is not None:
            return
        db.add(
            FedMediaRequestRow(
                request_id=m.request_id,
                site=m.site,
                incident_id=m.incident_id,
                media=m.media,
                reason=m.reason,
                requested_by=m.requested_by,
                requested_at=m.at,
                status="pending",
            )
        )
        audit.append(
            db.connection(),
            m.requested_by,
            "federation.media_request_received",
            f"incident/{m.incident_id}",
            {"request_id": m.request_id, "media": m.media, "reason": m.reason},
        )

    # -- actions of this city's users ----------------------------------------------------------------

    def _send(self, body: Handoff | MediaDecision) -> None:
        env = Envelope(site=self.site, sent_at=datetime.now(UTC), body=body)
        self.link.publish(up_subject(self.site, body.kind), env, self.cfg.out_stream)

    def request_handoff(self, incident_id: int, to_site: str, reason: str, actor: Actor) -> str:
        if to_site == self.site:
            raise FederationError("an incident is handed to another city, not to this one")
        with Session(self.engine) as db, db.begin():
            incident = get_incident(db, incident_id)
            h = Handoff(
                handoff_id=uuid.uuid4().hex,
                from_site=self.site,
                to_site=to_site,
                state="requested",
                incident_id=incident.id,
                title=incident.title,
                type=incident.type,
                priority=incident.priority,
                reason=reason,
                actor=_who(actor),
                at=datetime.now(UTC),
            )
            db.add(FedHandoffRow(**handoff_row(h)))
            add_timeline(
                db,
                incident,
                TimelineKind.NOTE,
                actor,
                f"Handoff to {to_site} requested: {reason}",
                {"handoff_id": h.handoff_id, "to_site": to_site, "state": "requested"},
            )
            audit.append(
                db.connection(),
                _who(actor),
                "federation.handoff_request",
                f"incident/{incident.id}",
                {"handoff_id": h.handoff_id, "to": to_site, "reason": reason},
            )
            self._send(h)  # inside the transaction: a failed publish leaves no half-recorded request
        return h.handoff_id

    def answer_handoff(self, handoff_id: str, accept: bool, actor: Actor, note: str = "") -> int | None:
        """Accept (open a local incident, linked on both timelines) or refuse a handoff to this city."""
        with Session(self.engine) as db, db.begin():
            row = db.get(FedHandoffRow, handoff_id)
            if row is None or row.to_site != self.site:
                raise NotFound(f"no handoff {handoff_id} to this city")
            if row.state != "requested":
                raise Conflict(f"handoff {handoff_id} is already {row.state}")
            local_id = None
            if accept:
                data = IncidentCreate(
                    title=row.title[:200],
                    type=row.type,
                    priority=row.priority,
                    description=f"Handed over by {row.from_site} (incident #{row.incident_id}): {row.reason}",
                )
                incident = create_incident(db, data, actor, source="federation")
                add_timeline(
                    db,
                    incident,
                    TimelineKind.NOTE,
                    actor,
                    f"Accepted handoff from {row.from_site} incident #{row.incident_id}",
                    {
                        "handoff_id": handoff_id,
                        "from_site": row.from_site,
                        "remote_incident_id": row.incident_id,
                    },
                )
                local_id = incident.id
            state = "accepted" if accept else "refused"
            row.state, row.remote_incident_id, row.answered_by, row.answered_at = (
                state,
                local_id,
                _who(actor),
                datetime.now(UTC),
            )
            audit.append(
                db.connection(),
                _who(actor),
                f"federation.handoff_{state}",
                f"handoff/{handoff_id}",
                {"from": row.from_site, "incident_id": local_id, "note": note},
            )
            self._send(
                Handoff(
                    handoff_id=handoff_id,
                    from_site=row.from_site,
                    to_site=self.site,
                    state=state,
                    incident_id=row.incident_id,
                    remote_incident_id=local_id,
                    title=row.title,
                    type=row.type,
                    priority=row.priority,
                    reason=note or row.reason,
                    actor=_who(actor),
                    at=row.answered_at,
                )
            )
        return local_id

    def decide_media(self, request_id: str, approve: bool, actor: Actor, note: str = "") -> MediaDecision:
        """This city's user approves (the parent gets a link to the redacted media, served by this
        city's own API behind its own login) or refuses a media request; audited here and there."""
        with Session(self.engine) as db, db.begin():
            row = db.get(FedMediaRequestRow, request_id)
            if row is None:
                raise NotFound(f"no media request {request_id}")
            if row.status != "pending":
                raise Conflict(f"media request {request_id} is already {row.status}")
            decision = "approved" if approve else "refused"
            url = None
            if approve:
                base = (self.cfg.site.ui_url if self.cfg.site else None) or ""
                url = f"{base}/api/incidents/{row.incident_id}?media={row.media}&redacted=1"
            now = datetime.now(UTC)
            row.status, row.decided_by, row.decided_at, row.note, row.redacted_url = (
                decision,
                _who(actor),
                now,
                note,
                url,
            )
            audit.append(
                db.connection(),
                _who(actor),
                f"federation.media_{decision}",
                f"incident/{row.incident_id}",
                {"request_id": request_id, "requested_by": row.requested_by, "note": note},
            )
            d = MediaDecision(
                request_id=request_id,
                decision=decision,
                decided_by=_who(actor),
                note=note,
                redacted_url=url,
                at=now,
            )
            self._send(d)
        return d

    def pending_media(self) -> list[FedMediaRequestRow]:
        with Session(self.engine) as db:
            return list(db.scalars(select(FedMediaRequestRow).where(FedMediaRequestRow.status == "pending")))
