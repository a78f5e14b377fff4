"""The daily report (HTML, PDF by headless Chromium) and the scheduled jobs that produce it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from safecity.analytics import lake
from safecity.analytics.report import bar_chart, print_pdf, render, write_daily
from safecity.analytics.runtime import AnalyticsJobs
from safecity.types import Event, EventKind
from support.analytics_fixtures import MONDAY, Seed


def busy_day(seed: Seed) -> None:
    seed.enter("cam1", "plaza", MONDAY, n=30)
    seed.enter("cam1", "plaza", MONDAY + timedelta(hours=5), n=3)
    seed.enter("cam1", "plaza", MONDAY - timedelta(days=1), n=10)
    seed.cross("cam1", "road", MONDAY, n=8, label="car", direction="north")
    seed.flush()


def test_report_html_aggregates_only(seed: Seed) -> None:
    busy_day(seed)
    page = render(seed.analytics(timezone="Europe/Rome"), MONDAY.date())
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert "All cameras" in page and "<svg" in page and "Line counts" in page
    assert "33 vs 10 (+23)" in page and "Busiest hours: 10:00" in page  # 09:00 UTC = 10:00 in Rome
    assert "&lt;5" in page  # the 3 people at 15:00 are below min_count
    assert "track" not in page.lower()
    assert "<h3>Vehicles</h3>" in page and "<td>Cars and taxis</td><td>8</td><td>north 8</td>" in page


def test_bar_chart_draws_suppressed_bars_as_outlines() -> None:
    svg = bar_chart([10, None, 5], ["a", "b", "c"])
    assert svg.count("<rect") == 3 and svg.count('fill="#ddd"') == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_pdf_is_printed_by_chromium(seed: Seed) -> None:
    busy_day(seed)
    done = write_daily(seed.analytics(), MONDAY.date(), pdf=True)
    assert done.html.is_file() and done.pdf is not None
    assert done.pdf.read_bytes()[:5] == b"%PDF-" and done.pdf.stat().st_size > 1000
    with pytest.raises(RuntimeError, match="no Chromium"):
        print_pdf(done.html, done.html.with_suffix(".x.pdf"), chromium="/nonexistent/chromium")


class ListBus:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def subscribe(self, handler: object, durable: str | None = None) -> object:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_jobs_publish_anomalies_export_the_lake_and_write_the_report_once(seed: Seed) -> None:
    hour = MONDAY + timedelta(weeks=3)
    for w in range(3, 0, -1):
        seed.sample("cam1", hour - w * timedelta(weeks=1), tracks=0)
        seed.enter("cam1", "plaza", hour - w * timedelta(weeks=1), n=20)
    seed.enter("cam1", "plaza", hour, n=90)
    seed.flush()
    a = seed.analytics(report={"pdf": False, "at_hour": 2})
    bus = ListBus()
    jobs = AnalyticsJobs(a, bus)  # type: ignore[arg-type]
    early = jobs.tick(hour + timedelta(hours=1, minutes=5))  # 10:05 UTC: the 09:00 hour just ended
    assert early.anomalies == 1 and [e.kind for e in bus.events] == [EventKind.ANOMALY]
    assert early.report is None or early.report == (hour - timedelta(days=1)).date()
    again = jobs.tick(hour + timedelta(hours=1, minutes=30))
    assert again.anomalies == 0 and len(bus.events) == 1  # the same hour is judged once
    next_day = datetime.combine(hour.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
        hours=3
    )
    done = jobs.tick(next_day)
    assert done.report == hour.date() and (a.reports_dir / f"report-{hour.date()}.html").is_file()
    assert hour.date() in lake.lake_days(a.lake_dir)
    assert jobs.tick(next_day + timedelta(minutes=1)).report is None  # written once
