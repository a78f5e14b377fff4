"""Who may reach the sensitive routes (biometrics, unredacted media, audit, users, evidence), written down
here by hand as policy, independently of `ROLE_PERMISSIONS`: a wrong grant in the role table (say
`media:unredacted` given to operators) makes this test fail, which the derived matrix in
test_permissions.py cannot do. Every role is tried on every listed route against the real API."""

from __future__ import annotations

import re

import pytest

import safecity.api.deps as deps
import support.api_harness as api_harness
from safecity.api.permissions import Role
from safecity.api.routes import route_table
from support.api_harness import ApiHarness

ADMIN = frozenset({"admin"})
INVESTIGATORS = frozenset({"investigator", "admin"})
REVIEWERS = frozenset({"supervisor", "investigator", "admin"})
APPROVERS = frozenset({"supervisor", "admin"})
AUDITORS = frozenset({"auditor", "admin"})
OVERSIGHT = frozenset({"supervisor", "auditor", "admin"})
EVIDENCE = frozenset({"supervisor", "investigator", "admin"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/biometrics/authorizations"): INVESTIGATORS,
    ("POST", "/api/biometrics/authorizations"): INVESTIGATORS,
    ("POST", "/api/biometrics/authorizations/{authorization_id}/revoke"): INVESTIGATORS,
    ("GET", "/api/biometrics/watchlists"): INVESTIGATORS,
    ("GET", "/api/biometrics/watchlists/{watchlist_id}"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/entries"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/import"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/import/jobs"): INVESTIGATORS,
    ("GET", "/api/biometrics/import/jobs/{job_id}"): INVESTIGATORS,
    ("POST", "/api/biometrics/import/jobs/{job_id}/cancel"): INVESTIGATORS,
    ("POST", "/api/biometrics/entries/{entry_id}/remove"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/review"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/activate"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/urgent"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/authorize"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/stop"): INVESTIGATORS,
    ("POST", "/api/biometrics/watchlists/{watchlist_id}/threshold"): INVESTIGATORS,
    ("GET", "/api/biometrics/thresholds"): APPROVERS,
    ("POST", "/api/biometrics/thresholds/{change_id}/approve"): APPROVERS,
    ("POST", "/api/biometrics/thresholds/{change_id}/reject"): APPROVERS,
    ("GET", "/api/biometrics/matches"): REVIEWERS,
    ("GET", "/api/biometrics/matches/{match_id}"): REVIEWERS,
    ("GET", "/api/biometrics/matches/{match_id}/crop"): REVIEWERS,
    ("POST", "/api/biometrics/matches/{match_id}/review"): REVIEWERS,
    ("POST", "/api/biometrics/matches/{match_id}/dispatch"): REVIEWERS,
    ("POST", "/api/biometrics/search"): INVESTIGATORS,
    ("POST", "/api/biometrics/search/jobs"): INVESTIGATORS,
    ("GET", "/api/biometrics/search/jobs/{job_id}"): INVESTIGATORS,
    ("POST", "/api/biometrics/search/jobs/{job_id}/cancel"): INVESTIGATORS,
    ("GET", "/api/biometrics/unredacted/{key:path}"): INVESTIGATORS,
    ("GET", "/api/recordings/segments/{segment_id}/video"): INVESTIGATORS,
    ("GET", "/api/biometrics/audit"): AUDITORS,
    ("GET", "/api/biometrics/transparency"): OVERSIGHT,
    ("GET", "/api/biometrics/transparency.html"): OVERSIGHT,
    ("GET", "/api/evidence-locks"): EVIDENCE,
    ("POST", "/api/evidence-locks"): EVIDENCE,
    ("POST", "/api/evidence-locks/{lock_id}/release"): EVIDENCE,
    ("POST", "/api/incidents/{incident_id}/evidence-lock"): EVIDENCE,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("PATCH", "/api/users/{user_id}"): ADMIN,
    ("POST", "/api/users/{user_id}/2fa/reset"): ADMIN,
    ("GET", "/api/plates/reads"): EVIDENCE,  # supervisor, investigator (and admin)
    # vehicle hotlists (hotlists:manage) and the confirmation of their hits (plates:review)
    ("GET", "/api/hotlists/authorizations"): INVESTIGATORS,
    ("POST", "/api/hotlists/authorizations"): INVESTIGATORS,
    ("POST", "/api/hotlists/authorizations/{authorization_id}/revoke"): INVESTIGATORS,
    ("GET", "/api/hotlists"): INVESTIGATORS,
    ("POST", "/api/hotlists"): INVESTIGATORS,
    ("GET", "/api/hotlists/{hotlist_id}"): INVESTIGATORS,
    ("PATCH", "/api/hotlists/{hotlist_id}"): INVESTIGATORS,
    ("POST", "/api/hotlists/{hotlist_id}/entries"): INVESTIGATORS,
    ("POST", "/api/hotlists/entries/{entry_id}/remove"): INVESTIGATORS,
    ("POST", "/api/hotlists/{hotlist_id}/activate"): INVESTIGATORS,
    ("POST", "/api/hotlists/{hotlist_id}/stop"): INVESTIGATORS,
    ("GET", "/api/hotlists/hits"): REVIEWERS,
    ("GET", "/api/hotlists/hits/{hit_id}"): REVIEWERS,
    ("GET", "/api/hotlists/hits/{hit_id}/crop"): REVIEWERS,
    ("POST", "/api/hotlists/hits/{hit_id}/review"): REVIEWERS,
    ("POST", "/api/hotlists/hits/{hit_id}/dispatch"): REVIEWERS,
}
SENSITIVE = frozenset(
    {"watchlists:manage", "biometrics:review", "biometrics:search", "thresholds:approve", "media:unredacted",
     "audit:read", "users:manage", "transparency:read", "evidence:manage", "plates:search", "hotlists:manage",
     "plates:review"}
)  # fmt: skip
PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def _url(path: str) -> str:
    return PARAM.sub(lambda m: "snapshots/nowhere/2020-01-01/0.jpg" if m.group(2) else "999999", path)


def _mismatches(h: ApiHarness) -> list[str]:
    tokens = {role.value: h.bearer(role.value) for role in Role}
    out = []
    for (method, path), allowed in EXPECTED.items():
        body = {"json": {}} if method in ("POST", "PATCH") else {}
        for role, headers in tokens.items():
            status = h.client.request(method, _url(path), headers=headers, **body).status_code
            if status >= 500 or (role in allowed) == (status in (401, 403)):
                want = "access" if role in allowed else "403"
                out.append(f"{role} {method} {path}: {status}, expected {want}")
    return out


def test_every_sensitive_route_is_in_the_table(harness: ApiHarness) -> None:
    declared = {(m, r.path) for r in route_table(harness.api) if r.permissions & SENSITIVE for m in r.methods}
    assert declared == set(EXPECTED), "add new sensitive routes to EXPECTED with the roles that may call them"


def test_each_role_reaches_exactly_the_sensitive_routes_the_policy_allows(harness: ApiHarness) -> None:
    assert _mismatches(harness) == []


def test_a_wrong_grant_is_caught(harness: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: give operators media:unredacted behind the table's back and it reports it."""
    real = deps.permissions_for

    def with_wrong_grant(roles: frozenset[Role] | set[Role]) -> frozenset[str]:
        extra = {"media:unredacted"} if Role.OPERATOR in roles else set()
        return real(roles) | extra

    monkeypatch.setattr(deps, "permissions_for", with_wrong_grant)
    # the harness scopes each test token to its role's permissions: the wrong grant reaches those too
    monkeypatch.setattr(api_harness, "permissions_for", with_wrong_grant)
    found = _mismatches(harness)
    assert found and all(line.startswith("operator ") for line in found)
    assert any("/api/recordings/segments/{segment_id}/video" in line for line in found)
