"""Every privileged act is an audit entry, with who did it, and no secret in it; refused attempts on
biometric, unblurred-media and admin routes are entries too (who, what, why). Each check would fail
without the guard: before this work none of these wrote an entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from safecity.cli import app as cli
from safecity.governance import audit
from support.api_harness import TEST_PASSWORD, ApiHarness


def _since(h: ApiHarness, seq: int) -> list[Any]:
    with h.node.engine.connect() as conn:
        rows = conn.execute(sa.select(audit.LOG).where(audit.LOG.c.seq > seq).order_by(audit.LOG.c.seq))
        return list(rows)


def _last_seq(h: ApiHarness) -> int:
    with h.node.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit.LOG.c.seq), 0))).scalar_one())


def _did(h: ApiHarness, call: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Run `call` (an HTTP request that must succeed) and return the audit entries it wrote."""
    before = _last_seq(h)
    r = call()
    assert r.status_code < 300, r.text
    return [(e.actor, e.action, e.subject, json.loads(e.details)) for e in _since(h, before)]


def test_user_and_token_administration_is_audited(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path) as h:
        admin = h.user("admin", username="root")
        web = h.browser(admin.username)
        new = {"username": "rev2", "password": TEST_PASSWORD, "roles": ["viewer"], "cameras": []}
        [(who, action, subject, d)] = _did(h, lambda: web.post("/api/users", json=new))
        assert (who, action, subject) == ("root", "user.create", "user:rev2")
        assert d["roles"] == ["viewer"] and d["cameras"] == [] and d["password_hash"] == "(set)"
        uid = next(u["id"] for u in web.get("/api/users").json() if u["username"] == "rev2")
        grant = {"roles": ["investigator", "supervisor"]}
        [(_, action, _, d)] = _did(h, lambda: web.patch(f"/api/users/{uid}", json=grant))
        assert action == "user.roles.change"
        assert d["changes"]["roles"] == {"before": ["viewer"], "after": ["investigator", "supervisor"]}
        cams = {"cameras": None}  # every camera
        [(_, action, _, d)] = _did(h, lambda: web.patch(f"/api/users/{uid}", json=cams))
        assert action == "user.cameras.change" and d["changes"]["cameras"] == {"before": [], "after": None}
        pw = {"password": "another long passphrase"}
        [(_, action, _, d)] = _did(h, lambda: web.patch(f"/api/users/{uid}", json=pw))
        assert action == "user.password_reset" and "$argon2" not in json.dumps(d)
        assert [
            a for _, a, _, _ in _did(h, lambda: web.patch(f"/api/users/{uid}", json={"disabled": True}))
        ] == ["user.disable"]
        assert [
            a for _, a, _, _ in _did(h, lambda: web.patch(f"/api/users/{uid}", json={"disabled": False}))
        ] == ["user.enable"]
        [(who, action, subject, d)] = _did(h, lambda: web.post("/api/tokens", json={"name": "ci"}))
        assert (who, action) == ("root", "token.create") and d["token_hash"] == "(set)"
        token_id = subject.removeprefix("token:")
        [(who, action, subject, _)] = _did(h, lambda: web.delete(f"/api/tokens/{token_id}"))
        assert (who, action, subject) == ("root", "token.revoke", f"token:{token_id}")


