"""EU AI Act Art. 12(3) record of each use of face matching, from the audit log.

For remote biometric identification the log must let one reconstruct, per use: (a) the period of each
use (start and end of each watchlist's active period), (b) the reference database the input was checked
against (the watchlist id and `reference_version`, a hash of its entries at that moment, logged with the
activation and with every match), (c) the input that led to a match (camera, track, frame time, and the
crop's media key while it is kept), and (d) the people who verified the result (each review, the
dispatch). `case_document` gathers that for one watchlist into one JSON document.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from safecity.biometrics.models import EntryRow, MatchRow
from safecity.governance import audit

STARTS = ("biometrics.watchlist.activate", "biometrics.watchlist.urgent_start")
ENDS = ("biometrics.watchlist.stop", "biometrics.watchlist.urgent_purge")
VERIFIED = ("biometrics.match.review", "biometrics.match.dispatch")


def reference_version(db: Session, watchlist_id: int, at: datetime) -> str:
    """A hash of the watchlist's entries live at `at` (id, when added, the template's digest)."""
    rows = db.scalars(
        select(EntryRow)
        .where(EntryRow.watchlist_id == watchlist_id, EntryRow.added_at <= at)
        .where(or_(EntryRow.removed_at.is_(None), EntryRow.removed_at > at))
        .order_by(EntryRow.id)
    )
    body = [
        [e.id, e.added_at.isoformat(), hashlib.sha256(e.template).hexdigest() if e.template else None]
        for e in rows
    ]
    return hashlib.sha256(json.dumps([watchlist_id, body]).encode()).hexdigest()


def _entry(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "details": json.loads(row.details),
    }


def _periods(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    periods: list[dict[str, Any]] = []
    for e in events:
        if e["action"] in STARTS:
            how = e["action"].rsplit(".", 1)[1]
            version = e["details"].get("reference_version")
            periods.append(
                {
                    "start": e["at"],
                    "started_by": e["actor"],
                    "how": how,
                    "reference_version": version,
                    "end": None,
                }
            )
        elif e["action"] in ENDS and periods and periods[-1]["end"] is None:
            periods[-1] |= {
                "end": e["at"],
                "ended_by": e["actor"],
                "why": e["details"].get("reason", e["action"]),
            }
    return periods


def _match(m: dict[str, Any], log: list[dict[str, Any]], crops: dict[int, str | None]) -> dict[str, Any]:
    mid = int(m["subject"].split(":")[1])
    d = m["details"]
    mine = [e for e in log if e["subject"] == m["subject"]]
    return {
        "match": mid,
        "at": m["at"],
        "reference": {"watchlist": d.get("watchlist"), "version": d.get("reference_version")},
        "input": {
            "camera": d.get("camera"),
            "track": d.get("track"),
            "frame_time": d.get("seen_at"),
            "crop_key": crops.get(mid),  # None once deleted (rejected, purged, retention)
            "crop_key_at_match": d.get("crop_key"),
        },
        "score": d.get("score"),
        "threshold": d.get("threshold"),
        "verified_by": [
            {"by": e["actor"], "at": e["at"], "action": e["action"].rsplit(".", 1)[1], **e["details"]}
            for e in mine
            if e["action"] in VERIFIED
        ],
        "audit_seqs": [m["seq"]] + [e["seq"] for e in mine],
    }


def case_document(conn: Connection, watchlist_id: int, verified: dict[str, Any]) -> dict[str, Any]:
    """The Art. 12(3) record of one watchlist; `verified`: the chain's state, stated in the document."""
    log_ = audit.LOG
    prefix = f"watchlist:{watchlist_id}"
    rows = conn.execute(
        select(log_)
        .where(
            or_(
                log_.c.subject == prefix,
                log_.c.subject.startswith(prefix + "/"),
                log_.c.action.startswith("biometrics.match"),
            )
        )
        .order_by(log_.c.seq)
    )
    log = [_entry(r) for r in rows]
    own = [e for e in log if e["subject"] == prefix or e["subject"].startswith(prefix + "/")]
    if not own:
        raise LookupError(f"no audit entry for watchlist {watchlist_id}")
    matches = [
        e for e in log if e["action"] == "biometrics.match" and e["details"].get("watchlist") == watchlist_id
    ]
    ids = [int(m["subject"].split(":")[1]) for m in matches]
    crops = dict(
        [
            (r[0], r[1])
            for r in conn.execute(select(MatchRow.id, MatchRow.crop_key).where(MatchRow.id.in_(ids)))
        ]
    )
    return {
        "document": "EU AI Act Art. 12(3) record of a use of remote biometric identification",
        "watchlist": watchlist_id,
        "audit_chain": verified,
        "active_periods": _periods(own),
        "reference_database": {
            "watchlist": watchlist_id,
            "versions": sorted({v for e in own + matches if (v := e["details"].get("reference_version"))}),
        },
        "matches": [_match(m, log, crops) for m in matches],
        "history": own,
    }
