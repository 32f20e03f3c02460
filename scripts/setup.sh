#!/usr/bin/env bash
# Sets up slrbench in .venv with every extra, plus the system packages its tests use
# (Chromium + ChromeDriver for the report test, ffmpeg for clip trimming). Idempotent: a
# second call with an unchanged pyproject.toml returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "slrbench needs Python 3.10-3.12" >&2; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
PY

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.slrbench-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)-$(pwd)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing slrbench and its dependencies into .venv (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned to the CPU build in pyproject.toml; installing it first keeps pip from
  # resolving a multi-GB CUDA build through another package's looser requirement.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[extract,tensorflow,video,ray,pose,system-metrics,onnx,tflite,dev]"
  echo "$want" > "$stamp"
fi
