"""Alerts (alerts:read, alerts:act; filtered by the caller's cameras) and alert rules (alert_rules:manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from safecity.accounts.users import get_user
from safecity.api.deps import DbSession, Node, Principal, ensure_camera_visible, require
from safecity.api.replies import json_reply
from safecity.api.routers._operations import (
    IdPath,
    Ops,
    Since,
    Until,
    actor,
    commit,
    publish,
    translated,
    utc,
)
from safecity.operations import alerts as repo
from safecity.operations.domain import AlertStatus, Severity
from safecity.operations.schemas import (
    AlertAssign,
    AlertClose,
    AlertPage,
    AlertPublic,
    AlertRuleCreate,
    AlertRulePublic,
    AlertRuleUpdate,
)

router = APIRouter(tags=["alerts"])
Reader = Annotated[Principal, Depends(require("alerts:read"))]
Actor_ = Annotated[Principal, Depends(require("alerts:act"))]
RuleManager = Annotated[Principal, Depends(require("alert_rules:manage"))]


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    db: DbSession,
    who: Reader,
    status_: Annotated[AlertStatus | None, Query(alias="status")] = None,
    severity: Severity | None = None,
    camera_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Alerts, most recently seen first, of the cameras the caller may see; `since`/`until`: alerts
    active at some time in that period (seen last at or after `since`, first at or before `until`)."""
    if camera_id is not None:
        ensure_camera_visible(who, camera_id, hide=False)
    f = repo.AlertFilter(status_, severity, camera_id, who.cameras, limit, offset, utc(since), utc(until))
    rows, total = repo.list_alerts(db, f)
    page = AlertPage(
        items=[AlertPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )
    return json_reply(page, db)


@router.get("/alerts/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: IdPath, db: DbSession, who: Reader) -> AlertPublic:
    with translated():
        return AlertPublic.model_validate(repo.get_alert(db, alert_id, who.cameras))


def _step(db: DbSession, node: Node, out: AlertPublic) -> AlertPublic:
    commit(db)
    publish(node, "alert_update", out, out.camera_id)
    return out


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
def acknowledge(alert_id: IdPath, db: DbSession, node: Node, who: Actor_) -> AlertPublic:
    """open -> acknowledged (409 otherwise)."""
    with translated():
        row = repo.acknowledge(db, repo.get_alert(db, alert_id, who.cameras), actor(who))
        return _step(db, node, AlertPublic.model_validate(row))


@router.post("/alerts/{alert_id}/assign", response_model=AlertPublic)
def assign(alert_id: IdPath, body: AlertAssign, db: DbSession, node: Node, who: Actor_) -> AlertPublic:
    """Give the alert to a user (acknowledges an open alert; 409 when closed)."""
    assignee = get_user(db, body.user_id)
    if assignee is None or assignee.disabled:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"user_id: no active user {body.user_id}")
    with translated():
        row = repo.assign(db, repo.get_alert(db, alert_id, who.cameras), body.user_id, actor(who))
        return _step(db, node, AlertPublic.model_validate(row))


@router.post("/alerts/{alert_id}/close", response_model=AlertPublic)
def close(alert_id: IdPath, body: AlertClose, db: DbSession, node: Node, who: Actor_) -> AlertPublic:
    """acknowledged/assigned -> closed, with a note (409 when open or already closed)."""
    with translated():
        row = repo.close(db, repo.get_alert(db, alert_id, who.cameras), body.note, actor(who))
        return _step(db, node, AlertPublic.model_validate(row))


@router.get("/alert-rules", response_model=list[AlertRulePublic])
def list_rules(db: DbSession, who: RuleManager) -> list[AlertRulePublic]:
    return [AlertRulePublic.model_validate(r) for r in repo.list_rules(db)]


@router.post("/alert-rules", response_model=AlertRulePublic, status_code=status.HTTP_201_CREATED)
def create_rule(body: AlertRuleCreate, db: DbSession, ops: Ops, who: RuleManager) -> AlertRulePublic:
    with translated():
        out = AlertRulePublic.model_validate(repo.create_rule(db, body, actor(who)))
    commit(db)
    ops.alerts.invalidate_rules()
    return out


@router.patch("/alert-rules/{rule_id}", response_model=AlertRulePublic)
def update_rule(
    rule_id: IdPath, body: AlertRuleUpdate, db: DbSession, ops: Ops, who: RuleManager
) -> AlertRulePublic:
    """Change a rule (disable it with `{"enabled": false}`); applies to the next events."""
    with translated():
        out = AlertRulePublic.model_validate(repo.update_rule(db, rule_id, body, actor(who)))
    commit(db)
    ops.alerts.invalidate_rules()
    return out
