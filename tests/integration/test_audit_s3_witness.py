"""The witness's locked S3 copy (object lock, COMPLIANCE) against a real S3 HTTP server (moto_server):
records cannot be deleted before their retention date, and when an insider removes lines from the local
witness file and cuts the log's tail, `verify` still catches it from the S3 copies."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from safecity.governance import audit
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_s3 import WitnessS3Config
from safecity.governance.audit_verify import check
from safecity.governance.audit_witness import install, witness_records
from safecity.store import make_engine, upgrade

pytestmark = pytest.mark.s3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(exe).exists():
        if os.environ.get("CI"):
            pytest.fail("moto_server not installed (pip install 'moto[server]')")
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
def locked_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> WitnessS3Config:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    import boto3

    bucket = f"witness-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return WitnessS3Config(bucket=bucket, endpoint_url=s3_endpoint, addressing_style="path")


def test_s3_copy_is_locked_and_catches_a_rewritten_witness_file(
    tmp_path: Path, locked_bucket: WitnessS3Config
) -> None:
    url = f"sqlite:///{tmp_path / 'safecity.db'}"
    upgrade(url)
    config = AuditConfig(witness_s3=locked_bucket)
    sealer = install(url, config, tmp_path, follow=False)
    engine = make_engine(url)
    try:
        for i in range(5):
            with engine.begin() as conn:
                audit.append(conn, "alice", "test.act", f"x:{i}", {})
        sealer.sync()
        client = sealer.copies[0].client
        objects = client.list_objects_v2(Bucket=locked_bucket.bucket)["Contents"]
        assert len(objects) == 2  # genesis and one head record
        key = objects[-1]["Key"]
        head = client.head_object(Bucket=locked_bucket.bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"].year >= 2030
        version = head["VersionId"]
        with pytest.raises(client.exceptions.ClientError, match=r"AccessDenied|locked|retention"):
            client.delete_object(Bucket=locked_bucket.bucket, Key=key, VersionId=version)
        # the insider: local witness cut back to its genesis line, the log's newest entries deleted
        path = sealer.witness.path
        path.write_text(path.read_text().splitlines()[0] + "\n")
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(sa.delete(audit.LOG).where(audit.LOG.c.seq > 3))
            last = conn.execute(sa.select(audit.LOG.c.hash).where(audit.LOG.c.seq == 3)).scalar_one()
            conn.execute(sa.update(audit.HEAD).values(count=3, last_hash=last))
        with engine.connect() as conn:
            local_only = check(conn, sealer.public, sealer.witness.records())
            both = check(conn, sealer.public, witness_records(config, tmp_path))
        assert local_only.ok, "the local file alone no longer shows it"
        assert not both.ok and "truncated at entry 4: entries 4..5" in str(both), both
    finally:
        sealer.close()
        engine.dispose()
