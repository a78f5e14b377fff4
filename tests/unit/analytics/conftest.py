"""Fixtures of the analytics tests: a migrated store (SQLite, or PostgreSQL in CI's `db` pass)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.analytics_fixtures import Seed


@pytest.fixture
def seed(database_url: str, tmp_path: Path) -> Iterator[Seed]:
    s = Seed.open(database_url, tmp_path)
    try:
        yield s
    finally:
        s.close()
