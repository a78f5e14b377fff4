"""The second factor in a real browser (Debian chromium): an administrator's first login enrols (QR code,
first code, recovery codes shown once); the next login asks for a code, refuses a wrong one and lets the
right one in; the sessions dialog lists both browsers and "log out everywhere" signs both out; nothing
breaks the Content-Security-Policy. Codes come from pyotp with the secret the page
shows, as an authenticator app would compute them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from safecity.governance import audit
from support.api_harness import TEST_PASSWORD, ApiHarness, LiveServer

pytestmark = [pytest.mark.e2e]
WEB_DIST = Path(__file__).resolve().parents[2] / "src" / "safecity" / "web" / "dist"
CHROMIUM = Path(os.environ.get("SAFECITY_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiHarness, LiveServer]]:
    if not (WEB_DIST / "index.html").is_file() or not CHROMIUM.is_file():
        pytest.skip(f"needs the built UI ({WEB_DIST}) and Debian chromium ({CHROMIUM})")
    api = {"ui_dir": str(WEB_DIST), "two_factor_roles": ["admin", "supervisor", "investigator", "auditor"]}
    with ApiHarness.start(tmp_path_factory.mktemp("2fa"), api=api) as h, LiveServer.run(h.api) as live:
        h.user("admin", username="chief")
        yield h, live


def _password_step(page: object, url: str) -> None:
    page.goto(f"{url}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", "chief")  # type: ignore[attr-defined]
    page.fill("input[name=password]", TEST_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_enrol_then_sign_in_with_a_code(served: tuple[ApiHarness, LiveServer]) -> None:
    from playwright.sync_api import expect, sync_playwright

    h, live = served
    violations: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
        _password_step(page, live.url)
        qr = page.locator("img.totp-qr")
        expect(qr).to_be_visible(timeout=20_000)
        assert page.evaluate("document.querySelector('img.totp-qr').naturalWidth") > 0  # the QR rendered
        secret = page.locator("code.totp-secret").inner_text().strip()
        page.fill("input[name=code]", "000000")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("wrong", timeout=10_000)
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
        expect(page.locator(".recovery-codes li")).to_have_count(10, timeout=10_000)
        page.get_by_role("button", name="continue").click()
        expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible(timeout=20_000)

        second = browser.new_context().new_page()
        second.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
        _password_step(second, live.url)
        expect(second.get_by_text("Enter the 6-digit code")).to_be_visible(timeout=20_000)
        second.fill("input[name=code]", "123456")
        second.click("button[type=submit]")
        expect(second.get_by_role("alert")).to_contain_text("wrong", timeout=10_000)
        second.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))  # the next step's code
        second.click("button[type=submit]")
        expect(second.get_by_role("button", name="Log out", exact=True)).to_be_visible(timeout=20_000)

        second.get_by_role("button", name="Sessions").click()  # both browsers are listed
        expect(second.get_by_test_id("session-row")).to_have_count(2, timeout=10_000)
        second.get_by_role("button", name="Log out everywhere").click()
        expect(second.locator("input[name=password]")).to_be_visible(timeout=20_000)
        page.reload()  # the first browser is signed out too
        expect(page.locator("input[name=password]")).to_be_visible(timeout=20_000)
        browser.close()
    assert violations == []
    with h.node.engine.connect() as conn:
        actions = {r.action for r in audit.entries(conn, limit=100)}
    assert {"auth.2fa.enrol_started", "auth.2fa.enrol_failed", "auth.2fa.enabled", "auth.2fa.failed",
            "auth.2fa.verified"} <= actions  # fmt: skip
