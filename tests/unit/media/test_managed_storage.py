"""The data-center side of the local backend (put_file, list, delete, local_file) and `media:` config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from safecity.media.config import MediaConfig, build_storage
from safecity.media.storage import LocalMediaStorage, ManagedStorage, MediaNotFoundError


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


def test_put_file_moves_the_file_in(storage: LocalMediaStorage, tmp_path: Path) -> None:
    assert isinstance(storage, ManagedStorage)
    src = tmp_path / "seg.part"
    src.write_bytes(b"x" * 1000)
    assert storage.put_file("recordings/cam1/2025-01-01/a.mp4", src) == 1000
    assert not src.exists() and storage.get("recordings/cam1/2025-01-01/a.mp4") == b"x" * 1000
    path = storage.path_for("recordings/cam1/2025-01-01/a.mp4")
    assert path is not None and (path.stat().st_mode & 0o777) == 0o600


def test_put_file_across_file_systems_copies(
    storage: LocalMediaStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "seg.part"
    src.write_bytes(b"y" * 10)
    real_replace = os.replace

    def cross_device(a: str | Path, b: str | Path) -> None:
        if Path(a) == src:
            raise OSError(18, "Invalid cross-device link")
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", cross_device)
    assert storage.put_file("clips/c/x.mp4", src) == 10
    assert not src.exists() and storage.get("clips/c/x.mp4") == b"y" * 10
    assert [p.name for p in (storage.root / "clips" / "c").iterdir()] == ["x.mp4"]


def test_list_delete_and_local_file(storage: LocalMediaStorage) -> None:
    for key in ("snapshots/a/1.jpg", "snapshots/a/d/2.jpg", "recordings/a/3.mp4"):
        storage.put(key, b"12345")
    (storage.root / "snapshots" / "a" / ".tmp-partial").write_bytes(b"")  # in-flight temporary: skipped
    listed = {o.key: o.size for o in storage.list_objects("snapshots")}
    assert listed == {"snapshots/a/1.jpg": 5, "snapshots/a/d/2.jpg": 5}
    assert list(storage.list_objects("nothing/here")) == []
    with storage.local_file("recordings/a/3.mp4") as path:
        assert path.read_bytes() == b"12345"
    with pytest.raises(MediaNotFoundError), storage.local_file("recordings/a/none.mp4"):
        pass
    assert storage.delete("snapshots/a/1.jpg") and not storage.delete("snapshots/a/1.jpg")
    assert storage.delete_many(["snapshots/a/d/2.jpg", "missing.jpg"]) == 2
    assert list(storage.list_objects("snapshots")) == []
    with pytest.raises(ValueError):
        list(storage.list_objects("../x"))


def test_media_config(tmp_path: Path) -> None:
    assert isinstance(build_storage(MediaConfig(), tmp_path / "m"), LocalMediaStorage)
    with pytest.raises(ValidationError, match="bucket"):
        MediaConfig(type="s3")
    with pytest.raises(ValidationError):
        MediaConfig.model_validate({"type": "ftp"})


def test_delete_many_prunes_emptied_directories(storage: LocalMediaStorage) -> None:
    for key in ("recordings/cam/2025-01-01/a.mp4", "recordings/cam/2025-01-01/b.mp4",
                "recordings/cam/2025-01-02/c.mp4"):  # fmt: skip
        storage.put(key, b"x")
    assert storage.delete_many(["recordings/cam/2025-01-01/a.mp4", "recordings/cam/2025-01-01/b.mp4"]) == 2
    assert sorted(p.name for p in (storage.root / "recordings" / "cam").iterdir()) == ["2025-01-02"]
    storage.delete_many(["recordings/cam/2025-01-02/c.mp4"])
    assert list(storage.root.iterdir()) == [] and storage.root.is_dir()
