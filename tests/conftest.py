"""Shared test fixtures: where the real test data lives, and the installed models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Honest CI: under CI=1 every skip is a failure, and the skips are counted (tests/support/no_skip.py).
from support.no_skip import (  # noqa: F401
    pytest_make_collect_report,
    pytest_runtest_makereport,
    pytest_terminal_summary,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()

# Processes the tests start (`safecity serve`, workers) import this checkout's code, as the tests do.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pets_video(shared_data: Path) -> Path:
    path = shared_data / "video" / "pets09-s2l1-vtest.avi"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


@pytest.fixture(scope="session")
def nanodet_model() -> Path:
    """The installed NanoDet model; CI installs it, so there a missing model is a failure, not a skip."""
    import os

    from safecity.vision.models import ModelNotInstalledError, default_cache_dir, model_path

    try:
        return model_path(default_cache_dir(), "nanodet-m-416")
    except ModelNotInstalledError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


# --- the store under test: SQLite by default, PostgreSQL when CI asks (scale-out issue) -----------------

TEST_DATABASE_ENV = "SAFECITY_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty store URLs (for fixtures wider than one test; see `database_url`).

    Each call gives a new SQLite file; or, when $SAFECITY_TEST_DATABASE_URL names a PostgreSQL database
    (CI's second pass), a new schema in it (via search_path), all dropped at the end of the session.
    A URL that is set but unreachable fails: it was asked for explicitly.
    """
    import os
    import uuid

    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        root = tmp_path_factory.mktemp("db")
        yield lambda: f"sqlite:///{root / uuid.uuid4().hex}.db"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{TEST_DATABASE_ENV} must be a postgresql:// URL, got {base}")
    try:
        admin = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                                autocommit=True, connect_timeout=5)  # fmt: skip
    except psycopg.Error as exc:
        pytest.fail(f"{TEST_DATABASE_ENV}={base}: cannot connect: {exc}")
    schemas: list[str] = []

    def new_url() -> str:
        schemas.append(f"t_{uuid.uuid4().hex[:16]}")
        admin.execute(f'CREATE SCHEMA "{schemas[-1]}"')
        options = {"options": f"-csearch_path={schemas[-1]}"}
        return url.update_query_dict(options).render_as_string(hide_password=False)

    with admin:
        try:
            yield new_url
        finally:
            for schema in schemas:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database_url(database_urls: Callable[[], str]) -> str:
    """A fresh store URL for one test: SQLite, or PostgreSQL in CI's second pass (`database_urls`).

    Every test that uses it (or `database_urls`) is marked `db` by the hook below, and CI runs
    `pytest -m db` again with SAFECITY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test.
    """
    return database_urls()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use `database_url(s)` with `db`, so CI can run them again on PostgreSQL."""
    for item in items:
        if "database_urls" in getattr(item, "fixturenames", ()):  # the closure: direct or indirect use
            item.add_marker(pytest.mark.db)


# --- services of the scale-out tests (NATS JetStream, Mosquitto) -----------------------------------------


def _tcp_reachable(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def nats_url() -> str:
    """NATS with JetStream at 127.0.0.1:4222 (or $SAFECITY_TEST_NATS_URL); skips when unreachable.

    Tests create their streams and buckets under unique names and delete them afterwards."""
    import os
    from urllib.parse import urlsplit

    url = os.environ.get("SAFECITY_TEST_NATS_URL", "nats://127.0.0.1:4222")
    parts = urlsplit(url)
    if not _tcp_reachable(parts.hostname or "127.0.0.1", parts.port or 4222):
        pytest.skip(f"NATS server unreachable at {url} (start it: see .ci/run)")
    return url


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    """Mosquitto at 127.0.0.1:1883 (host, port); skips when unreachable."""
    if not _tcp_reachable("127.0.0.1", 1883):
        pytest.skip("MQTT broker unreachable at 127.0.0.1:1883 (start it: see .ci/run)")
    return "127.0.0.1", 1883


# --- recordings (data center issue) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def pets_h264(pets_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PETS2009 sample re-encoded as an H.264 MP4 (768x576, 10 fps, 79.5 s, keyframe every 2 s), the
    stream an IP camera sends; made once per session with ffmpeg (Debian package), skipped without it."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed (Debian package ffmpeg)")
    clip = tmp_path_factory.mktemp("pets-h264") / "pets.mp4"
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(pets_video), "-c:v", "libx264",
           "-preset", "veryfast", "-g", "20", "-an", str(clip)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=120)
    return clip
