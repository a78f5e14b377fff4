"""Every route is guarded, and every role gets exactly what ROLE_PERMISSIONS grants, on every route.

Both tests read the routes of the real application (every router module, including ones added later) and
the permission each route declares through `require(...)`; nothing here lists routes by hand.
"""

from __future__ import annotations

import re

import pytest
from fastapi import Depends, FastAPI

from safecity.api.deps import AUTHENTICATED, Require, require
from safecity.api.permissions import PERMISSIONS, ROLE_PERMISSIONS, Role
from safecity.api.routes import RouteInfo, route_table
from support.api_harness import ApiHarness

PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
DUMMY_KEY = "snapshots/no-such-camera/2020-01-01/0.jpg"
# only a signed-in person (a login session) mints tokens (safecity.accounts.scopes) or takes the
# second-factor steps (routers/twofactor.py): API tokens get 403 there whatever their owner's roles
TOKEN_NEVER = {("POST", "/api/tokens")} | {
    ("POST", f"/api/auth/2fa/{s}") for s in ("enrol", "confirm", "verify")
}


def _url(route: RouteInfo) -> str:
    return PARAM.sub(lambda m: DUMMY_KEY if m.group(2) == ":path" else "999999", route.path)


def _guarded(api: FastAPI) -> list[tuple[str, RouteInfo]]:
    return sorted(
        ((method, r) for r in route_table(api) if not r.public and not r.websocket for method in r.methods),
        key=lambda x: (x[1].path, x[0]),
    )


def _call(h: ApiHarness, method: str, route: RouteInfo, headers: dict[str, str]) -> int:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return h.client.request(method, _url(route), headers=headers, **body).status_code


def test_every_non_public_route_requires_a_permission(harness: ApiHarness) -> None:
    table = route_table(harness.api)
    assert len(table) > 20  # the walk sees the routers' routes, not just the app's own
    missing = [f"{sorted(r.methods)} {r.path}" for r in table if not r.public and not r.permissions]
    assert missing == [], f"routes without require(...): {missing}"
    for r in table:
        assert r.permissions <= set(PERMISSIONS) | {AUTHENTICATED}, r
    public = {(m, r.path) for r in table if r.public and r.api and r.name != "web_ui" for m in r.methods}
    unexpected = {p for p in public if not p[1].startswith("/api/public/")}
    assert unexpected == {("POST", "/api/auth/login"), ("GET", "/healthz")}


def test_the_coverage_walk_detects_an_unguarded_route(harness: ApiHarness) -> None:
    """The check above can fail: a route added without require() is reported."""
    harness.api.add_api_route("/api/forgotten", lambda: {"ok": True}, methods=["GET"])
    guarded = harness.api.add_api_route
    guarded(
        "/api/remembered",
        lambda: {"ok": True},
        methods=["GET"],
        dependencies=[Depends(require("audit:read"))],
    )
    by_path = {r.path: r for r in route_table(harness.api)}
    assert not by_path["/api/forgotten"].public and by_path["/api/forgotten"].permissions == frozenset()
    assert by_path["/api/remembered"].permissions == {"audit:read"}


def test_require_refuses_unknown_permissions() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        Require("cameras:destroy")
    assert require("events:read") is require("events:read")


def test_permission_matrix_every_role_on_every_route(harness: ApiHarness) -> None:
    routes = _guarded(harness.api)
    assert len(routes) > 20
    tokens = {role: harness.bearer(role.value) for role in Role}
    failures = []
    for method, route in routes:
        where = f"{method} {route.path}"
        status = _call(harness, method, route, {})
        if status != 401:
            failures.append(f"anonymous {where}: {status}, expected 401")
        for role, headers in tokens.items():
            granted = ROLE_PERMISSIONS[role] | {AUTHENTICATED}
            allowed = route.permissions <= granted and (method, route.path) not in TOKEN_NEVER
            status = _call(harness, method, route, headers)
            if status >= 500:
                failures.append(f"{role.value} {where}: {status}")
            elif allowed and status in (401, 403):
                failures.append(
                    f"{role.value} {where}: {status}, expected access ({sorted(route.permissions)})"
                )
            elif not allowed and status != 403:
                failures.append(f"{role.value} {where}: {status}, expected 403 ({sorted(route.permissions)})")
    assert failures == [], "\n".join(failures)


def test_a_denied_route_says_which_permission_is_missing(harness: ApiHarness) -> None:
    r = harness.client.get("/api/users", headers=harness.bearer("viewer"))
    assert r.status_code == 403
    assert r.json() == {"detail": "permission 'users:manage' required; your roles: viewer"}
    r = harness.client.get("/api/users")
    assert r.status_code == 401 and r.json()["detail"].startswith("not authenticated")
