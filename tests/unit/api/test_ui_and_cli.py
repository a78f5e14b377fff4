"""The static UI (built or not), security headers, and `safecity users ...` on a real database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from safecity.cli import app as cli
from support.api_harness import ApiHarness


def test_ui_not_built_answers_a_clear_503_page(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, api={"ui_dir": str(tmp_path / "nowhere")}) as h:
        r = h.client.get("/")
        assert (
            r.status_code == 503
            and "scripts/install.sh" in r.text
            and "text/html" in r.headers["content-type"]
        )
        assert h.client.get("/healthz").json() == {"status": "ok"}


def test_built_ui_is_served_with_spa_fallback_but_api_paths_stay_json(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app></div>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for you")
    with ApiHarness.start(tmp_path / "data", api={"ui_dir": str(dist)}) as h:
        r = h.client.get("/")
        assert r.status_code == 200 and "id=app" in r.text and r.headers["x-frame-options"] == "DENY"
        assert h.client.get("/incidents/42").text == r.text  # client-side route
        js = h.client.get("/assets/app-1234.js")
        assert js.text == "console.log(1)" and "immutable" in js.headers["cache-control"]
        assert h.client.get("/assets/missing.js").status_code == 404
        assert h.client.get("/../secret.txt").status_code in (200, 404)
        assert "not for you" not in h.client.get("/%2e%2e/secret.txt").text
        r = h.client.get("/api/nothing-here")
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
        api = h.client.get("/api/auth/me")
        assert (
            api.headers["cache-control"] == "no-store" and api.headers["x-content-type-options"] == "nosniff"
        )


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "safecity.yaml"
    cfg.write_text(f"storage: {{data_dir: {tmp_path / 'var'}}}\n")
    return cfg


def test_users_cli_create_list_set_password_disable(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    run = CliRunner().invoke
    r = run(
        cli, ["users", "create", "chief", "--role", "admin", "-c", cfg, "--password-stdin"], input="short\n"
    )
    assert r.exit_code == 2 and "at least 12" in r.output
    r = run(
        cli,
        [
            "users",
            "create",
            "Chief",
            "--role",
            "admin",
            "--role",
            "auditor",
            "--display-name",
            "The Chief",
            "--cameras",
            "gate-1,plaza",
            "-c",
            cfg,
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert r.exit_code == 0, r.output
    assert "created user chief" in r.output
    r = run(
        cli,
        ["users", "create", "chief", "-r", "viewer", "-c", cfg, "--password-stdin"],
        input="x" * 20 + "\n",
    )
    assert r.exit_code == 2 and "already exists" in r.output
    r = run(
        cli, ["users", "create", "bob", "-r", "wizard", "-c", cfg, "--password-stdin"], input="x" * 20 + "\n"
    )
    assert r.exit_code == 2 and "unknown role" in r.output
    r = run(
        cli,
        ["users", "create", "eve", "-r", "viewer", "-c", cfg],
        input="prompted password\nprompted password\n",
    )
    assert r.exit_code == 0, r.output
    listing = run(cli, ["users", "list", "-c", cfg]).output
    assert (
        "chief" in listing and "admin,auditor" in listing and "gate-1,plaza" in listing and "eve" in listing
    )
    r = run(
        cli, ["users", "set-password", "eve", "-c", cfg, "--password-stdin"], input="a brand new password\n"
    )
    assert r.exit_code == 0, r.output
    assert run(cli, ["users", "disable", "eve", "-c", cfg]).exit_code == 0
    assert "disabled" in run(cli, ["users", "list", "-c", cfg]).output
    assert run(cli, ["users", "disable", "nobody", "-c", cfg]).exit_code == 2

    with ApiHarness.start(tmp_path / "var") as h:  # the same database, through the API
        assert (
            h.client.post(
                "/api/auth/login", json={"username": "eve", "password": "a brand new password"}
            ).status_code
            == 401
        )
        r = h.client.post("/api/auth/login", json={"username": "chief", "password": "a long enough password"})
        assert r.status_code == 200 and r.json()["display_name"] == "The Chief"


def test_server_logs_hide_api_tokens_in_urls() -> None:
    import logging

    from safecity.api.serve import RedactTokens, log_config

    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws?token=sc_secretvalue&x=1"), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /ws?token=***&x=1" [accepted]'
    config = log_config()
    assert all("redact_tokens" in h["filters"] for h in config["handlers"].values())
