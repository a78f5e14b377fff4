"""Disk full on the media volume, with `safecity serve` recording the PETS video: the media directory is a
small tmpfs (mounted by the test; where mounting is not permitted the test fails under CI and skips
elsewhere). The volume is filled to the last byte while serve runs:
- storing segments stops cleanly: a CRITICAL log and a critical alert row (kind `storage_full`, what the
  alerts API and UI list; one alert however many segments fail), segments wait in the spool, the index
  only ever names complete files (no temporary or partial object, every row's file exists at its
  indexed size);
- events keep being stored (the database is on another volume), snapshots are skipped;
- when space returns, recording resumes, the segments that waited are stored and the alert is closed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from safecity.operations.models import AlertRow
from safecity.recording.index import SEGMENTS
from safecity.store.models import EventRow
from support.processes import (
    ServeProcess,
    h264_copy,
    missing,
    pets_camera,
    published_ids,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.models]


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(volume: Path) -> Path:
    """Write a file until the volume refuses: it is now full."""
    filler = volume / "filler.bin"
    with filler.open("wb") as f:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def segments(url: str) -> list[tuple[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.key, r.bytes) for r in conn.execute(select(SEGMENTS.c.key, SEGMENTS.c.bytes))]
    finally:
        engine.dispose()


def stored_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(EventRow.id)).scalars())
    finally:
        engine.dispose()


def storage_alerts(url: str) -> list[tuple[str, str, int]]:
    """(severity, status, occurrences) of every storage-full alert."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(AlertRow.severity, AlertRow.status, AlertRow.occurrences)
            return [tuple(r) for r in conn.execute(query.where(AlertRow.kind == "storage_full"))]
    finally:
        engine.dispose()


def check_index(url: str, media: Path) -> int:
    """Every indexed segment's file exists at its indexed size; no temporary object left behind."""
    rows = segments(url)
    for key, size in rows:
        assert (media / key).stat().st_size == size, key
    assert not list(media.rglob("*.tmp")), "a partial object was left in the media store"
    return len(rows)


def test_media_volume_full_recording_pauses_events_stored_and_it_resumes(
    tmp_path: Path, pets_video: Path, nanodet_model: Path
) -> None:
    video = h264_copy(pets_video, tmp_path / "pets.mp4")
    log = tmp_path / "published.log"
    url = f"sqlite:///{tmp_path / 'var' / 'safecity.db'}"
    with tmpfs(tmp_path / "media", "8m") as media:
        config = write_config(tmp_path / "safecity.yaml", {
            "storage": {"data_dir": str(tmp_path / "var"), "media_dir": str(media)},
            "detector": {"model": str(nanodet_model), "threads": 1},
            "recording": {"enabled": True, "segment_seconds": 2},
            "durability": {"event_log": str(log)},
            "cameras": [pets_camera(video)],
        })  # fmt: skip
        spool = tmp_path / "var" / "spool" / "recordings"
        with ServeProcess.start(config, tmp_path / "serve.log") as serve:
            wait_for(lambda: len(segments(url)) >= 2, 90, "recorded segments")
            wait_for(lambda: len(published_ids(log)) >= 3, 60, "events")

            filler = fill(media)
            wait_for(lambda: "media store is full" in serve.tail(200_000), 30, "the CRITICAL log")
            assert "CRITICAL" in serve.tail(200_000)
            wait_for(lambda: bool(storage_alerts(url)), 30, "the critical alert row")
            at_full = check_index(url, media)
            n_published = len(published_ids(log))
            wait_for(lambda: len(list(spool.rglob("*.part"))) >= 3, 30, "segments waiting in the spool")
            wait_for(lambda: len(published_ids(log)) > n_published, 60, "events while the disk is full")
            ids = published_ids(log)
            wait_for(lambda: set(ids) <= stored_ids(url), 30, "events stored while the disk is full")
            assert check_index(url, media) == at_full, "nothing indexed while nothing could be stored"
            [(severity, status, _)] = storage_alerts(url)  # one alert, however many segments failed
            assert (severity, status) == ("critical", "open")
            assert serve.proc.poll() is None

            os.unlink(filler)  # space returns
            wait_for(lambda: "has space again" in serve.tail(200_000), 30, "recovery")
            wait_for(lambda: check_index(url, media) >= at_full + 3, 30, "the waiting segments stored")
            wait_for(lambda: len(list(spool.rglob("*.part"))) <= 1, 30, "the spool emptied")
            wait_for(lambda: [s for _, s, _ in storage_alerts(url)] == ["closed"], 30, "the alert closed")
            assert serve.terminate(), serve.tail()
        assert set(published_ids(log)) <= stored_ids(url)
        check_index(url, media)