def test_camera_rule_and_evidence_changes_are_audited(tmp_path: Path, pets_video: Path) -> None:
    with ApiHarness.start(tmp_path) as h:
        admin = {"Authorization": f"Bearer {h.token(h.user('admin', username='root').username)}"}
        cam = {"id": "street", "source": "rtsp://admin:hunter2@10.9.9.9:554/s1", "enabled": False}
        [(who, action, subject, d)] = _did(h, lambda: h.client.post("/api/cameras", json=cam, headers=admin))
        assert (who, action, subject) == ("root", "camera.create", "camera:street")
        assert "hunter2" not in json.dumps(d) and d["source"].startswith("rtsp://***@10.9.9.9")
        line = {"lines": [{"id": "door", "start": [0.1, 0.5], "end": [0.9, 0.5]}]}
        entries = _did(h, lambda: h.client.patch("/api/cameras/street", json=line, headers=admin))
        assert [a for _, a, _, _ in entries] == ["camera.rules.change"]
        entries = _did(
            h, lambda: h.client.patch("/api/cameras/street", json={"name": "Via Roma"}, headers=admin)
        )
        assert [(a, d["changes"]["name"]["after"]) for _, a, _, d in entries] == [
            ("camera.update", "Via Roma")
        ]
        pets = {"id": "pets", "source": str(pets_video), "fps": 1}
        assert h.client.post("/api/cameras", json=pets, headers=admin).status_code == 201
        entries = _did(h, lambda: h.client.delete("/api/cameras/pets", headers=admin))
        assert [a for _, a, _, _ in entries] == ["camera.disable"]
        rule = {"name": "Crowd at street", "event_kinds": ["crowding"], "severity": "low"}
        entries = _did(h, lambda: h.client.post("/api/alert-rules", json=rule, headers=admin))
        assert [(a, s.split(":")[0]) for _, a, s, _ in entries] == [("alert_rule.create", "alert_rule")]
        rid = entries[0][2].split(":")[1]
        entries = _did(
            h, lambda: h.client.patch(f"/api/alert-rules/{rid}", json={"enabled": False}, headers=admin)
        )
        assert [a for _, a, _, _ in entries] == ["alert_rule.disable"]
        until = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        now = datetime.now(UTC)
        item = {
            "kind": "range",
            "camera_id": "street",
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": now.isoformat(),
        }
        lock = {"case_ref": "case-7", "reason": "court order 12", "expires_at": until, "items": [item]}
        entries = _did(h, lambda: h.client.post("/api/evidence-locks", json=lock, headers=admin))
        assert [(a, s) for _, a, s, _ in entries] == [("evidence.lock", "case:case-7")]
        lock_id = h.client.get("/api/evidence-locks", headers=admin).json()[0]["id"]
        release = {"reason": "case closed"}
        entries = _did(
            h, lambda: h.client.post(f"/api/evidence-locks/{lock_id}/release", json=release, headers=admin)
        )
        assert [a for _, a, _, _ in entries] == ["evidence.release"]


def test_refused_attempts_on_sensitive_routes_are_audited(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path) as h:
        viewer = {"Authorization": f"Bearer {h.token(h.user('viewer', username='nosy').username)}"}
        operator = {"Authorization": f"Bearer {h.token(h.user('operator', username='op').username)}"}
        before = _last_seq(h)
        attempts = [
            (viewer, "post", "/api/users", {"username": "x2", "password": TEST_PASSWORD, "roles": ["admin"]}),
            (viewer, "get", "/api/biometrics/watchlists", None),
            (viewer, "get", "/api/biometrics/audit", None),
            (operator, "get", "/api/media/clips/cam1/2026/x.mp4", None),  # media:read, not unredacted
        ]
        for headers, method, path, body in attempts:
            r = getattr(h.client, method)(path, headers=headers, **({"json": body} if body else {}))
            assert r.status_code == 403, (path, r.text)
        assert h.client.get("/api/incidents", headers=viewer).status_code == 403  # not sensitive: no entry
        refused = [e for e in _since(h, before) if e.action == "access.refused"]
        assert [(e.actor, e.subject) for e in refused] == [
            ("nosy", "POST /api/users"),
            ("nosy", "GET /api/biometrics/watchlists"),
            ("nosy", "GET /api/biometrics/audit"),
            ("op", "GET /api/media/clips/cam1/2026/x.mp4"),
        ]
        why = [json.loads(e.details) for e in refused]
        assert [w["permission"] for w in why] == [
            "users:manage",
            "watchlists:manage",
            "audit:read",
            "media:unredacted",
        ]
        assert all("viewer" in w["reason"] or "not redacted" in w["reason"] for w in why)
        with h.node.engine.connect() as conn:
            assert audit.verify(conn).ok  # signed and chained like every other entry


def test_user_changes_from_the_cli_are_audited(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"storage: {{data_dir: {tmp_path}}}\n")
    run = CliRunner().invoke
    r = run(cli, ["users", "create", "boss", "--role", "admin", "--password-stdin", "-c", str(settings)],
            input=TEST_PASSWORD + "\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert run(cli, ["users", "disable", "boss", "-c", str(settings)]).exit_code == 0
    url = f"sqlite:///{tmp_path / 'safecity.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(audit.LOG.c.actor, audit.LOG.c.action, audit.LOG.c.subject)))
    engine.dispose()
    assert [(a.split(":")[0], act, s) for a, act, s in rows] == [
        ("cli", "user.create", "user:boss"),
        ("cli", "user.disable", "user:boss"),
    ]
    assert run(cli, ["audit", "verify", "-c", str(settings)]).exit_code == 0
