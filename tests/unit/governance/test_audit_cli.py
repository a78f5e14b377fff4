"""`safecity audit verify` on the insider's truncation (the issue's "Done when"), read-only, and the
export an outside auditor verifies with no database rights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from safecity.cli import app as cli
from safecity.governance import audit
from safecity.store import make_engine
from safecity.store.migrate import current_revisions, upgrade
from unit.governance.conftest import unguard


def _settings(tmp: Path, url: str | None = None) -> Path:
    path = tmp / "settings.yaml"
    db = f", database_url: '{url}'" if url else ""
    path.write_text(f"storage: {{data_dir: {tmp / 'data'}{db}}}\n")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.exists()]


def test_insider_truncation_after_three_retention_runs_is_caught(store_url: str, tmp_path: Path) -> None:
    url = None if store_url.startswith("sqlite") else store_url  # SQLite: the data dir's own database
    settings = _settings(tmp_path, url)
    for _ in range(3):
        code, out = _run("retention", "run", "-c", str(settings))
        assert code == 0, out
    code, out = _run("audit", "verify", "-c", str(settings))
    assert code == 0 and "intact: 3 entries" in out, out
    engine = make_engine(url or f"sqlite:///{tmp_path / 'data' / 'safecity.db'}")
    with engine.begin() as conn:  # the database login's full rights
        unguard(conn)
        conn.execute(sa.delete(audit.LOG).where(audit.LOG.c.seq == 3))
        h2 = conn.execute(sa.select(audit.LOG.c.hash).where(audit.LOG.c.seq == 2)).scalar_one()
        conn.execute(sa.update(audit.HEAD).values(count=2, last_hash=h2))
    engine.dispose()
    code, out = _run("audit", "verify", "-c", str(settings))
    assert code == 1, out
    assert "truncated at entry 3: entries 3..3 were removed from the end (the witness saw 3" in out, out


def test_verify_is_read_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert _run("retention", "run", "-c", str(settings))[0] == 0
    data = tmp_path / "data"
    files = [data / "safecity.db", data / "audit-witness" / "audit-witness.jsonl"]
    before = _digest(*files)
    assert _run("audit", "verify", "-c", str(settings))[0] == 0
    assert _digest(*files) == before


def test_verify_never_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'safecity.db'}"
    upgrade(url, "0007_biometrics")
    code, out = _run("audit", "verify", "-c", str(_settings(tmp_path)))
    assert code == 2 and "not migrated" in out, out
    engine = make_engine(url)
    with engine.connect() as conn:
        assert current_revisions(conn) == {"0007_biometrics"}
    engine.dispose()


def test_verify_without_the_key_or_witness_fails(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert _run("retention", "run", "-c", str(settings))[0] == 0
    (tmp_path / "data" / "audit-witness" / "audit-witness.jsonl").unlink()
    code, out = _run("audit", "verify", "-c", str(settings))
    assert code == 1 and "no genesis record" in out, out
    (tmp_path / "data" / "keys" / "audit-ed25519.pem").unlink()
    code, out = _run("audit", "verify", "-c", str(settings))
    assert code == 2 and "audit-ed25519.pem" in out, out


def test_outside_auditor_verifies_an_export(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    for _ in range(3):
        assert _run("retention", "run", "-c", str(settings))[0] == 0
    export = tmp_path / "export.jsonl"
    code, out = _run("audit", "export", "-c", str(settings), "--since", "2000-01-01", "-o", str(export))
    assert code == 0, out
    lines = export.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert [json.loads(line)["seq"] for line in lines if '"kind": "entry"' in line] == [1, 2, 3]
    assert "PRIVATE" not in export.read_text()
    code, out = _run("audit", "verify", "--export", str(export))
    assert code == 0 and "intact: 3 entries" in out, out
    entry = json.loads(lines[2])
    entry["actor"] = "someone-else"
    lines[2] = json.dumps(entry, sort_keys=True)
    export.write_text("\n".join(lines) + "\n")
    code, out = _run("audit", "verify", "--export", str(export))
    assert code == 1 and "modified at entry 2" in out, out


@pytest.mark.parametrize("mode", [0o600])
def test_key_file_is_private(tmp_path: Path, mode: int) -> None:
    assert _run("retention", "run", "-c", str(_settings(tmp_path)))[0] == 0
    key = tmp_path / "data" / "keys" / "audit-ed25519.pem"
    assert key.stat().st_mode & 0o777 == mode
    witness = (tmp_path / "data" / "audit-witness" / "audit-witness.jsonl").read_text()
    assert "PRIVATE" not in witness and key.read_text().split("\n")[1] not in witness
