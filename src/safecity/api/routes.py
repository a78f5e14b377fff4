"""The route table of a running API, with the permission each route requires: what the coverage and
permission-matrix tests (tests/unit/api/test_permissions.py) walk, for every router, present and future.

Public routes are exactly: `POST /api/auth/login`, `GET /healthz`, anything under `/api/public/` (reports
from the public), the API docs and the web UI's static files.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from safecity.api.deps import route_permissions

PUBLIC_ROUTES = frozenset({("POST", "/api/auth/login"), ("GET", "/healthz")})
PUBLIC_PREFIX = "/api/public/"
UI_ROUTE_NAME = "web_ui"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    path: str
    methods: frozenset[str]  # empty for a WebSocket
    websocket: bool
    api: bool  # declared through FastAPI (APIRoute / APIWebSocketRoute), so it has a dependency tree
    name: str
    permissions: frozenset[str]

    @property
    def public(self) -> bool:
        if self.name == UI_ROUTE_NAME or not self.api:  # UI files, OpenAPI schema and docs pages
            return True
        if self.path.startswith(PUBLIC_PREFIX):
            return True
        return all((m, self.path) in PUBLIC_ROUTES for m in self.methods) and bool(self.methods)


def _contexts(api: FastAPI) -> list[object]:
    try:  # FastAPI >= 0.130 includes routers lazily; this yields the effective (prefixed) routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(api.routes)
    return list(iter_route_contexts(api.routes))


def route_table(api: FastAPI) -> list[RouteInfo]:
    out = []
    for rc in _contexts(api):
        original = getattr(rc, "original_route", rc)
        dependant = getattr(rc, "dependant", None)
        is_api = isinstance(original, APIRoute | APIWebSocketRoute) and dependant is not None
        out.append(
            RouteInfo(
                path=str(getattr(rc, "path", "")),
                methods=frozenset(getattr(rc, "methods", None) or ()),
                websocket=isinstance(original, APIWebSocketRoute),
                api=is_api,
                name=str(getattr(rc, "name", "")),
                permissions=frozenset(route_permissions(dependant)) if is_api and dependant else frozenset(),
            )
        )
    return out
