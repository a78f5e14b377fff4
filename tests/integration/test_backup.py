"""Backup of a running demo (`safecity serve` on the PETS video, recording on), restored elsewhere:
events, incidents, users, recordings and snapshots match, the audit chain verifies on the restored copy,
the extra files (an audit witness) come back; a damaged backup and a non-empty target are refused.
SQLite (online backup API) and PostgreSQL (pg_dump of one exported snapshot) on a private cluster."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy import create_engine, text

from support.processes import (
    PgServer,
    ServeProcess,
    h264_copy,
    pets_camera,
    run_cli,
    safecity_bin,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.models]
PASSWORD = "backup-admin-password-1"


@pytest.fixture(scope="module")
def pets_h264(pets_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h264_copy(pets_video, tmp_path_factory.mktemp("video") / "pets.mp4")


def deployment(root: Path, video: Path, model: Path, database_url: str | None) -> Path:
    storage: dict[str, Any] = {"data_dir": str(root / "var")}
    if database_url:
        storage["database_url"] = database_url
    settings = {
        "storage": storage,
        "detector": {"model": str(model), "threads": 1},
        "recording": {"enabled": True, "segment_seconds": 2},
        "backup": {"extra_paths": [str(root / "witness.json")]},
        "cameras": [pets_camera(video)],
    }
    root.mkdir(parents=True, exist_ok=True)
    return write_config(root / "safecity.yaml", settings)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_activity(base: str, url: str) -> None:
    """An incident, events, recorded segments and audited views of a segment."""
    http = requests.Session()
    r = http.post(f"{base}/api/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=10)
    assert r.ok, r.text
    csrf = {"X-CSRF-Token": http.cookies.get("safecity_csrf") or ""}
    body = {"title": "Backup drill", "camera_id": "pets", "description": "kept across a restore"}
    assert http.post(f"{base}/api/incidents", json=body, headers=csrf, timeout=10).status_code == 201
    wait_for(lambda: len(rows(url, "SELECT id FROM events")) >= 5, 90, "events")
    wait_for(lambda: len(rows(url, "SELECT id FROM recording_segments")) >= 2, 60, "recorded segments")
    segment = rows(url, "SELECT id FROM recording_segments")[0][0]
    for _ in range(3):
        assert http.get(f"{base}/api/recordings/segments/{segment}/video", timeout=10).ok  # audited


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_backup_running_demo_and_restore_elsewhere(
    tmp_path: Path, pets_h264: Path, nanodet_model: Path, backend: str
) -> None:
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PgServer.start()) if backend == "postgresql" else None
        restored_url = None
        if pg is not None:
            with psycopg.connect(pg.url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("CREATE DATABASE restored")
            restored_url = pg.url.rsplit("/", 1)[0] + "/restored"
        src = deployment(tmp_path / "src", pets_h264, nanodet_model, pg.url if pg else None)
        dst = deployment(tmp_path / "dst", pets_h264, nanodet_model, restored_url)
        src_url = pg.url if pg else f"sqlite:///{tmp_path / 'src' / 'var' / 'safecity.db'}"
        dst_url = restored_url or f"sqlite:///{tmp_path / 'dst' / 'var' / 'safecity.db'}"
        (tmp_path / "src" / "witness.json").write_text(json.dumps({"head": "abc123", "entries": 7}))
        run_cli(src, "users", "create", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")

        serve = stack.enter_context(ServeProcess.start(src, tmp_path / "serve.log"))
        make_activity(serve.base, src_url)
        before = {r[0] for r in rows(src_url, "SELECT id FROM events")}
        out = run_cli(src, "backup", "--out", str(tmp_path / "backup"))  # while serve keeps writing
        assert "backup written" in out, out
        assert serve.terminate(), serve.tail()
        after = {r[0] for r in rows(src_url, "SELECT id FROM events")}
        manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())

        out = run_cli(dst, "restore", str(tmp_path / "backup"))
        assert "restored" in out, out
        restored = {r[0] for r in rows(dst_url, "SELECT id FROM events")}
        assert before <= restored <= after  # consistent: a point in time while it ran
        assert len(restored) == manifest["counts"]["events"]
        for sql in (
            "SELECT id, username, password_hash, roles FROM users ORDER BY id",
            "SELECT id, title, description, camera_id FROM incidents ORDER BY id",
        ):
            assert rows(dst_url, sql) == rows(src_url, sql), sql
        assert len(rows(dst_url, "SELECT id FROM incidents")) == 1
        # media: every indexed segment and every event snapshot is there, byte for byte
        src_media, dst_media = tmp_path / "src" / "var" / "media", tmp_path / "dst" / "var" / "media"
        keys = [r[0] for r in rows(dst_url, "SELECT key FROM recording_segments")]
        keys += [r[0] for r in rows(dst_url, "SELECT snapshot FROM events WHERE snapshot IS NOT NULL")]
        assert len(keys) >= 2
        for key in keys:
            assert sha(dst_media / key) == sha(src_media / key), key
        # the signing key is not in a backup: the operator puts it back from the secret store
        key = Path("var") / "keys" / "audit-ed25519.pem"
        (tmp_path / "dst" / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tmp_path / "src" / key, tmp_path / "dst" / key)
        assert (tmp_path / "dst" / "var" / "audit-witness").is_dir()  # the witness came with the backup
        audit = run_cli(dst, "audit", "verify")
        assert (
            "intact" in audit and int(audit.split(":")[1].split()[0]) == manifest["counts"]["audit_log"] >= 3
        )
        assert (tmp_path / "dst" / "witness.json").read_text() == (
            tmp_path / "src" / "witness.json"
        ).read_text()

        # a second restore into the same (now non-empty) deployment is refused
        again = subprocess.run([safecity_bin(), "restore", str(tmp_path / "backup"), "-c", str(dst)],
                               capture_output=True, text=True, check=False)  # fmt: skip
        assert again.returncode == 2 and "empty" in again.stderr, again.stderr


def test_damaged_backup_is_refused(tmp_path: Path, pets_h264: Path, nanodet_model: Path) -> None:
    src = deployment(tmp_path / "src", pets_h264, nanodet_model, None)
    run_cli(src, "users", "create", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    (tmp_path / "src" / "witness.json").write_text("{}")
    run_cli(src, "backup", "--out", str(tmp_path / "backup"))
    db = tmp_path / "backup" / "database.sqlite"
    data = bytearray(db.read_bytes())
    data[-100] ^= 0xFF  # one flipped bit in the copy
    db.write_bytes(bytes(data))
    dst = deployment(tmp_path / "dst", pets_h264, nanodet_model, None)
    done = subprocess.run([safecity_bin(), "restore", str(tmp_path / "backup"), "-c", str(dst)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 2 and "checksum" in done.stderr, done.stderr
    assert not (tmp_path / "dst" / "var" / "safecity.db").exists()
