"""Purge time for 100k recording files: generate N small segment files and their index rows (SQLite in a
temporary directory, or any store with --database-url), place a few evidence locks, then time a dry run
and a real retention run that deletes every unlocked segment older than the retention period.

    .venv/bin/python bench/purge.py [--files 100000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from safecity.governance.evidence import LockItem, LockKind, create_lock
from safecity.governance.retention import Retention
from safecity.governance.retention_config import RetentionConfig
from safecity.media.storage import LocalMediaStorage
from safecity.recording.index import SEGMENTS, segment_key
from safecity.store import make_engine, upgrade

NOW = datetime(2025, 6, 1, tzinfo=UTC)
FILE_BYTES = 1024


def generate(storage: LocalMediaStorage, url: str, n: int) -> None:
    """N one-minute segments of camera cam-<i % 4>, the newest ending now; files written directly."""
    engine = make_engine(url)
    rows = []
    payload = os.urandom(FILE_BYTES)
    for i in range(n):
        start = NOW - timedelta(minutes=n // 4 - i // 4)  # 4 cameras, back-to-back 1-min segments
        seg_id, camera = uuid.uuid4().hex, f"cam-{i % 4}"
        key = segment_key(camera, start, seg_id)
        path = storage.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        rows.append(
            dict(
                id=seg_id,
                camera_id=camera,
                start=start,
                end=start + timedelta(minutes=1),
                key=key,
                bytes=FILE_BYTES,
                codec="h264",
                width=1920,
                height=1080,
                transcoded=False,
                status="complete",
                created_at=start,
            )
        )
    with engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(SEGMENTS.insert(), rows[i : i + 5000])
        for camera in ("cam-0", "cam-1", "cam-2"):  # three cases, each holding two hours of one camera
            start = NOW - timedelta(minutes=n // 4) + timedelta(hours=1)  # among the oldest
            item = LockItem(LockKind.RANGE, camera_id=camera, start=start, end=start + timedelta(hours=2))
            create_lock(
                conn,
                actor="bench",
                reason="bench",
                case_ref=f"case-{camera}",
                items=[item],
                expires_at=NOW + timedelta(days=30),
                now=NOW - timedelta(days=1),
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", type=float, default=0.0, help="fraction of the span still retained")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-purge-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'safecity.db'}"
        upgrade(url)
        storage = LocalMediaStorage(Path(tmp) / "media")
        t = time.perf_counter()
        generate(storage, url, args.files)
        span = timedelta(minutes=args.files // 4)
        print(
            f"generated {args.files} segment files + rows ({span.total_seconds() / 86400:.1f} days of 1-min "
            "segments, 4 cameras) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        engine = make_engine(url)
        days = max(span.total_seconds() / 86400 * args.keep, 0.001)  # all but the newest are past it
        config = RetentionConfig.model_validate({"recordings": {"days": days}})
        retention = Retention(engine, storage, config, clock=lambda: NOW)
        t = time.perf_counter()
        plan = retention.run(dry_run=True).classes["recordings"]
        dry = time.perf_counter() - t
        print(
            f"dry run: would delete {plan.count} ({plan.bytes / 1e6:.1f} MB), "
            f"{plan.kept_locked} locked kept: {dry:.2f} s"
        )
        t, cpu = time.perf_counter(), time.process_time()
        done = retention.run().classes["recordings"]
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(SEGMENTS)).scalar_one()
        files = sum(1 for _ in storage.list_objects("recordings"))
        print(
            f"purge: deleted {done.count} files + rows ({done.kept_locked} locked kept) "
            f"in {wall:.2f} s wall, {cpu:.2f} s CPU = {done.count / wall:,.0f} files/s; "
            f"{left} rows and {files} files left"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
