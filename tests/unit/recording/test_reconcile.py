"""Reconciling the index with the files: a half-written spool segment is salvaged up to its last
fragment, junk is removed, stored objects without rows are validated, rows without objects marked missing.
(The real SIGKILL of a recording process is tests/integration/test_recording_crash.py.)"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import av
from sqlalchemy import select

from safecity.recording.index import SEGMENTS, segment_key, segments_between
from safecity.recording.reconcile import reconcile_spool, reconcile_storage
from safecity.recording.segment import CopySegment, probe, spool_name

from .conftest import T0, Recorded


def _crashed_spool_file(source: Path, spool: Path, first_wall: float, packets: int) -> Path:
    """The bytes a recorder killed after `packets` packets leaves behind (copied while still open)."""
    with av.open(str(source)) as inp:
        stream = inp.streams.video[0]
        segment = CopySegment(spool, "gate-1", first_wall, stream)
        for i, packet in enumerate(p for p in inp.demux(stream) if p.size):
            wall = first_wall + float((packet.pts or 0) * stream.time_base)
            segment.write(packet, wall, 0.1)
            if i + 1 == packets:
                break
        crashed = spool / spool_name(first_wall, uuid.uuid4().hex)
        shutil.copyfile(segment.path, crashed)
        segment.abort()
    return crashed


def test_spool_files_are_salvaged_or_removed(recorded: Recorded, pets_h264: Path) -> None:
    store, camera_spool = recorded.store, recorded.spool / "gate-1"
    wall = (T0 + timedelta(hours=1)).timestamp()
    crashed = _crashed_spool_file(pets_h264, camera_spool, wall, 250)  # 25 s, fragments every 2 s
    with store.engine.connect() as conn:
        done_id = conn.execute(select(SEGMENTS.c.id).limit(1)).scalar_one()
    (camera_spool / spool_name(wall, done_id)).write_bytes(b"\x00" * 10)  # committed, spool copy left over
    (camera_spool / spool_name(wall + 60, uuid.uuid4().hex)).write_bytes(os.urandom(5000))  # no fragment yet
    (camera_spool / "stray.txt.mp4.part").write_bytes(b"?")
    busy = _crashed_spool_file(pets_h264, camera_spool, wall + 120, 30)

    report = reconcile_spool(store, recorded.spool, busy={busy})
    assert (report.salvaged, report.discarded) == (1, 3)
    assert sorted(p.name for p in camera_spool.iterdir()) == [busy.name]  # a file being written is left alone
    with store.engine.connect() as conn:
        (salvaged,) = segments_between(conn, "gate-1", T0 + timedelta(minutes=59), T0 + timedelta(minutes=61))
    assert salvaged.status == "salvaged" and salvaged.id in crashed.name
    duration = (salvaged.end - salvaged.start).total_seconds()
    assert 20.0 <= duration < 25.3  # up to the last whole fragment before the kill
    path = store.storage.path_for(salvaged.key)
    assert path is not None
    found = probe(path)
    assert found is not None and found.packets >= 200


def test_storage_orphans_and_missing_files(recorded: Recorded) -> None:
    store = recorded.store
    with store.engine.connect() as conn:
        segments = segments_between(conn, "gate-1", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    first, gone = segments[0], segments[3]
    # an object stored just before a crash, never indexed: a valid copy of the first segment, an hour later
    orphan_start = first.start + timedelta(hours=1)
    orphan_id = uuid.uuid4().hex
    source = store.storage.path_for(first.key)
    assert source is not None
    store.storage.put(segment_key("gate-1", orphan_start, orphan_id), source.read_bytes())
    junk_key = segment_key("gate-1", first.start + timedelta(hours=2), uuid.uuid4().hex)
    store.storage.put(junk_key, b"not a video")
    store.storage.delete(gone.key)

    report = reconcile_storage(store, "gate-1", since=T0 - timedelta(hours=1))
    assert (report.orphans_indexed, report.orphans_deleted, report.missing) == (1, 1, 1)
    assert not store.storage.exists(junk_key)
    with store.engine.connect() as conn:
        rows = {
            r.id: r
            for r in segments_between(
                conn, "gate-1", T0 - timedelta(hours=1), T0 + timedelta(hours=3), present_only=False
            )
        }
    assert rows[gone.id].status == "missing"
    orphan = rows[orphan_id]
    assert orphan.status == "salvaged" and abs((orphan.start - orphan_start).total_seconds()) < 1e-3
    assert abs((orphan.end - orphan.start).total_seconds() - (first.end - first.start).total_seconds()) < 0.01
    again = reconcile_storage(store, "gate-1")  # idempotent, over every day
    assert (again.orphans_indexed, again.orphans_deleted, again.missing) == (0, 0, 0)
