"""The UI's time formatting (web/src/format.ts) in node: date inputs read and written in the displayed zone
(not the browser's), daylight-saving edges, labelled times. The TypeScript is bundled with the UI's own
bundler (rolldown, from the UI's npm packages) and run with node, in a process whose own zone is neither
of the zones checked, so a conversion that fell back to the local zone would fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support.processes import missing

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "src" / "safecity" / "web"


def test_format_ts_converts_in_the_displayed_zone(tmp_path: Path) -> None:
    node = shutil.which("node")
    rolldown = WEB / "node_modules" / ".bin" / "rolldown"
    if node is None or not rolldown.exists():
        missing("node and the UI's npm packages are needed: cd src/safecity/web && npm ci")
    out = tmp_path / "format_check.mjs"
    src = Path(__file__).with_name("format_check.ts")
    built = subprocess.run(
        [str(rolldown), str(src), "--format", "esm", "--file", str(out)],
        cwd=WEB, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    env = {**os.environ, "TZ": "Pacific/Honolulu"}  # the machine's zone: never the one asked for
    ran = subprocess.run([node, str(out)], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "format checks passed" in ran.stdout
