"""Oversight of face matching: the transparency report (G6) and the audit log with its chain state (G12),
for auditors. Same `/biometrics` prefix as `routers/biometrics.py`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.biometrics.transparency import build_report, render_html

router = APIRouter(prefix="/biometrics", tags=["biometrics"])
Transparency = Annotated[Principal, Depends(require("transparency:read"))]
AuditReader = Annotated[Principal, Depends(require("audit:read"))]


@router.get("/audit")
def audit_log(
    db: DbSession,
    who: AuditReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
    action: str | None = None,
) -> dict[str, object]:
    """The audit log for auditors, newest first, with the state of its hash chain."""
    from safecity.governance import audit

    conn = db.connection()
    result = audit.verify(conn)
    rows = audit.entries(conn, limit=limit, offset=offset, action=action or None)
    return {
        "chain": {
            "ok": result.ok,
            "checked": result.checked,
            "problem": result.problem,
            "seq": result.seq,
            "findings": [str(f) for f in result.findings],  # each tampering found, named
        },
        "entries": [
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "details": json.loads(r.details),
            }
            for r in rows
        ],
    }


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or datetime.now(UTC)
    return since or end - timedelta(days=30), end


@router.get("/transparency")
def transparency(
    db: DbSession, node: Node, who: Transparency, since: datetime | None = None, until: datetime | None = None
) -> dict[str, object]:
    start, end = _period(since, until)
    return build_report(db.connection(), start, end, node.settings.biometrics)


@router.get("/transparency.html", response_class=HTMLResponse)
def transparency_html(
    db: DbSession, node: Node, who: Transparency, since: datetime | None = None, until: datetime | None = None
) -> HTMLResponse:
    start, end = _period(since, until)
    return HTMLResponse(render_html(build_report(db.connection(), start, end, node.settings.biometrics)))
