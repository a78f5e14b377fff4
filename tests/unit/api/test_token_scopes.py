"""API tokens cannot do more than they should: the attacks of issue 17, each performed and refused.

A token minting a token, a general token creating an admin, a token surviving a password reset, a ten-year
token; and the scopes that narrow a token (read-only, a subset of the owner's permissions)."""

from __future__ import annotations

from support.api_harness import ApiHarness

NEW_ADMIN = {"username": "mallory", "password": "a long enough password", "roles": ["admin"]}


def _mint(h: ApiHarness, username: str, **body: object) -> dict[str, object]:
    r = h.browser(username).post("/api/tokens", json={"name": "t", **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _bearer(secret: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_cannot_mint_tokens_or_manage_users_unless_scoped(harness: ApiHarness) -> None:
    harness.user("admin", username="ada")
    general = _bearer(_mint(harness, "ada")["token"])  # no scopes: the owner's permissions but users:manage
    r = harness.client.post("/api/tokens", json={"name": "child"}, headers=general)
    assert r.status_code == 403 and "cannot create tokens" in r.json()["detail"]
    r = harness.client.post("/api/users", json=NEW_ADMIN, headers=general)
    assert r.status_code == 403 and "users:manage" in r.json()["detail"]
    assert harness.client.get("/api/users", headers=general).status_code == 403
    assert harness.client.get("/api/health", headers=general).status_code == 200  # other admin rights stay
    me = harness.client.get("/api/auth/me", headers=general).json()
    assert "users:manage" not in me["permissions"] and "health:read" in me["permissions"]
    scoped = _bearer(_mint(harness, "ada", scopes=["users:manage"])["token"])
    assert harness.client.post("/api/users", json=NEW_ADMIN, headers=scoped).status_code == 201
    assert harness.client.get("/api/health", headers=scoped).status_code == 403  # only what it was scoped for


def test_scopes_are_a_subset_of_the_owner_and_follow_the_owner(harness: ApiHarness) -> None:
    op = harness.user("operator", username="otto")
    web = harness.browser("otto")
    r = web.post("/api/tokens", json={"name": "t", "scopes": ["users:manage"]})
    assert r.status_code == 422 and "beyond your own permissions" in r.json()["detail"]
    r = web.post("/api/tokens", json={"name": "t", "scopes": ["alerts:nuke"]})
    assert r.status_code == 422 and "unknown scope" in r.json()["detail"]
    token = _mint(harness, "otto", scopes=["events:read", "alerts:read"])
    assert token["scopes"] == ["alerts:read", "events:read"]
    headers = _bearer(token["token"])
    assert harness.client.get("/api/events", headers=headers).status_code == 200
    assert harness.client.get("/api/incidents", headers=headers).status_code == 403  # owner may, token not
    admin = harness.bearer("admin")
    r = harness.client.patch(f"/api/users/{op.id}", json={"roles": ["field-unit"]}, headers=admin)
    assert r.status_code == 200
    assert harness.client.get("/api/events", headers=headers).status_code == 403  # the owner lost it


def test_a_read_only_token_cannot_change_anything(harness: ApiHarness) -> None:
    harness.user("admin", username="ro")
    headers = _bearer(_mint(harness, "ro", scopes=["read-only"])["token"])
    assert harness.client.get("/api/events", headers=headers).status_code == 200
    assert harness.client.get("/api/cameras", headers=headers).status_code == 200
    body = {"title": "fake", "priority": "low"}
    r = harness.client.post("/api/incidents", json=body, headers=headers)
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    r = harness.client.delete("/api/tokens/whatever", headers=headers)
    assert r.status_code == 403


def test_a_password_reset_revokes_the_users_tokens(harness: ApiHarness) -> None:
    user = harness.user("operator", username="petra")
    stolen = _bearer(_mint(harness, "petra")["token"])
    assert harness.client.get("/api/events", headers=stolen).status_code == 200
    admin = harness.bearer("admin")
    reset = {"password": "a brand new password"}
    r = harness.client.patch(f"/api/users/{user.id}", json=reset, headers=admin)
    assert r.status_code == 200
    r = harness.client.get("/api/events", headers=stolen)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert harness.browser("petra", "a brand new password").get("/api/tokens").json() == []


def test_token_lifetime_is_capped_by_the_setting(harness: ApiHarness) -> None:
    harness.user("viewer", username="vic")
    web = harness.browser("vic")
    r = web.post("/api/tokens", json={"name": "forever", "expires_in_days": 3650})
    assert r.status_code == 422 and "api.token_max_days" in r.json()["detail"]
    max_days = harness.node.settings.api.token_max_days
    r = web.post("/api/tokens", json={"name": "year", "expires_in_days": max_days})
    assert r.status_code == 201
    assert web.get("/api/tokens").json()[0]["expires_at"] is not None
