"""Transparency report (G6), generated from the audit log: authorizations, deployments, faces processed
(a count only), matches, confirmed and false matches, searches, unblurred views, deletions.

`build_report` reads the hash-chained audit log for the period (and says whether the chain verifies), so
the report can only show what was audited. Output: a JSON-able dict, and HTML (`render_html`) with no
script and every value escaped.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from safecity.biometrics.config import BiometricsConfig
from safecity.governance import audit

REPORT_VERSION = 2
# Every count in the report is the number of audit entries of these actions in the period (the report
# lists this table as its `sources`, so a reader can recount from an export of the log).
COUNTED: dict[str, tuple[str, ...]] = {
    "matches": ("biometrics.match",),
    "matches_acted_on": ("biometrics.match.dispatch",),
    "urgent_starts": ("biometrics.watchlist.urgent_start",),
    "authorizations_revoked": ("biometrics.authorization.revoke",),
    "searches": ("biometrics.search",),
    "searches_refused": ("biometrics.search.refused",),
    # any unblurred face a person saw: snapshots and clips, recordings, match crops, unmasked live view
    "unblurred_views": (
        "media.view_unredacted",
        "media.unblurred_view",
        "recording.view",
        "biometrics.match.view",
        "live.view_unredacted",
        "report.photo.view_unredacted",
    ),
    "exports": ("clip.export",),
    "exports_refused": ("clip.export.refused",),
    "threshold_changes": ("biometrics.threshold.request",),
    "threshold_second_approvals": ("biometrics.threshold.approve",),
    "access_refused": ("access.refused",),
    "evidence_locks": ("evidence.lock",),
    "evidence_releases": ("evidence.release",),
    "retention_runs": ("retention.purge",),
}
DELETIONS: dict[str, tuple[str, ...]] = {
    "entries_removed": ("biometrics.entry.remove",),
    "entries_expired": ("biometrics.entry.expire",),
    "urgent_watchlists_purged": ("biometrics.watchlist.urgent_purge",),
}
# privileged changes to accounts and configuration, counted by family (audit_changes writes them)
CHANGE_FAMILIES = ("user.", "token.", "camera.", "alert_rule.")


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


def _entries(conn: Connection, since: datetime, until: datetime) -> list[Entry]:
    """The audit entries of the period that concern face matching, unblurred media and exports."""
    log = audit.LOG
    stmt = (
        select(log.c.at, log.c.actor, log.c.action, log.c.subject, log.c.details)
        .where(log.c.at >= since, log.c.at < until)
        .order_by(log.c.seq)
    )
    return [Entry(r.at, r.actor, r.action, r.subject, json.loads(r.details)) for r in conn.execute(stmt)]


def _verify(conn: Connection) -> dict[str, Any]:
    result = audit.verify(conn)
    return {"ok": bool(result.ok), "entries": int(result.checked), "problem": result.problem}


def summarize(entries: Iterable[Entry]) -> dict[str, Any]:
    """The report's figures from audit entries (pure: tested without a database)."""
    actions: Counter[str] = Counter()
    faces = discarded = 0
    authorizations: list[dict[str, Any]] = []
    deployments: list[dict[str, Any]] = []
    reviews: Counter[str] = Counter()
    for e in entries:
        actions[e.action] += 1
        d = e.details
        if e.action == "biometrics.faces_processed":
            faces += int(d.get("faces", 0))
            discarded += int(d.get("discarded", 0))
        elif e.action == "biometrics.authorization.create":
            authorizations.append(
                {
                    "subject": e.subject,
                    "scope": d.get("scope", "faces"),  # vehicle hotlists' authorizations are listed too
                    "issuer": d.get("issuer"),
                    "reference": d.get("reference"),
                    "purpose": d.get("purpose"),
                    "cameras": len(d.get("cameras", [])),
                    "starts_at": d.get("starts_at"),
                    "ends_at": d.get("ends_at"),
                }
            )
        elif e.action in ("biometrics.watchlist.activate", "biometrics.watchlist.urgent_start"):
            deployments.append(
                {
                    "subject": e.subject,
                    "at": e.at.isoformat(),
                    "cameras": d.get("cameras", []),
                    "urgent": e.action.endswith("urgent_start"),
                    "authorization": d.get("reference"),
                }
            )
        elif e.action == "biometrics.match.review":
            reviews[str(d.get("status"))] += 1

    def count(names: tuple[str, ...]) -> int:
        return sum(actions[n] for n in names)

    changes = {f.rstrip("."): sum(n for a, n in actions.items() if a.startswith(f)) for f in CHANGE_FAMILIES}
    return {
        "authorizations": authorizations,
        "authorizations_by_purpose": dict(Counter(str(a["purpose"]) for a in authorizations)),
        "deployments": deployments,
        "faces_processed": faces,
        "matches_confirmed": reviews["confirmed"],
        "matches_false": reviews["rejected"],
        **{figure: count(names) for figure, names in COUNTED.items()},
        "privileged_changes": changes,
        "deletions": {
            "templates_of_non_matches_discarded": discarded,
            **{figure: count(names) for figure, names in DELETIONS.items()},
        },
        "entries_by_action": dict(sorted(actions.items())),
        "sources": {**COUNTED, **DELETIONS, "privileged_changes": CHANGE_FAMILIES},
    }


