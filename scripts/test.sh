#!/usr/bin/env bash
# The test command: lint, type-check, then the whole test suite (unit, integration, slow, rtsp, models).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
