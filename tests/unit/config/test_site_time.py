"""Times for people in the site's zone with its label (safecity.sitetime), and the CLI that prints them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safecity.cli import app as cli
from safecity.sitetime import parse_site_time, site_text
from safecity.store import open_store
from safecity.types import Event, EventKind

WINTER, SUMMER = datetime(2026, 1, 15, 9, 0, tzinfo=UTC), datetime(2026, 7, 15, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "when", "text"),
    [
        ("UTC", WINTER, "2026-01-15 09:00:00 UTC"),
        ("Europe/Rome", WINTER, "2026-01-15 10:00:00 CET"),
        ("Europe/Rome", SUMMER, "2026-07-15 11:00:00 CEST"),  # daylight saving time
        ("America/Sao_Paulo", WINTER, "2026-01-15 06:00:00 GMT-3"),  # no abbreviation: the offset
        ("Asia/Kathmandu", WINTER, "2026-01-15 14:45:00 GMT+5:45"),
    ],
)
def test_site_text_converts_and_labels(zone: str, when: datetime, text: str) -> None:
    assert site_text(when, zone) == text


def test_a_time_without_offset_is_the_sites_wall_clock() -> None:
    assert parse_site_time("2026-01-15T10:00", "Europe/Rome") == WINTER
    assert parse_site_time("2026-07-15T11:00:00", "Europe/Rome") == SUMMER
    assert parse_site_time("2026-01-15T09:00:00+00:00", "Europe/Rome") == WINTER  # an offset wins
    # daylight-saving edges, as the UI reads them (tests/unit/web/format_check.ts): a skipped time takes the
    # offset before the change, a repeated one is the first
    assert parse_site_time("2026-03-29T02:30", "Europe/Rome") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert parse_site_time("2026-10-25T02:30", "Europe/Rome") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_site_time("yesterday", "Europe/Rome")


def test_events_cli_prints_site_time_with_label_and_reads_site_wall_clock(tmp_path: Path) -> None:
    cfg = tmp_path / "safecity.yaml"
    cfg.write_text(f"storage: {{data_dir: {tmp_path}}}\nsite: {{timezone: Europe/Rome}}\n")
    from safecity.config import load_settings

    store = open_store(load_settings(cfg).storage.resolved_database_url)
    try:
        times = (WINTER, datetime(2026, 1, 15, 8, 0, tzinfo=UTC))
        store.append([Event(camera_id="cam1", kind=EventKind.LOITERING, start=t, end=t) for t in times])
    finally:
        store.close()
    # 10:00 in Rome is 09:00 UTC: only the later event is at or after it
    r = CliRunner().invoke(cli, ["events", "-c", str(cfg), "--since", "2026-01-15T10:00"])
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stdout.splitlines() if "cam1" in line]
    assert len(lines) == 1 and lines[0].startswith("2026-01-15 10:00:00 CET cam1 loitering")
