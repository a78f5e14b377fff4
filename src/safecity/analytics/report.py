"""The daily report: one self-contained HTML page per local day (inline SVG charts, no scripts), and
its PDF printed by headless Chromium (Debian's `chromium`, which the UI tests install anyway).

Per site (or one "all cameras" section when no site is configured): footfall, people present,
crowding episodes and anomalies, vehicles per class (crossings per direction, zone arrivals), incidents
by type, response times, the day against the day before,
the busiest hours; then line counts per class and direction. Aggregates only, suppressed like every
other analytics output ("<k" where a count is below `min_count`).
"""

from __future__ import annotations

import html
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from safecity.analytics.config import SiteConfig
from safecity.analytics.dashboard import SiteDashboard, Stat
from safecity.analytics.queries import VEHICLE_NAMES
from safecity.analytics.results import Comparison, Count, PeakHours, SeriesResult, VehicleClass
from safecity.analytics.service import Analytics, Cameras

PDF_TIMEOUT_S = 120
CSS = """
body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}.note{color:#666;font-size:12px}
section{page-break-inside:avoid}
"""


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    html: Path
    pdf: Path | None


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)


def _esc(value: object) -> str:
    return html.escape(str(value))


def _n(value: Count | float, k: int) -> str:
    return f"&lt;{k}" if value is None else _esc(value)


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.0f} s"


def bar_chart(values: Sequence[Count], labels: Sequence[str], width: int = 640, height: int = 140) -> str:
    """An inline SVG bar chart; suppressed values are drawn as empty outlines."""
    top = max([v for v in values if v is not None] + [1])
    step = width / max(len(values), 1)
    bars = []
    for i, v in enumerate(values):
        x = i * step + 1
        if v is None:
            bars.append(
                f'<rect x="{x:.1f}" y="{height - 20 - 4}" width="{step - 2:.1f}" height="4" fill="#ddd"/>'
            )
        else:
            h = (height - 24) * v / top
            y = height - 20 - h
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 2:.1f}" height="{h:.1f}" fill="#3b7dd8"/>'
            )
        if i % max(1, len(values) // 12) == 0:
            bars.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="10">{_esc(labels[i])}</text>')
    return f'<svg width="{width}" height="{height}" role="img">{"".join(bars)}</svg>'


def _hourly(result: SeriesResult) -> list[Count]:
    """Totals per local hour of the day over all series (None when below min_count)."""
    hours: list[int] = [0] * 24
    seen = [False] * 24
    for s in result.series:
        for p in s.points:
            if p.value is not None:
                hours[p.at.hour] += p.value
                seen[p.at.hour] = True
    return [h if ok and h >= result.min_count else None for h, ok in zip(hours, seen, strict=True)]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _stat_row(name: str, stat: Stat, k: int) -> list[str]:
    return [name, _n(stat.n, k), _secs(stat.p50_s), _secs(stat.p90_s)]


def _directions(c: VehicleClass, k: int) -> str:
    return ", ".join(f"{_esc(x.direction)} {_n(x.count, k)}" for x in c.by_direction) or "-"


def _site_section(d: SiteDashboard, cmp: Comparison, peaks: PeakHours) -> str:
    k, t, r = d.min_count, cmp.total, d.response
    kpis = _table(
        ["Footfall (zone entries)", "People present (sum of samples)", "Crowding episodes", "Unusual levels",
         "Incidents"],
        [[_n(d.footfall.total, k), _n(d.presence.total, k), _n(d.crowding.episodes, k),
          _n(d.crowding.anomalies, k), _n(d.incidents.total, k)]],
    )  # fmt: skip
    types = _table(["Type", "Incidents"], [[_esc(x.type), _n(x.count, k)] for x in d.incidents.by_type])
    times = _table(
        ["", "Incidents", "Median", "90th pct"],
        [_stat_row("Report to dispatch", r.report_to_dispatch, k),
         _stat_row("Dispatch to on scene", r.dispatch_to_scene, k),
         _stat_row("Report to on scene", r.report_to_scene, k)],
    )  # fmt: skip
    vehicles = _table(
        ["Vehicles", "Line crossings", "Per direction", "Zone arrivals"],
        [[VEHICLE_NAMES[c.label], _n(c.crossings, k), _directions(c, k), _n(c.arrivals, k)]
         for c in d.vehicles.classes],
    )  # fmt: skip
    delta = "" if t.delta is None else f" ({t.delta:+d})"
    busiest = ", ".join(f"{h:02d}:00" for h in peaks.peaks) or "-"
    chart = bar_chart(_hourly(d.footfall), [f"{h:02d}" for h in range(24)])
    return (
        f"<section><h2>{_esc(d.site.name)}</h2>"
        f"<p class='note'>Cameras: {_esc(', '.join(d.site.cameras) or 'none visible')}</p>{kpis}"
        f"<p>Footfall against the day before: {_n(t.current, k)} vs {_n(t.previous, k)}{delta}. "
        f"Busiest hours: {busiest}.</p><h3>Footfall by hour</h3>{chart}"
        f"<h3>Vehicles</h3>{vehicles}<h3>Incidents by type</h3>{types}"
        f"<h3>Response times</h3>{times}</section>"
    )


def _lines_section(result: SeriesResult, previous: Comparison) -> str:
    k = result.min_count
    rows = "".join(
        f"<tr><td>{_esc(c.key.camera_id)} / {_esc(c.key.line_id)}</td><td>{_esc(c.key.label)}</td>"
        f"<td>{_esc(c.key.direction)}</td><td>{_n(c.current, k)}</td><td>{_n(c.previous, k)}</td></tr>"
        for c in previous.changes
        if c.key is not None
    )
    return (
        "<section><h2>Line counts</h2><table><tr><th>Line</th><th>Class</th><th>Direction</th>"
        f"<th>Day</th><th>Day before</th></tr>{rows}</table></section>"
    )


def render(analytics: Analytics, day: date, cameras: Cameras = None) -> str:
    """The report of local `day` as one HTML document."""
    cfg = analytics.cfg
    since, until = day_bounds(day, cfg.timezone)
    sites = list(cfg.sites) or [_all_cameras_site(analytics, since, until, cameras)]
    sections = []
    for site in sites:
        visible = frozenset(analytics.site_cameras(site, cameras))
        d = analytics.dashboard(site, since, until, cameras)
        cmp = analytics.compare("footfall", since, until, visible)
        peaks = analytics.peak_hours("footfall", since, until, visible)
        sections.append(_site_section(d, cmp, peaks))
    lines = analytics.series("crossings", since, until, cameras, bucket="day")
    sections.append(_lines_section(lines, analytics.compare("crossings", since, until, cameras)))
    title = f"Daily report {day.isoformat()}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title><style>{CSS}</style>"
        f"</head><body><h1>{_esc(title)}</h1><p class='note'>Time zone {_esc(cfg.timezone)}. Aggregates "
        f"only; counts below {cfg.min_count} are shown as &lt;{cfg.min_count}. Generated "
        f"{datetime.now(ZoneInfo(cfg.timezone)).isoformat(timespec='minutes')}.</p>{''.join(sections)}</body></html>"
    )


