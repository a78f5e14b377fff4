"""Fuzzing beyond the OpenAPI schema (test_api_schemathesis.py): arbitrary UI paths (NUL, control
characters, percent escapes, `..`, very long names) and dates at the edges of the calendar on every query
parameter that takes a date. No answer may be a 5xx; every one carries the security headers; every 4xx a
JSON reason. The three requests that answered 500 before are pinned first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.api_harness import BASE_URL, ApiHarness

EDGE_DATES = [
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "0001-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31T23:59:59.999999-14:00",  # after year 9999 in UTC
    "9999-12-31T23:59:59Z",
    "9999-12-31",
    "1970-01-01T00:00:00Z",
    "2024-02-29T12:00:00+05:45",
    "2023-02-29T00:00:00Z",  # no such day
    "2016-12-31T23:59:60Z",  # a leap second
    "2025-01-01T24:00:00",
    "2025-01-01T00:00:00+24:00",
    "-0001-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "99999999999",
    "-99999999999",
    "1e400",
    "NaN",
    "",
]
SETTINGS = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))  # fmt: skip


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path_factory.mktemp("fuzz")) as h:
        yield h


@pytest.fixture(scope="module")
def client(harness: ApiHarness) -> TestClient:
    return TestClient(harness.api, base_url=BASE_URL, raise_server_exceptions=False)


def _check(r: Any, where: str) -> None:
    assert r.status_code < 500, f"{r.status_code} {where}: {r.text[:300]}"
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    if r.status_code >= 400 and r.request.method != "HEAD":
        assert isinstance(r.json().get("detail"), str), where


def test_the_reported_500s_are_4xx(harness: ApiHarness, client: TestClient) -> None:
    admin = harness.bearer("admin")
    for path in ("/%00", "/index.html%00.js", "/api/%00", "/assets/%00x.js"):
        r = client.get(path)
        _check(r, path)
        assert r.status_code == 400, path
    r = client.get("/api/biometrics/transparency?since=0001-01-01T00:00:00%2B14:00", headers=admin)
    _check(r, "transparency since year 0")
    assert r.status_code == 422 and "out of range" in r.json()["detail"]


@given(path=st.text(min_size=0, max_size=300))
@SETTINGS
def test_any_ui_path(client: TestClient, path: str) -> None:
    url = "/" + quote(path.encode("utf-8", "surrogatepass"), safe="/.%~")
    for method in ("GET", "HEAD"):
        _check(client.request(method, url), f"{method} {url}")


@given(raw=st.binary(min_size=1, max_size=64))
@SETTINGS
def test_any_bytes_in_a_ui_path(client: TestClient, raw: bytes) -> None:
    url = "/" + quote(raw, safe="/.")
    _check(client.get(url), url)


def _date_params(client: TestClient) -> list[tuple[str, str]]:
    """(path, query parameter) of every GET without path parameters that takes a date or date-time."""
    spec = client.get("/api/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        for p in op.get("parameters", []):
            schema = p.get("schema", {})
            formats = {s.get("format") for s in [schema, *schema.get("anyOf", [])]}
            if p["in"] == "query" and formats & {"date", "date-time"}:
                found.append((path, p["name"]))
    return found


def test_date_edges_on_every_date_parameter(harness: ApiHarness, client: TestClient) -> None:
    params = _date_params(client)
    assert len(params) >= 10, params  # events, analytics, recordings, transparency ...
    admin = harness.bearer("admin")
    for path, name in params:
        for value in EDGE_DATES:
            for other in ("since", "until"):  # alone, and with an ordinary partner bound
                query = {name: value} if other == name else {name: value, other: "2025-01-01T00:00:00Z"}
                r = client.get(path, params=query, headers=admin)
                _check(r, f"{path}?{query}")


@given(when=st.datetimes(timezones=st.timezones() | st.sampled_from([None])))
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_any_datetime_on_events_and_transparency(harness: ApiHarness, client: TestClient, when: Any) -> None:
    admin = harness.bearer("admin")
    for path in ("/api/events", "/api/biometrics/transparency", "/api/analytics/peak-hours"):
        for name in ("since", "until"):
            r = client.get(path, params={name: when.isoformat()}, headers=admin)
            _check(r, f"{path}?{name}={when.isoformat()}")
            assert r.status_code in (200, 422), (path, r.status_code, r.text[:200])  # not a 404: it exists
