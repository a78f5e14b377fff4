"""Fixtures of the API tests: a running API (lifespan included) on a real SQLite database in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.api_harness import ApiHarness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path) as h:
        yield h
