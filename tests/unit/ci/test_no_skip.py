"""The honest-CI plugin (tests/support/no_skip.py): under CI=1 each kind of skip fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[2]
SAMPLE = """
import os
import pytest

def test_runs():
    assert True

def test_skips_in_body():
    pytest.skip("no PostgreSQL here")

@pytest.mark.skipif(True, reason="tool missing")
def test_skipif():
    pass

@pytest.fixture
def service():
    pytest.skip("NATS unreachable")

def test_fixture_skip(service):
    pass
"""
IMPORTORSKIP = "import pytest\npytest.importorskip('no_such_module_xyz')\n\ndef test_never():\n    pass\n"


def _run(tmp_path: Path, ci: bool) -> tuple[int, str, str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_importorskip.py").write_text(IMPORTORSKIP)
    counter = tmp_path / "skips.txt"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PYTHONPATH": str(TESTS), "SAFECITY_SKIPS_FILE": str(counter)}
    if ci:
        env["CI"] = "1"
    plugins = ["-p", "support.no_skip", "-p", "no:cacheprovider"]
    options = ["-q", "-o", "addopts=", "--continue-on-collection-errors", "--rootdir", str(tmp_path)]
    cmd = [sys.executable, "-m", "pytest", *plugins, *options, str(tmp_path)]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr, counter.read_text().strip()


@pytest.mark.parametrize("ci", [False, True])
def test_every_kind_of_skip_is_counted_and_fails_under_ci(tmp_path: Path, ci: bool) -> None:
    rc, out, count = _run(tmp_path, ci)
    assert count == "4", out  # body, skipif, fixture, importorskip at collection
    assert "skipped tests: 4" in out
    if ci:
        assert rc != 0, out
        assert out.count("skipped under CI") >= 4, out
        assert "1 passed" in out
    else:
        assert rc == 0, out
        assert "4 skipped" in out and "1 passed" in out
