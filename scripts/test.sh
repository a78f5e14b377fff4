#!/usr/bin/env bash
# The test command: the services the suite needs (scripts/services.sh: PostgreSQL, NATS JetStream and
# Mosquitto, started when down; it fails if one does not come up), lint, type-check, then the whole test
# suite (unit, integration, slow, rtsp, models, e2e). With CI=1 a skipped test is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
