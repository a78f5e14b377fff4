"""Security headers on every kind of response (UI files, SPA routes, API answers, 4xx and 500 errors, the
API docs), HSTS only over HTTPS, and a built UI without inline scripts (the CSP forbids them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.api_harness import ApiHarness

WEB_DIST = Path(__file__).resolve().parents[3] / "src" / "safecity" / "web" / "dist"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    if not (WEB_DIST / "apidocs" / "swagger-ui-bundle.js").is_file():
        pytest.skip(f"the web UI is not built in {WEB_DIST} (cd src/safecity/web && npm ci && npm run build)")
    with ApiHarness.start(tmp_path, api={"ui_dir": str(WEB_DIST)}) as h:

        def boom() -> None:
            raise RuntimeError("an unexpected failure")

        h.api.add_api_route("/api/test-boom", boom, methods=["GET"])
        h.api.router.routes.insert(0, h.api.router.routes.pop())  # before the UI's catch-all route
        yield h


def _asset() -> str:
    return "/assets/" + next(p.name for p in (WEB_DIST / "assets").glob("index-*.js"))


def _requests(h: ApiHarness) -> list[tuple[str, str, int, dict[str, str]]]:
    admin = h.bearer("admin")
    return [
        ("GET", "/", 200, {}),
        ("GET", "/index.html", 200, {}),
        ("GET", _asset(), 200, {}),
        ("GET", "/alerts/123", 200, {}),  # a client-side route: index.html
        ("GET", "/missing.js", 404, {}),
        ("GET", "/api/docs", 200, {}),
        ("GET", "/api/docs/init.js", 200, {}),
        ("GET", "/api/docs/swagger-ui-bundle.js", 200, {}),
        ("GET", "/api/openapi.json", 200, {}),
        ("GET", "/healthz", 200, {}),
        ("GET", "/api/auth/me", 401, {}),
        ("GET", "/api/auth/me", 200, admin),
        ("GET", "/api/users", 403, h.bearer("viewer")),
        ("GET", "/api/no-such-route", 404, admin),
        ("GET", "/api/events?limit=abc", 422, admin),
        ("POST", "/api/auth/login", 422, {}),
        ("GET", "/%00", 400, {}),
        ("GET", "/api/test-boom", 500, admin),
    ]


def test_every_response_carries_the_security_headers(harness: ApiHarness) -> None:
    client = TestClient(harness.api, base_url="https://testserver", raise_server_exceptions=False)
    for method, path, status, headers in _requests(harness):
        r = client.request(method, path, headers=headers)
        assert r.status_code == status, (path, r.status_code, r.text[:200])
        csp = r.headers.get("content-security-policy", "")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives.get("frame-ancestors") == "'none'", (path, csp)
        assert directives.get("script-src") == "'self'", (path, csp)  # no 'unsafe-inline', no CDN
        assert directives.get("object-src") == "'none'", (path, csp)
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") == "same-origin", path
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("strict-transport-security", "").startswith("max-age=31536000"), path
        if path.startswith("/api/") and not path.startswith("/api/docs"):
            assert r.headers.get("cache-control") == "no-store", path


def test_no_hsts_over_plain_http(harness: ApiHarness) -> None:
    client = TestClient(harness.api, base_url="http://127.0.0.1", raise_server_exceptions=False)
    for path in ("/", "/api/auth/me", "/%00", "/api/test-boom"):
        r = client.get(path, headers=harness.bearer("admin"))
        assert "strict-transport-security" not in r.headers, path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path


def test_hsts_can_be_turned_off(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, api={"hsts_max_age_s": 0}) as h:
        r = h.client.get("/healthz")
        assert r.status_code == 200 and "strict-transport-security" not in r.headers
        assert "content-security-policy" in r.headers


def test_the_built_ui_and_docs_have_no_inline_script(harness: ApiHarness) -> None:
    pages = [harness.client.get(p).text for p in ("/", "/api/docs")]
    pages.append((WEB_DIST / "index.html").read_text())
    for html in pages:
        assert "<script" in html
        assert INLINE_SCRIPT.findall(html) == [], html[:500]
        assert INLINE_HANDLER.findall(html) == []
        assert "cdn" not in html.lower() and "https://" not in html
    docs = harness.client.get("/api/docs").text
    for src in re.findall(r'(?:src|href)="([^"]+)"', docs):
        assert src.startswith("/api/docs/"), src
        assert harness.client.get(src).status_code == 200, src
