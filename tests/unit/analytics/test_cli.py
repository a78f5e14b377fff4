"""`safecity analytics export | report | anomalies | query` on a seeded store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from safecity.cli import app
from support.analytics_fixtures import MONDAY, Seed


def config(tmp_path: Path) -> Path:
    path = tmp_path / "safecity.yaml"
    path.write_text(f"storage: {{data_dir: {tmp_path}}}\nanalytics: {{report: {{pdf: false}}}}\n")
    return path


def test_export_query_report_and_anomalies(tmp_path: Path) -> None:
    seed = Seed.open(f"sqlite:///{(tmp_path / 'safecity.db').resolve()}", tmp_path)
    seed.enter("cam1", "plaza", MONDAY, n=9)
    seed.flush()
    seed.close()
    cfg, run = str(config(tmp_path)), CliRunner()
    day = MONDAY.date().isoformat()
    res = run.invoke(app, ["analytics", "export", "-c", cfg, "--since", day])
    assert res.exit_code == 0, res.output
    assert "1 day(s), 9 events" in res.output and (tmp_path / "lake" / "events" / f"day={day}").is_dir()
    until = (MONDAY + timedelta(hours=2)).isoformat()
    res = run.invoke(
        app, ["analytics", "query", "footfall", "-c", cfg, "--since", MONDAY.isoformat(), "--until", until]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["total"] == 9
    res = run.invoke(app, ["analytics", "report", "-c", cfg, "--day", day])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "reports" / f"report-{day}.html").is_file()
    res = run.invoke(app, ["analytics", "anomalies", "-c", cfg, "--hour", MONDAY.isoformat()])
    assert res.exit_code == 0 and res.stdout == ""  # no history: nothing to judge
    res = run.invoke(app, ["analytics", "export", "-c", cfg, "--since", "yesterday"])
    assert res.exit_code == 2 and "not a date" in res.output
