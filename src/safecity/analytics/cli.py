"""`safecity analytics ...`: the lake export, the daily report, anomalies and aggregate queries.

Run from cron or a systemd timer where no `safecity serve` runs the scheduled jobs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safecity.analytics.config import Metric

if TYPE_CHECKING:
    from safecity.analytics.service import Analytics

analytics_app = typer.Typer(
    help="Urban analytics: Parquet export, daily report, anomalies, aggregates.", no_args_is_help=True
)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Settings YAML (default: embedded)")]


def _analytics(config: Path | None) -> Analytics:
    from safecity.analytics.service import Analytics
    from safecity.config import ConfigError, Settings, load_settings
    from safecity.store import make_engine, upgrade

    try:
        settings = Settings() if config is None else load_settings(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    url = settings.storage.resolved_database_url
    upgrade(url)
    return Analytics(settings.analytics, make_engine(url), settings.storage.data_dir)


def _day(value: str | None, default: date, name: str) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from exc


@analytics_app.command("export")
def export(
    config: ConfigOpt = None,
    since: Annotated[str | None, typer.Option(help="First UTC day (default: yesterday)")] = None,
    until: Annotated[str | None, typer.Option(help="Last UTC day, inclusive (default: since)")] = None,
) -> None:
    """Write whole UTC days of events into the Parquet lake (day=/camera= partitions), replacing them."""
    a = _analytics(config)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = _day(since, yesterday, "--since")
    last = _day(until, first, "--until")
    if last < first:
        raise typer.BadParameter("--until is before --since", param_hint="--until")
    result = a.export([first + timedelta(days=i) for i in range((last - first).days + 1)])
    typer.echo(f"{a.lake_dir}: {len(result.days)} day(s), {result.events} events, {result.cells} grid cells")


@analytics_app.command("report")
def report(
    config: ConfigOpt = None,
    day: Annotated[str | None, typer.Option(help="Local day YYYY-MM-DD (default: yesterday)")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory (default: the reports directory)")] = None,
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="Default: analytics.report.pdf")] = None,
) -> None:
    """Write the daily report of a local day as HTML (and PDF)."""
    from zoneinfo import ZoneInfo

    from safecity.analytics.report import write_daily

    a = _analytics(config)
    today = datetime.now(ZoneInfo(a.cfg.timezone)).date()
    done = write_daily(a, _day(day, today - timedelta(days=1), "--day"), out, pdf)
    typer.echo(str(done.html))
    if done.pdf is not None:
        typer.echo(str(done.pdf))


@analytics_app.command("anomalies")
def anomalies(
    config: ConfigOpt = None,
    hour: Annotated[str | None, typer.Option(help="ISO 8601 hour, UTC if no offset (default: last)")] = None,
) -> None:
    """Print the anomalies of one hour as JSON lines (the running service publishes them as alerts)."""
    from safecity.analytics.service import whole_hour

    a = _analytics(config)
    if hour is None:
        at = whole_hour(datetime.now(UTC)) - timedelta(hours=1)
    else:
        t = datetime.fromisoformat(hour)
        at = whole_hour(t if t.tzinfo else t.replace(tzinfo=UTC))
    for found in a.anomalies(at, None):
        typer.echo(found.model_dump_json())


@analytics_app.command("query")
def query(
    metric: Annotated[Metric, typer.Argument(help="footfall, crossings, presence or crowding")],
    config: ConfigOpt = None,
    since: Annotated[
        str | None, typer.Option(help="ISO 8601, UTC if no offset (default: until - 1 day)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601, UTC if no offset (default: now)")] = None,
    bucket: Annotated[str, typer.Option(help="hour or day")] = "hour",
) -> None:
    """Print a metric's series as JSON (aggregates only, small counts suppressed)."""

    def parse(value: str | None, default: datetime) -> datetime:
        if value is None:
            return default
        t = datetime.fromisoformat(value)
        return t if t.tzinfo else t.replace(tzinfo=UTC)

    if bucket not in ("hour", "day"):
        raise typer.BadParameter("hour or day", param_hint="--bucket")
    a = _analytics(config)
    end = parse(until, datetime.now(UTC))
    result = a.series(
        metric, parse(since, end - timedelta(days=1)), end, None, None, "hour" if bucket == "hour" else "day"
    )
    typer.echo(json.dumps(json.loads(result.model_dump_json()), indent=2))
