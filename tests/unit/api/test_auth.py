"""Login sessions, CSRF, rate limiting, API tokens, disabled users and user administration, on the real
app and a real SQLite database."""

from __future__ import annotations

import time

from httpx import Response

from safecity.api.deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from support.api_harness import TEST_PASSWORD, ApiHarness


def _login(h: ApiHarness, username: str, password: str = TEST_PASSWORD) -> Response:
    return h.client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_sets_hardened_cookies_and_me_describes_the_user(harness: ApiHarness) -> None:
    harness.user("operator", username="olga", cameras=["gate-1"])
    r = harness.client.post("/api/auth/login", json={"username": "OLGA", "password": TEST_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["username"] == "olga" and body["roles"] == ["operator"] and body["cameras"] == ["gate-1"]
    assert "alerts:act" in body["permissions"] and "users:manage" not in body["permissions"]
    cookies = {c.split("=", 1)[0]: c for c in r.headers.get_list("set-cookie")}
    session, csrf = cookies[SESSION_COOKIE].lower(), cookies[CSRF_COOKIE].lower()
    assert "httponly" in session and "samesite=strict" in session and "secure" in session
    assert "httponly" not in csrf and "samesite=strict" in csrf and "secure" in csrf
    assert harness.client.cookies[CSRF_COOKIE] == body["csrf_token"]
    me = harness.client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["via"] == "session" and me.json()["username"] == "olga"
    assert "password" not in me.text and "hash" not in me.text


def test_secure_flag_is_dropped_only_for_plain_http_on_loopback(harness: ApiHarness) -> None:
    from fastapi.testclient import TestClient

    harness.user("viewer", username="vera")
    body = {"username": "vera", "password": TEST_PASSWORD}
    remote = TestClient(harness.api, base_url="http://city.example")  # plain http, not loopback
    assert "secure" in remote.post("/api/auth/login", json=body).headers["set-cookie"].lower()
    local = TestClient(harness.api, base_url="http://127.0.0.1:8080", client=("127.0.0.1", 50000))
    cookie = local.post("/api/auth/login", json=body).headers["set-cookie"].lower()
    assert "secure" not in cookie and "httponly" in cookie
    spoofed = TestClient(harness.api, base_url="http://127.0.0.1:8080", client=("10.1.2.3", 50000))
    assert "secure" in spoofed.post("/api/auth/login", json=body).headers["set-cookie"].lower()


def test_bad_password_unknown_user_and_disabled_user_get_the_same_answer(harness: ApiHarness) -> None:
    harness.user("viewer", username="dora")
    harness.user("viewer", username="zed")
    admin = harness.bearer("admin")
    zed = next(u for u in harness.client.get("/api/users", headers=admin).json() if u["username"] == "zed")
    assert (
        harness.client.patch(f"/api/users/{zed['id']}", json={"disabled": True}, headers=admin).status_code
        == 200
    )
    answers, times = set(), []
    for name, pw in (("dora", "wrong password, long"), ("nobody", TEST_PASSWORD), ("zed", TEST_PASSWORD)):
        fastest = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            r = _login(harness, name, pw)
            fastest = min(fastest, time.perf_counter() - t0)
            answers.add((r.status_code, r.json()["detail"]))
        times.append(fastest)
    assert answers == {(401, "invalid username or password")}
    # an unknown name still costs one argon2 verification (without the dummy hash it would be ~100x faster)
    assert times[1] > 0.3 * times[0], f"an unknown user answers much faster: {times}"


def test_failed_logins_are_rate_limited_per_username_with_retry_after(harness: ApiHarness) -> None:
    harness.user("viewer", username="rita")
    for _ in range(5):
        assert _login(harness, "rita", "not the password!!").status_code == 401
    r = _login(harness, "rita")  # even the right password waits
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 300
    assert "too many failed logins" in r.json()["detail"]
    harness.user("viewer", username="sam")
    assert _login(harness, "sam").status_code == 200  # others unaffected


def test_failed_logins_are_rate_limited_per_client_address(harness: ApiHarness) -> None:
    for i in range(20):
        assert _login(harness, f"ghost{i}", "whatever password").status_code == 401
    harness.user("viewer", username="ivan")
    assert _login(harness, "ivan").status_code == 429


def test_csrf_header_is_required_and_checked_for_cookie_sessions(harness: ApiHarness) -> None:
    harness.user("admin", username="ada")
    csrf = _login(harness, "ada").json()["csrf_token"]
    body = {"name": "scraper"}
    r = harness.client.post("/api/tokens", json=body)
    assert r.status_code == 403 and CSRF_HEADER in r.json()["detail"]
    assert harness.client.post("/api/tokens", json=body, headers={CSRF_HEADER: "forged"}).status_code == 403
    assert harness.client.post("/api/tokens", json=body, headers={CSRF_HEADER: csrf}).status_code == 201
    assert harness.client.get("/api/tokens").status_code == 200  # safe methods need no token
    token = harness.token("ada")
    no_cookie = {"Authorization": f"Bearer {token}"}
    harness.client.cookies.clear()
    assert harness.client.post("/api/auth/logout", headers=no_cookie).status_code == 204  # bearer: exempt


def test_logout_ends_the_session_server_side(harness: ApiHarness) -> None:
    harness.user("viewer", username="lou")
    csrf = _login(harness, "lou").json()["csrf_token"]
    stolen = harness.client.cookies[SESSION_COOKIE]
    assert harness.client.post("/api/auth/logout").status_code == 403  # CSRF applies to logout too
    assert harness.client.post("/api/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert harness.client.get("/api/auth/me").status_code == 401
    r = harness.client.get("/api/auth/me", cookies={SESSION_COOKIE: stolen})
    assert r.status_code == 401 and "session" in r.json()["detail"]


def test_api_tokens_are_shown_once_listed_and_revoked(harness: ApiHarness) -> None:
    harness.user("auditor", username="aud")
    web = harness.browser("aud")
    created = web.post("/api/tokens", json={"name": "prometheus", "expires_in_days": 30})
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    assert secret.startswith("sc_")
    listed = web.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [token_id] and "token" not in listed[0]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert harness.client.get("/metrics", headers=bearer).status_code == 200
    me = harness.client.get("/api/auth/me", headers=bearer).json()
    assert me["via"] == "token" and me["username"] == "aud"
    assert web.delete("/api/tokens/nope").status_code == 404
    other = harness.bearer("admin")
    assert harness.client.delete(f"/api/tokens/{token_id}", headers=other).status_code == 404  # not theirs
    assert web.delete(f"/api/tokens/{token_id}").status_code == 204
    r = harness.client.get("/metrics", headers=bearer)
    assert r.status_code == 401 and "token" in r.json()["detail"]
    assert harness.client.get("/metrics", headers={"Authorization": "Basic abc"}).status_code == 401


def test_disabling_a_user_ends_sessions_and_refuses_tokens(harness: ApiHarness) -> None:
    admin = harness.bearer("admin")
    user = harness.user("operator", username="otto")
    web = harness.browser("otto")
    token = {"Authorization": f"Bearer {harness.token('otto')}"}
    assert web.get("/api/auth/me").status_code == 200
    r = harness.client.patch(f"/api/users/{user.id}", json={"disabled": True}, headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert web.get("/api/auth/me").status_code == 401
    assert harness.client.get("/api/auth/me", headers=token).status_code == 401
    r = harness.client.patch(f"/api/users/{user.id}", json={"disabled": False}, headers=admin)
    assert harness.client.get("/api/auth/me", headers=token).status_code == 200


def test_user_administration(harness: ApiHarness) -> None:
    admin = harness.bearer("admin")
    new = {"username": "Nina", "password": "short", "roles": ["investigator"]}
    r = harness.client.post("/api/users", json=new, headers=admin)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and "password" in r.json()["detail"]
    new["password"] = "a sufficiently long one"
    r = harness.client.post("/api/users", json={**new, "roles": ["wizard"]}, headers=admin)
    assert r.status_code == 422
    r = harness.client.post("/api/users", json={**new, "cameras": ["gate-1"]}, headers=admin)
    assert r.status_code == 201, r.text
    nina = r.json()
    assert nina["username"] == "nina" and nina["cameras"] == ["gate-1"] and "password" not in r.text
    assert harness.client.post("/api/users", json=new, headers=admin).status_code == 409
    r = harness.client.patch(
        f"/api/users/{nina['id']}", json={"roles": ["viewer", "operator"], "cameras": None}, headers=admin
    )
    assert r.json()["roles"] == ["operator", "viewer"] and r.json()["cameras"] is None
    web = harness.browser("nina", "a sufficiently long one")
    harness.client.patch(
        f"/api/users/{nina['id']}", json={"password": "another long password"}, headers=admin
    )
    assert web.get("/api/auth/me").status_code == 401  # a password reset ends sessions
    assert harness.browser("nina", "another long password").get("/api/auth/me").status_code == 200
    assert harness.client.patch("/api/users/4242", json={}, headers=admin).status_code == 404


def test_the_last_enabled_admin_cannot_be_removed(harness: ApiHarness) -> None:
    boss = harness.user("admin", username="boss")
    headers = {"Authorization": f"Bearer {harness.token('boss')}"}
    for change in ({"disabled": True}, {"roles": ["viewer"]}):
        r = harness.client.patch(f"/api/users/{boss.id}", json=change, headers=headers)
        assert r.status_code == 409 and "no enabled admin" in r.json()["detail"]
    harness.user("admin", username="deputy")
    assert (
        harness.client.patch(f"/api/users/{boss.id}", json={"roles": ["viewer"]}, headers=headers).status_code
        == 200
    )


def test_errors_are_json_with_a_detail_string(harness: ApiHarness) -> None:
    admin = harness.bearer("admin")
    for r in (
        harness.client.post(
            "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        ),
        harness.client.post("/api/auth/login", json={"username": ""}),
        harness.client.get("/api/events?limit=0", headers=admin),
        harness.client.get("/api/events?since=yesterday", headers=admin),
        harness.client.patch("/api/users/abc", json={}, headers=admin),
        harness.client.get("/api/no-such-thing", headers=admin),
        harness.client.delete("/api/events", headers=admin),
    ):
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        assert isinstance(r.json()["detail"], str), r.text