def build_report(
    conn: Connection, since: datetime, until: datetime, config: BiometricsConfig
) -> dict[str, Any]:
    return {
        "version": REPORT_VERSION,
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "generated_at": datetime.now(since.tzinfo).isoformat(),
        "audit_chain": _verify(conn),
        "policy": {
            "validated_min_score": config.validated_min_score,
            "urgent_max_hours": config.urgent_max_hours,
            "faces_blurred_in_snapshots": config.redaction.enabled,
            "unblurred_originals_kept": config.redaction.keep_originals,
            "classification_by_age_gender_ethnicity_emotion": False,
        },
        **summarize(_entries(conn, since, until)),
    }


def _row(label: str, value: object) -> str:
    return f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value))}</td></tr>"


def _table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "<p>None.</p>"
    keys = list(items[0])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(i.get(k)))}</td>" for k in keys) + "</tr>" for i in items
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    p, chain = report["period"], report["audit_chain"]
    state = "verified" if chain["ok"] else "BROKEN: " + html.escape(str(chain["problem"]))
    figures = (
        [
            ("Faces processed (count only)", report["faces_processed"]),
            ("Matches", report["matches"]),
            ("Confirmed matches (two reviewers)", report["matches_confirmed"]),
            ("False matches", report["matches_false"]),
            ("Matches acted on", report["matches_acted_on"]),
            ("Urgent starts", report["urgent_starts"]),
            ("Retrospective searches", report["searches"]),
            ("Searches refused", report["searches_refused"]),
            ("Unblurred views", report["unblurred_views"]),
            ("Exports", report["exports"]),
            ("Exports refused", report["exports_refused"]),
            ("Threshold changes", report["threshold_changes"]),
            ("Refused attempts on sensitive routes", report["access_refused"]),
            ("Evidence locks placed", report["evidence_locks"]),
            ("Retention runs", report["retention_runs"]),
        ]
        + [(f"Changes to {k.replace('_', ' ')}s", v) for k, v in report["privileged_changes"].items()]
        + [(k.replace("_", " ").capitalize(), v) for k, v in report["deletions"].items()]
    )
    policy = "".join(_row(k.replace("_", " "), v) for k, v in report["policy"].items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Transparency report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3em .6em;text-align:left}</style></head><body>"
        f"<h1>Face matching transparency report</h1><p>Period: {html.escape(p['since'])} to "
        f"{html.escape(p['until'])}. Generated {html.escape(report['generated_at'])} from the audit log "
        f"({chain['entries']} entries; chain {state}).</p>"
        "<h2>Figures</h2><table>" + "".join(_row(k, v) for k, v in figures) + "</table>"
        "<h2>Authorizations</h2>"
        + _table(report["authorizations"])
        + "<h2>Deployments</h2>"
        + _table(report["deployments"])
        + "<h2>Policy</h2><table>"
        + policy
        + "</table></body></html>"
    )
