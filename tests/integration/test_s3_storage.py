"""The S3 media backend against a real S3-compatible HTTP server: moto's `moto_server` (PyPI
`moto[server]`), started as a subprocess on a free port. Then the data center on it: segments recorded
into the bucket, a clip cut from them, retention deleting objects by age."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from safecity.governance.retention import Retention
from safecity.governance.retention_config import RetentionConfig
from safecity.media.config import MediaConfig, build_storage
from safecity.media.s3 import S3MediaStorage
from safecity.media.storage import ManagedStorage, MediaNotFoundError, MediaStorage
from safecity.recording.clips import make_clip, sha256_file
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SegmentStore, segments_between
from safecity.recording.recorder import CameraRecorder
from safecity.store import make_engine, upgrade

pytestmark = pytest.mark.s3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    exe = shutil.which("moto_server") or str(Path(__import__("sys").executable).parent / "moto_server")
    if not Path(exe).exists():
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    import boto3

    name = f"safecity-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(s3_endpoint: str, bucket: str) -> S3MediaStorage:
    config = MediaConfig(
        type="s3",
        bucket=bucket,
        prefix="city-a",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        addressing_style="path",
    )
    storage = build_storage(config, Path("unused"))
    assert isinstance(storage, S3MediaStorage)
    return storage


def test_protocol_round_trip(s3: S3MediaStorage, tmp_path: Path) -> None:
    assert isinstance(s3, MediaStorage) and isinstance(s3, ManagedStorage)
    assert s3.path_for("a/b.jpg") is None
    assert not s3.exists("snapshots/cam1/2025-01-01/x.jpg")
    assert s3.put("snapshots/cam1/2025-01-01/x.jpg", b"jpeg") == "snapshots/cam1/2025-01-01/x.jpg"
    assert (
        s3.exists("snapshots/cam1/2025-01-01/x.jpg") and s3.get("snapshots/cam1/2025-01-01/x.jpg") == b"jpeg"
    )
    with pytest.raises(MediaNotFoundError):
        s3.get("snapshots/none.jpg")
    with pytest.raises(ValueError):
        s3.put("../escape", b"x")
    source = tmp_path / "seg.mp4"
    source.write_bytes(b"m" * 6_000_000)  # large enough for a multipart upload
    assert s3.put_file("recordings/cam1/2025-01-01/000000000_x.mp4", source) == 6_000_000
    assert not source.exists()
    listed = {o.key: o.size for o in s3.list_objects("recordings/cam1")}
    assert listed == {"recordings/cam1/2025-01-01/000000000_x.mp4": 6_000_000}
    assert {o.key for o in s3.list_objects("snapshots")} == {"snapshots/cam1/2025-01-01/x.jpg"}
    with s3.local_file("recordings/cam1/2025-01-01/000000000_x.mp4") as local:
        assert local.stat().st_size == 6_000_000
    assert not local.exists()
    url = s3.presigned_url("snapshots/cam1/2025-01-01/x.jpg")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"jpeg"
    for i in range(1001):  # more than one DeleteObjects batch
        s3.put(f"snapshots/bulk/{i}.jpg", b"x")
    assert s3.delete_many(f"snapshots/bulk/{i}.jpg" for i in range(1001)) == 1001
    assert not list(s3.list_objects("snapshots/bulk"))
    assert s3.delete("snapshots/cam1/2025-01-01/x.jpg") and not s3.delete("snapshots/cam1/2025-01-01/x.jpg")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_recordings_clips_and_retention_on_s3(
    s3: S3MediaStorage, engine: Engine, pets_h264: Path, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    t0 = datetime.now(UTC) - timedelta(days=40)
    store = SegmentStore(engine, s3)
    policy = recording_policy(
        RecordingConfig(enabled=True, segment_seconds=20), "gate-1", str(pets_h264), None
    )
    recorder = CameraRecorder(policy, tmp_path / "spool", store.commit, clock=t0.timestamp, pace=False)
    recorder.run()
    assert recorder.status.segments == 4 and recorder.status.errors == 0
    assert not list((tmp_path / "spool").rglob("*.part"))  # uploaded, then removed locally
    with engine.connect() as conn:
        segments = segments_between(conn, "gate-1", t0 - timedelta(minutes=1), t0 + timedelta(minutes=2))
    stored = {o.key: o.size for o in s3.list_objects("recordings/gate-1")}
    assert stored == {s.key: s.bytes for s in segments}

    clip = make_clip(
        engine,
        s3,
        tmp_path / "work",
        "gate-1",
        t0 + timedelta(seconds=30),
        t0 + timedelta(seconds=45),
        reason="request",
        created_by="alice",
    )
    assert clip is not None and s3.exists(clip.key)
    with s3.local_file(clip.key) as local:
        assert sha256_file(local) == clip.sha256

    cfg = RetentionConfig.model_validate({"recordings": {"days": 30}})
    retention = Retention(engine, s3, cfg)
    assert retention.run(dry_run=True).classes["recordings"].count == 4
    assert len(list(s3.list_objects("recordings"))) == 4
    done = retention.run().classes["recordings"]
    assert (done.count, done.bytes) == (4, sum(stored.values()))
    assert list(s3.list_objects("recordings")) == [] and s3.exists(clip.key)  # clips are kept 90 days
