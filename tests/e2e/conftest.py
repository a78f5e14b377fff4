"""Browser end-to-end fixtures: the real `safecity serve` on the PETS video, and Debian's headless chromium.

The service runs as a subprocess on a free port with a throw-away data directory; users are created with
the CLI (`safecity users create --password-stdin`), the field unit through the API. Playwright drives
`/usr/bin/chromium` by `executable_path` (never `playwright install`). Screenshots and the service log go
to `artifacts/e2e/` (gitignored); a failing test also leaves a screenshot of every page it had open.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from support.processes import free_port as _free_port
from support.processes import missing as _missing
from support.processes import safecity_bin as _safecity_bin

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
WEB_DIST = ROOT / "src" / "safecity" / "web" / "dist"
CHROMIUM = Path(os.environ.get("SAFECITY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CAMERA = "pets"
START_TIMEOUT_S = 90.0
PASSWORDS = {
    "admin": "e2e-admin-password-1",
    "operator": "e2e-operator-password-1",
    "field": "e2e-field-password-1",
}
ROLES = {"admin": "admin", "operator": "operator", "field": "field-unit"}
UNIT_CALL_SIGN = "Foot-1"


class Api:
    """A signed-in API client (cookie session + CSRF header), for set-up and for checking what the UI did."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        creds = {"username": username, "password": password}
        r = self.http.post(f"{base}/api/auth/login", json=creds, timeout=10)
        r.raise_for_status()
        self.me: dict[str, Any] = r.json()

    def _headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.http.cookies.get("safecity_csrf") or ""}

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(f"{self.base}{path}", params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    def send(self, method: str, path: str, body: Any) -> Any:
        r = self.http.request(method, f"{self.base}{path}", json=body, headers=self._headers(), timeout=30)
        if not r.ok:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None


@dataclass
class Service:
    base: str
    config: Path
    log: Path
    proc: subprocess.Popen[bytes]
    users: dict[str, int] = field(default_factory=dict)
    unit_id: int = 0
    camera: str = CAMERA
    unit_call_sign: str = UNIT_CALL_SIGN

    def api(self, who: str) -> Api:
        return Api(self.base, who, PASSWORDS[who])


def _write_config(tmp: Path, video: Path, model: Path, extra: dict[str, Any] | None = None) -> Path:
    settings: dict[str, Any] = {
        "storage": {"data_dir": str(tmp / "var")},
        "detector": {"model": str(model), "threads": 2},
        # the command-center tests sign in with passwords only; the second factor has its own browser
        # test (tests/e2e/test_two_factor_browser.py)
        "api": {"camera_dark_after_s": 30, "two_factor_roles": []},
        "cameras": [
            {
                "id": CAMERA,
                "name": "PETS2009 S2.L1 campus road",
                "source": str(video),
                "lat": 51.4408,
                "lon": -0.9415,
                "fps": 5,
                "loop": True,
                "lines": [
                    {
                        "id": "road-x550",
                        "name": "Road crossing",
                        "start": [550, 150],
                        "end": [550, 470],
                        "in_name": "eastbound",
                        "out_name": "westbound",
                        "classes": ["person"],
                    }
                ],
                # no crowding rule yet: the alert test turns it on (low threshold) once the operator watches
                "zones": [
                    {
                        "id": "road-west",
                        "name": "Road, west of the lamp post",
                        "polygon": [[120, 190], [420, 180], [420, 420], [120, 330]],
                        "classes": ["person"],
                    }
                ],
            }
        ],
    }
    settings.update(extra or {})  # a test module's own sections (SERVICE_SETTINGS)
    path = tmp / "e2e.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def _create_user(exe: str, config: Path, name: str) -> int:
    out = subprocess.run(
        [exe, "users", "create", name, "--role", ROLES[name], "--password-stdin", "-c", str(config)],
        input=PASSWORDS[name] + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, f"users create {name}: {out.stdout}{out.stderr}"
    return int(out.stdout.split("(id ")[1].split(")")[0])


def _wait_up(svc: Service) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            pytest.fail(f"safecity serve exited with {svc.proc.returncode}:\n{svc.log.read_text()[-4000:]}")
        try:
            if requests.get(f"{svc.base}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    pytest.fail(f"safecity serve did not answer within {START_TIMEOUT_S} s:\n{svc.log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# module scope: the service and Playwright's event loop (which the sync API leaves running in this thread)
# end with the e2e module, before the rest of the suite runs
@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pets_video: Path,
    nanodet_model: Path,
    artifacts: Path,
) -> Iterator[Service]:
    if not (WEB_DIST / "index.html").is_file():
        _missing(f"the web UI is not built ({WEB_DIST}): cd src/safecity/web && npm ci && npm run build")
    tmp = tmp_path_factory.mktemp("e2e")
    config = _write_config(tmp, pets_video, nanodet_model, getattr(request.module, "SERVICE_SETTINGS", None))
    exe = _safecity_bin()
    users = {name: _create_user(exe, config, name) for name in PASSWORDS}
    port = _free_port()
    log = artifacts / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [exe, "serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    svc = Service(f"http://127.0.0.1:{port}", config, log, proc, users)
    try:
        _wait_up(svc)
        admin = svc.api("admin")
        body = {"call_sign": UNIT_CALL_SIGN, "kind": "foot_patrol", "user_id": users["field"]}
        unit = admin.send("POST", "/api/units", body)
        svc.unit_id = int(unit["id"])
        yield svc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} not found: apt-get install chromium (scripts/apt-packages.txt)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


class Contexts:
    """Browser contexts of one test; pages collect JavaScript errors, which fail the test."""

    def __init__(self, browser: Any, base: str, artifacts: Path, test: str) -> None:
        self.browser = browser
        self.base = base
        self.artifacts = artifacts
        self.test = test
        self.contexts: list[Any] = []
        self.pages: list[Any] = []
        self.errors: list[str] = []

    def page(self, *, phone: bool = False, timezone_id: str = "UTC") -> Any:
        opts: dict[str, Any] = {"base_url": self.base, "locale": "en-GB", "timezone_id": timezone_id}
        if phone:
            opts |= {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
        else:
            opts |= {"viewport": {"width": 1440, "height": 900}}
        ctx = self.browser.new_context(**opts)
        ctx.set_default_timeout(20_000)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        self.pages.append(page)
        return page

    def login(self, page: Any, who: str) -> None:
        page.goto("/login")
        page.locator("input[name=username]").fill(who)
        page.locator("input[name=password]").fill(PASSWORDS[who])
        page.get_by_role("button", name="Sign in").click()

    def shot(self, page: Any, name: str) -> Path:
        path = self.artifacts / f"{self.test}-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    def close(self, failed: bool) -> None:
        for i, page in enumerate(self.pages):
            if failed and not page.is_closed():
                # the page may be gone with the browser; the test has failed already
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(self.artifacts / f"{self.test}-FAILED-{i}.png"))
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def ui(request: pytest.FixtureRequest, browser: Any, service: Service, artifacts: Path) -> Iterator[Contexts]:
    c = Contexts(browser, service.base, artifacts, request.node.name.removeprefix("test_"))
    try:
        yield c
    finally:
        c.close(request.node.stash.get(FAILED, False))
    assert not c.errors, "JavaScript errors in the UI:\n" + "\n".join(c.errors)
