"""Refused attempts on sensitive routes are audit entries: who, what, why (one place: `Require` calls it,
and so do the few handlers that refuse by a permission of their own, e.g. unblurred media)."""

from __future__ import annotations

import logging

from safecity.app import App
from safecity.governance import audit

log = logging.getLogger(__name__)

# biometrics, unblurred media, administration, evidence and the audit log itself
AUDITED_PERMISSIONS = frozenset(
    {
        "watchlists:manage",
        "biometrics:review",
        "biometrics:search",
        "hotlists:manage",
        "plates:review",
        "thresholds:approve",
        "media:unredacted",
        "users:manage",
        "cameras:manage",
        "alert_rules:manage",
        "units:manage",
        "evidence:manage",
        "audit:read",
        "transparency:read",
    }
)


def audit_refusal(node: App, actor: str, permission: str, subject: str, reason: str) -> None:
    """Write `access.refused` in its own transaction (the request's is rolled back by the refusal)."""
    if permission not in AUDITED_PERMISSIONS:
        return
    details = {"permission": permission, "reason": reason}
    try:
        with node.engine.begin() as conn:
            audit.append(conn, actor, "access.refused", subject, details)
    except Exception:  # the refusal stands even when it cannot be written; the failure is logged
        log.exception("audit: could not record a refused attempt by %s on %s", actor, subject)
