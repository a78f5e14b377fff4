"""Admin UI, camera access in a real browser (issue 16): editing a user who has no cameras must not grant
every camera, and "no cameras" can be chosen and is kept. The real service, Debian's chromium."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.models, pytest.mark.timeout(300)]


def _cameras_of(admin: Any, username: str) -> Any:
    return next(u for u in admin.get("/api/users") if u["username"] == username)["cameras"]


def _edit(page: Any, username: str) -> Any:
    row = page.locator(f"[data-testid=users-table] tr[data-username={username}]")
    row.get_by_role("button", name="Edit").click()
    form = page.locator("#user-form")
    form.wait_for()
    return form


def _save(page: Any) -> None:
    page.get_by_role("button", name="Save").click()
    page.locator("#user-form").wait_for(state="detached")


def test_no_cameras_is_kept_when_a_user_is_edited(ui: Any, service: Any) -> None:
    from playwright.sync_api import expect

    admin = service.api("admin")
    body = {"username": "nocams", "password": "a long enough password", "roles": ["operator"], "cameras": []}
    admin.send("POST", "/api/users", body)
    page = ui.page()
    ui.login(page, "admin")
    expect(page.get_by_test_id("current-user")).to_contain_text("admin")
    page.goto("/admin/users")
    expect(page.locator("tr[data-username=nocams] [data-testid=user-cameras]")).to_have_text("none")

    # the attack: change only the display name of a user with no cameras, save
    form = _edit(page, "nocams")
    expect(form.get_by_test_id("camera-access")).to_have_value("none")
    form.locator("input[name=display_name]").fill("Night shift, no cameras")
    _save(page)
    assert _cameras_of(admin, "nocams") == []  # not null (= every camera)
    expect(page.locator("tr[data-username=nocams] [data-testid=user-cameras]")).to_have_text("none")

    # "no cameras" chosen for a user who had every camera, then a list
    assert _cameras_of(admin, "operator") is None
    _edit(page, "operator").get_by_test_id("camera-access").select_option("none")
    _save(page)
    assert _cameras_of(admin, "operator") == []
    form = _edit(page, "operator")
    form.get_by_test_id("camera-access").select_option("list")
    form.locator("input[name=cameras]").fill(service.camera)
    _save(page)
    assert _cameras_of(admin, "operator") == [service.camera]
    ui.shot(page, "users")
