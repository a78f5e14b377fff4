"""Honest CI: under `CI` (set by `.ci/run`) a skipped test is a failure, and the skips are counted.

A test skips when its service, tool or data is missing (PostgreSQL, NATS, Mosquitto, moto_server, ffmpeg's
libx265, the shared test data). On a developer's machine that is a skip with its reason; in CI everything
is installed and started, so a skip there means the suite did not test what it claims, and it fails.

Whatever the skip site (`pytest.skip`, `skipif`, `importorskip`, at collection or in a fixture), the report
is turned into a failure here, so a new skip site cannot slip past. The number of skips seen is printed at
the end and, when $SAFECITY_SKIPS_FILE names a file, written there (`.ci/run` checks it is 0).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SKIPS_FILE_ENV = "SAFECITY_SKIPS_FILE"
_seen: list[str] = []


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):  # an expected failure is not a skip
        return
    reason = _reason(report)
    _seen.append(f"{report.nodeid}: {reason}")
    if _under_ci():
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    _fail_skip(outcome.get_result())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    mode = "each one a failure under CI" if _under_ci() else "set CI=1 to make them failures"
    terminalreporter.write_line(f"skipped tests: {len(_seen)} ({mode})")
    for line in _seen:
        terminalreporter.write_line(f"  skipped: {line}")
    target = os.environ.get(SKIPS_FILE_ENV)
    if target:
        Path(target).write_text(f"{len(_seen)}\n", encoding="utf-8")
