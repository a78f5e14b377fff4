"""Shared test fixtures: where the real test data lives, and the installed models."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


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
