"""The national (or regional) site: a safecity deployment with no cameras that sources its cities'
federation streams into its own database, relays handoffs between cities and asks cities for media.

One durable pull consumer (`national_store`) takes batches from the sourced stream; each batch is one
transaction: the ledger (`fed_messages`, keyed by the JetStream message id), the summary upserts,
the media decisions (audited here too) and the relays to the downlink stream. The message is acked
after the commit, so a crash redelivers it and the ledger makes the second copy a no-op.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from safecity.federation.config import FederationConfig
from safecity.federation.errors import FederationError, NotFound
from safecity.federation.link import FedLink, Received
from safecity.federation.messages import Envelope, Handoff, MediaDecision, MediaRequest, down_subject
from safecity.federation.store import media_table, store_batch
from safecity.governance import audit

log = logging.getLogger(__name__)


@dataclass
class NationalSite:
    cfg: FederationConfig
    engine: Engine
    link: FedLink = field(init=False)
    ingested: int = 0  # new messages applied (duplicates excluded)

    def __post_init__(self) -> None:
        if self.cfg.mode != "national" or self.cfg.site is None:
            raise ValueError("federation.mode must be national (with federation.site) for a national site")
        self.link = FedLink(self.cfg, self.cfg.site.id)
        try:
            self.link.ensure_national_streams()
            self.link.consume(self.cfg.national_stream, "national_store", self._handle, self.cfg.fetch_batch)
        except BaseException:
            self.link.close()
            raise

    @property
    def site(self) -> str:
        assert self.cfg.site is not None
        return self.cfg.site.id

    def _handle(self, batch: Sequence[Received]) -> None:
        if not batch:
            return
        with self.engine.begin() as conn:
            fresh = store_batch(conn, batch)
            for r in fresh:
                body = r.envelope.body
                if isinstance(body, MediaDecision):
                    self._apply_decision(conn, r.envelope.site, body)
                elif isinstance(body, Handoff):
                    self._relay(r.envelope, body)
        self.ingested += len(fresh)

    def _relay(self, env: Envelope, h: Handoff) -> None:
        """A request goes to the receiving city, an answer back to the requesting one."""
        target = h.to_site if h.state == "requested" else h.from_site
        self.link.publish(down_subject(target, "handoff"), env, self.cfg.down_stream)

    def _apply_decision(self, conn: Connection, city: str, d: MediaDecision) -> None:
        t = media_table()
        row = conn.execute(select(t).where(t.c.request_id == d.request_id)).first()
        if row is None or row.site != city:  # a city can only answer what was asked of it
            log.warning("media decision %s from %s matches no request to that city", d.request_id, city)
            return
        conn.execute(
            t.update()
            .where(t.c.request_id == d.request_id)
            .values(
                status=d.decision,
                decided_by=f"{d.decided_by}@{city}",
                decided_at=d.at,
                note=d.note,
                redacted_url=d.redacted_url,
            )
        )
        audit.append(
            conn,
            f"{d.decided_by}@{city}",
            f"federation.media_{d.decision}",
            f"{city}/incident/{row.incident_id}",
            {"request_id": d.request_id, "note": d.note},
        )

    def request_media(self, city: str, incident_id: int, media: str, reason: str, actor: str) -> str:
        """Ask `city` for an incident's redacted snapshot or clip; audited here, answered by the city."""
        if city not in {s.site for s in self.cfg.sources}:
            raise NotFound(f"no city {city!r} under this site")
        if not reason.strip():
            raise FederationError("a media request needs a reason")
        now = datetime.now(UTC)
        req = MediaRequest(
            request_id=uuid.uuid4().hex,
            site=city,
            incident_id=incident_id,
            media=media,
            reason=reason,
            requested_by=actor,
            at=now,
        )
        with self.engine.begin() as conn:
            conn.execute(
                media_table()
                .insert()
                .values(
                    request_id=req.request_id,
                    site=city,
                    incident_id=incident_id,
                    media=media,
                    reason=reason,
                    requested_by=actor,
                    requested_at=now,
                    status="pending",
                )
            )
            audit.append(
                conn,
                actor,
                "federation.media_request",
                f"{city}/incident/{incident_id}",
                {"request_id": req.request_id, "media": media, "reason": reason},
            )
            env = Envelope(site=self.site, sent_at=now, body=req)
            self.link.publish(down_subject(city, "media_request"), env, self.cfg.down_stream)
        return req.request_id

    def close(self) -> None:
        self.link.close()
