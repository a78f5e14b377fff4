"""Roles and the permissions they grant: the one table every route's check is written against.

A route declares one permission (`require("alerts:act")`); a user holds roles; a role grants a fixed set
of permissions. Camera-scoped data is further filtered by the user's camera access list.
"""

from __future__ import annotations

from types import MappingProxyType

from safecity.accounts.roles import Role as Role  # the domain owns roles; this maps them to permissions

PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "cameras:read": "See cameras, their status and latest snapshot",
        "cameras:manage": "Add, edit, disable cameras; draw lines and zones",
        "live:view": "Watch live annotated video",
        "events:read": "Search events",
        "media:read": "Open event snapshots",
        "alerts:read": "See the alert feed",
        "alerts:act": "Acknowledge, assign and close alerts",
        "alert_rules:manage": "Change which events raise alerts and how",
        "incidents:read": "See incidents and their timelines",
        "incidents:write": "Create and update incidents, work their checklists",
        "dispatch:create": "Dispatch field units to incidents",
        "units:read": "See field units and their state",
        "units:manage": "Create and retire field units",
        "field:respond": "Receive own dispatches and report en route / on scene / closed",
        "reports:triage": "Triage reports from the public",
        "users:manage": "Create users, set roles and camera access",
        "tokens:own": "Create and revoke one's own API tokens",
        "health:read": "See system health",
        "audit:read": "Read the audit log",
        "analytics:read": "See urban analytics dashboards (aggregates only, small counts suppressed)",
        "analytics:export": "Download analytics aggregates and reports (CSV, Parquet, PDF)",
        # face matching under lawful authorization (safecity.biometrics); every use is audited
        "watchlists:manage": "Record authorizations; create, review, start and stop watchlists and entries",
        "biometrics:review": "Review face matches (confirm or reject); acting on one needs two reviewers",
        "biometrics:search": "Search stored snapshots for a face inside an authorized case",
        "thresholds:approve": "Approve a match threshold below the validated minimum (second approver)",
        "media:unredacted": "View and export unblurred clips and snapshots (audited)",
        "evidence:manage": "Place, list and release evidence locks (keep recordings past retention; audited)",
        "transparency:read": "Read the face matching transparency report",
        "plates:search": "Search stored plate reads by plate, exact or fuzzy (every search audited)",
        "hotlists:manage": "Record vehicle authorizations; create, fill, start and stop vehicle hotlists",
        "plates:review": "Confirm or reject plate hits against the plate crop; acting needs two reviewers",
        # federated sites (safecity.federation): national roles see aggregates and redacted summaries only
        "federation:read": "National view: cities, camera health, alerts, incidents, analytics (summaries)",
        "federation:request": "Ask a city for an incident's redacted snapshot or clip (the city decides)",
        "federation:act": "Hand incidents to other cities, answer handoffs and media requests",
    }
)

_OPS = {
    "analytics:read",
    "cameras:read",
    "live:view",
    "events:read",
    "media:read",
    "alerts:read",
    "alerts:act",
    "incidents:read",
    "incidents:write",
    "dispatch:create",
    "units:read",
    "reports:triage",
    "health:read",
    "tokens:own",
}

ROLE_PERMISSIONS: MappingProxyType[Role, frozenset[str]] = MappingProxyType(
    {
        Role.VIEWER: frozenset(
            {"cameras:read", "live:view", "events:read", "alerts:read", "tokens:own", "analytics:read"}
        ),
        Role.OPERATOR: frozenset(_OPS),
        Role.SUPERVISOR: frozenset(
            _OPS
            | {
                "analytics:export",
                "alert_rules:manage",
                "units:manage",
                "biometrics:review",
                "thresholds:approve",
                "transparency:read",
                "evidence:manage",
                "federation:act",
                "federation:read",
                "plates:search",
                "plates:review",
            }
        ),
        Role.INVESTIGATOR: frozenset(
            {
                "cameras:read",
                "events:read",
                "media:read",
                "incidents:read",
                "tokens:own",
                "watchlists:manage",
                "biometrics:review",
                "biometrics:search",
                "media:unredacted",
                "evidence:manage",
                "plates:search",
                "hotlists:manage",
                "plates:review",
            }
        ),
        Role.AUDITOR: frozenset({"audit:read", "health:read", "tokens:own", "transparency:read"}),
        Role.ADMIN: frozenset(PERMISSIONS),
        Role.FIELD_UNIT: frozenset({"field:respond", "tokens:own"}),
        Role.NATIONAL_VIEWER: frozenset({"federation:read", "tokens:own"}),
        Role.NATIONAL_OPERATOR: frozenset({"federation:read", "federation:request", "tokens:own"}),
    }
)


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[str]:
    out: set[str] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS[role]
    return frozenset(out)
