"""LocalMediaStorage and snapshot helpers: atomic writes, key safety, real JPEG round trip."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.media import (
    LocalMediaStorage,
    MediaNotFoundError,
    MediaStorage,
    encode_jpeg,
    normalize_key,
    snapshot_key,
)
from safecity.types import Event, EventKind


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


def test_is_a_media_storage(storage: LocalMediaStorage) -> None:
    assert isinstance(storage, MediaStorage)


def test_put_get_exists_path_for(storage: LocalMediaStorage) -> None:
    assert not storage.exists("a/b/c.bin")
    assert storage.put("a/b/c.bin", b"hello") == "a/b/c.bin"
    assert storage.exists("a/b/c.bin")
    assert storage.get("a/b/c.bin") == b"hello"
    path = storage.path_for("a/b/c.bin")
    assert path == storage.root / "a" / "b" / "c.bin"
    assert path.read_bytes() == b"hello"


def test_put_replaces_and_leaves_no_temp_files(storage: LocalMediaStorage) -> None:
    storage.put("x/y.bin", b"one")
    storage.put("x/y.bin", b"two")
    assert storage.get("x/y.bin") == b"two"
    assert os.listdir(storage.root / "x") == ["y.bin"]


def test_failed_write_keeps_the_old_object(
    storage: LocalMediaStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put("k.bin", b"old")

    def fail_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put("k.bin", b"new")
    monkeypatch.undo()
    assert storage.get("k.bin") == b"old"
    assert os.listdir(storage.root) == ["k.bin"]  # the temporary file was removed


def test_get_missing_raises(storage: LocalMediaStorage) -> None:
    with pytest.raises(MediaNotFoundError):
        storage.get("nope.jpg")
    storage.put("dir/file", b"1")
    with pytest.raises(MediaNotFoundError):
        storage.get("dir")
    assert not storage.exists("dir")


@pytest.mark.parametrize(
    "key",
    ["", "../escape", "a/../../escape", "a/..", "/etc/passwd", "a//b", "./a", "a/./b", "a\\..\\b", "a\x00b",
     "C:/windows"],
)  # fmt: skip
def test_unsafe_keys_are_rejected(storage: LocalMediaStorage, tmp_path: Path, key: str) -> None:
    for op in (lambda: storage.put(key, b"x"), lambda: storage.get(key), lambda: storage.exists(key),
               lambda: storage.path_for(key)):  # fmt: skip
        with pytest.raises(ValueError):
            op()
    assert not (tmp_path / "escape").exists()


def test_symlink_out_of_root_is_rejected(storage: LocalMediaStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (storage.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        storage.put("link/x.bin", b"x")
    assert list(outside.iterdir()) == []


def test_normalize_key_accepts_plain_keys() -> None:
    assert normalize_key("snapshots/cam1/2025-01-01/abc.jpg") == "snapshots/cam1/2025-01-01/abc.jpg"
    assert normalize_key("a..b/c") == "a..b/c"  # dots inside a name are fine


def test_snapshot_key_uses_utc_date() -> None:
    tz = timezone(timedelta(hours=-5))
    start = datetime(2025, 3, 1, 22, 30, tzinfo=tz)  # 2025-03-02 03:30 UTC
    e = Event(camera_id="cam1", kind=EventKind.LINE_CROSSING, start=start, end=start, id="f" * 32)
    assert snapshot_key(e) == f"snapshots/cam1/2025-03-02/{'f' * 32}.jpg"


def test_snapshot_key_is_safe_for_odd_camera_ids(storage: LocalMediaStorage) -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    e = Event(camera_id="../north/gate 1", kind=EventKind.CROWDING, start=start, end=start)
    key = snapshot_key(e)
    assert key.count("/") == 3
    storage.put(key, b"x")  # valid key that stays inside the root
    assert (storage.root / "snapshots").is_dir()
    with pytest.raises(ValueError):
        snapshot_key(Event(camera_id="..", kind=EventKind.CROWDING, start=start, end=start))


def test_jpeg_round_trip(storage: LocalMediaStorage) -> None:
    rng = np.random.default_rng(0)
    image = np.zeros((240, 320, 3), np.uint8)
    image[:, :, 2] = np.linspace(0, 255, 320, dtype=np.uint8)  # a red gradient, BGR
    image[100:140, 50:90] = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    e = Event(camera_id="cam1", kind=EventKind.ZONE_ENTER, start=start, end=start)
    data = encode_jpeg(image, quality=90)
    assert data[:3] == b"\xff\xd8\xff"
    key = storage.put(snapshot_key(e), data)
    decoded = cv2.imdecode(np.frombuffer(storage.get(key), np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == image.shape
    assert np.abs(decoded[:90].astype(int) - image[:90].astype(int)).mean() < 3  # colours survive (BGR)
    assert len(encode_jpeg(image, quality=10)) < len(data)


def test_encode_jpeg_grey_and_invalid_inputs() -> None:
    grey = np.full((10, 20), 128, np.uint8)
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(grey), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None and decoded.shape == (10, 20)
    with pytest.raises(ValueError):
        encode_jpeg(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError):
        encode_jpeg(np.zeros((10, 10, 3), np.uint8), quality=101)
    with pytest.raises(ValueError):
        encode_jpeg(np.zeros((0, 10, 3), np.uint8))
