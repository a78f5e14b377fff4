"""Data files are private (0600) and folders 0700: a fresh node, its media, the CLI's first database, and
an older installation whose database was world-readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from support.api_harness import make_node


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_node_keeps_its_data_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    (data / "safecity.db").touch(mode=0o644)  # an older installation's world-readable database
    old_umask = os.umask(0o022)
    try:
        node = make_node(data)
        try:
            key = node.media.put("snapshots/cam/2025-01-01/1.jpg", b"\xff\xd8 a snapshot \xff\xd9")
            with node.session() as db:  # write something: WAL files appear
                from safecity.governance import audit

                audit.append(db.connection(), "test", "test.write", "x")
                db.commit()
        finally:
            node.close()
    finally:
        os.umask(old_umask)
    assert _mode(data) == 0o700
    for f in [p for p in data.iterdir() if p.name.startswith("safecity.db")]:
        assert _mode(f) == 0o600, f
    media_file = data / "media" / key
    assert _mode(media_file) == 0o600
    for folder in [p for p in (data / "media").rglob("*") if p.is_dir()]:
        assert _mode(folder) == 0o700, folder


def test_the_first_users_create_makes_a_private_database(tmp_path: Path) -> None:
    cfg = tmp_path / "safecity.yaml"
    cfg.write_text(f"storage: {{data_dir: {tmp_path / 'var'}}}\n")
    cmd = [str(Path(sys.executable).parent / "safecity"), "users", "create", "chief", "--role", "admin",
           "--password-stdin", "-c", str(cfg)]  # fmt: skip
    done = subprocess.run(cmd, input="a long enough password\n", capture_output=True, text=True, timeout=120,
                          env={**os.environ}, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _mode(tmp_path / "var") == 0o700
    assert _mode(tmp_path / "var" / "safecity.db") == 0o600
