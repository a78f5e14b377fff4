"""Second factor (TOTP) on the real API: required for admin, supervisor, investigator and auditor; a
password alone opens nothing; enrolment with a QR code; codes are not replayable; recovery codes work
once and are stored hashed; an administrator can reset; every step is in the verified audit chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.accounts.models import RecoveryCodeRow
from safecity.governance import audit
from support.api_harness import BASE_URL, TEST_PASSWORD, ApiHarness

ROLES = ["admin", "supervisor", "investigator", "auditor"]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path, api={"two_factor_roles": ROLES}) as h:
        yield h


def _login(h: ApiHarness, username: str) -> tuple[TestClient, dict[str, object]]:
    web = TestClient(h.api, base_url=BASE_URL)
    r = web.post("/api/auth/login", json={"username": username, "password": TEST_PASSWORD})
    assert r.status_code == 200, r.text
    web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return web, r.json()


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def _enrol(web: TestClient) -> tuple[str, list[str]]:
    e = web.post("/api/auth/2fa/enrol").json()
    codes = web.post("/api/auth/2fa/confirm", json={"code": _code(e["secret"])}).json()["recovery_codes"]
    return e["secret"], codes


@pytest.mark.parametrize("role", ROLES)
def test_a_password_alone_opens_nothing_for_privileged_roles(harness: ApiHarness, role: str) -> None:
    harness.user(role, username="pat")
    web, me = _login(harness, "pat")
    assert me["second_factor"] == "enrol" and me["permissions"] == []
    for path in ("/api/users", "/api/events", "/api/audit/verify", "/api/biometrics/watchlists",
                 "/api/tokens", "/api/health"):  # fmt: skip
        assert web.get(path).status_code in (403, 404), path
    assert web.post("/api/tokens", json={"name": "sneaky"}).status_code == 403
    assert web.get("/api/auth/me").json()["second_factor"] == "enrol"


def test_enrolment_with_qr_code_then_login_needs_the_code(harness: ApiHarness) -> None:
    harness.user("admin", username="ada")
    web, _ = _login(harness, "ada")
    e = web.post("/api/auth/2fa/enrol").json()
    assert e["qr_svg"].startswith("data:image/svg+xml") and e["uri"].startswith("otpauth://totp/")
    assert e["secret"] in e["uri"] and "issuer=safecity" in e["uri"]
    assert web.post("/api/auth/2fa/confirm", json={"code": "000000"}).status_code == 422
    codes = web.post("/api/auth/2fa/confirm", json={"code": _code(e["secret"])}).json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert web.get("/api/users").status_code == 200  # the session is complete now
    web2, me = _login(harness, "ada")
    assert me["second_factor"] == "mfa" and web2.get("/api/users").status_code == 403
    assert web2.post("/api/auth/2fa/enrol").status_code == 403  # no re-enrolment with a password alone
    assert web2.post("/api/auth/2fa/verify", json={"code": "123456"}).status_code == 401
    used = _code(e["secret"])  # the code that confirmed the enrolment: a replay
    assert web2.post("/api/auth/2fa/verify", json={"code": used}).status_code == 401
    assert web2.post("/api/auth/2fa/verify", json={"code": _code(e["secret"], 1)}).status_code == 204
    assert web2.get("/api/users").status_code == 200
    assert web2.get("/api/auth/me").json()["second_factor"] is None


def test_recovery_codes_are_hashed_and_work_once(harness: ApiHarness) -> None:
    user = harness.user("investigator", username="ivy")
    web, _ = _login(harness, "ivy")
    _, codes = _enrol(web)
    with harness.node.session() as db:
        stored = [
            r.code_hash for r in db.scalars(select(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id))
        ]
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored)
    assert not any(c in h for c in codes for h in stored)
    web2, _ = _login(harness, "ivy")
    assert web2.post("/api/auth/2fa/verify", json={"recovery_code": codes[0]}).status_code == 204
    web3, _ = _login(harness, "ivy")
    assert web3.post("/api/auth/2fa/verify", json={"recovery_code": codes[0]}).status_code == 401
    assert web3.get("/api/auth/2fa").json()["recovery_codes_left"] == 9


def test_roles_without_the_requirement_and_admin_reset(harness: ApiHarness) -> None:
    harness.user("operator", username="otto")
    _, me = _login(harness, "otto")
    assert me["second_factor"] is None and "events:read" in me["permissions"]
    victim = harness.user("auditor", username="aud")
    web, _ = _login(harness, "aud")
    _enrol(web)
    r = harness.client.post(f"/api/users/{victim.id}/2fa/reset", headers=harness.bearer("admin"))
    assert r.status_code == 204
    _, me = _login(harness, "aud")
    assert me["second_factor"] == "enrol"  # lost phone: enrol again


def test_every_step_is_in_the_verified_audit_chain(harness: ApiHarness) -> None:
    user = harness.user("supervisor", username="sue")
    web, _ = _login(harness, "sue")
    e = web.post("/api/auth/2fa/enrol").json()
    web.post("/api/auth/2fa/confirm", json={"code": "999999"})
    web.post("/api/auth/2fa/confirm", json={"code": _code(e["secret"])})
    web2, _ = _login(harness, "sue")
    web2.post("/api/auth/2fa/verify", json={"code": "111111"})
    web2.post("/api/auth/2fa/verify", json={"code": _code(e["secret"], 1)})
    harness.client.post(f"/api/users/{user.id}/2fa/reset", headers=harness.bearer("admin"))
    with harness.node.engine.connect() as conn:
        actions = [r.action for r in audit.entries(conn, limit=100) if r.subject == f"user:{user.id}"]
        assert audit.verify(conn).ok
    assert sorted(actions) == sorted(["auth.2fa.enrol_started", "auth.2fa.enrol_failed", "auth.2fa.enabled",
                                      "auth.2fa.failed", "auth.2fa.verified", "auth.2fa.reset"])  # fmt: skip