def _all_cameras_site(analytics: Analytics, since: datetime, until: datetime, cameras: Cameras) -> SiteConfig:
    found = analytics.run(
        analytics._window(since, until, cameras, None),
        lambda con: [
            r[0] for r in con.execute("SELECT DISTINCT camera_id FROM events ORDER BY 1").fetchall()
        ],
    )
    return SiteConfig(id="all", name="All cameras", cameras=tuple(found) or ("none",))


def print_pdf(html_path: Path, pdf_path: Path, chromium: str = "chromium") -> Path:
    """Print `html_path` to `pdf_path` with headless Chromium; RuntimeError with its output on failure."""
    cmd = [
        chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer",
        f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri(),
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise RuntimeError(f"no Chromium at {chromium!r}: install Debian's chromium for PDF reports") from exc
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"chromium could not print {html_path}: {done.stderr[-2000:]}")
    return pdf_path


def write_daily(
    analytics: Analytics, day: date, out_dir: Path | None = None, pdf: bool | None = None
) -> DailyReport:
    """Write `report-<day>.html` (and `.pdf`) into `out_dir` (default: the reports directory)."""
    out = out_dir or analytics.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"report-{day.isoformat()}.html"
    html_path.write_text(render(analytics, day), encoding="utf-8")
    want_pdf = analytics.cfg.report.pdf if pdf is None else pdf
    pdf_path = (
        print_pdf(html_path, out / f"report-{day.isoformat()}.pdf", analytics.cfg.report.chromium)
        if want_pdf
        else None
    )
    return DailyReport(day, html_path, pdf_path)
