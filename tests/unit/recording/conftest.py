"""Fixtures of the recording tests: a migrated store, local media, and a camera recorded from the PETS
H.264 file into 10 s segments (at file speed, stamped from a fixed clock)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from safecity.media.storage import LocalMediaStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SegmentStore
from safecity.recording.recorder import CameraRecorder
from safecity.store import make_engine, upgrade

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


@dataclass
class Recorded:
    store: SegmentStore
    recorder: CameraRecorder
    spool: Path
    camera_id: str = "gate-1"


def record_file(
    source: Path,
    store: SegmentStore,
    spool: Path,
    *,
    segment_seconds: float = 10.0,
    camera_id: str = "gate-1",
) -> CameraRecorder:
    cfg = RecordingConfig(enabled=True, segment_seconds=segment_seconds)
    policy = recording_policy(cfg, camera_id, str(source), None)
    recorder = CameraRecorder(policy, spool, store.commit, clock=T0.timestamp, pace=False)
    recorder.run()
    return recorder


@pytest.fixture
def recorded(pets_h264: Path, engine: Engine, storage: LocalMediaStorage, tmp_path: Path) -> Recorded:
    store = SegmentStore(engine, storage)
    spool = tmp_path / "spool"
    return Recorded(store, record_file(pets_h264, store, spool), spool)
