"""`safecity retention run [--dry-run] -c FILE`: prints per class what it would delete / deleted."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from safecity.cli import app
from safecity.media.storage import LocalMediaStorage
from safecity.recording.index import SEGMENTS, segment_key
from safecity.store import make_engine, upgrade


def test_dry_run_then_run(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("storage: {data_dir: data}\nretention: {recordings: {days: 7}}\n")
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'safecity.db'}"
    upgrade(url)
    engine = make_engine(url)
    media = LocalMediaStorage(data / "media")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for age in (30, 20, 1):
            seg_id, start = uuid.uuid4().hex, now - timedelta(days=age)
            key = media.put(segment_key("cam1", start, seg_id), os.urandom(2_000_000))
            conn.execute(
                SEGMENTS.insert().values(
                    id=seg_id,
                    camera_id="cam1",
                    start=start,
                    end=start + timedelta(minutes=1),
                    key=key,
                    bytes=2_000_000,
                    codec="h264",
                    width=1,
                    height=1,
                    transcoded=False,
                    status="complete",
                    created_at=start,
                )
            )
    engine.dispose()
    runner = CliRunner()
    dry = runner.invoke(app, ["retention", "run", "--dry-run", "-c", str(config)])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing deleted" in dry.output and "recordings: would delete 2, 4.0 MB" in dry.output
    assert len(list(media.list_objects("recordings"))) == 3
    real = runner.invoke(app, ["retention", "run", "-c", str(config)])
    assert real.exit_code == 0, real.output
    assert "recordings: deleted 2, 4.0 MB" in real.output and "audit: deleted 0; kept" in real.output
    assert len(list(media.list_objects("recordings"))) == 1
