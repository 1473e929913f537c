#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run every test (unit, AppTest, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# --retries 1: where PyTorch's CPU index (requirements.txt) cannot be reached, pip's default 5 retries cost
# about 8 s per package; one retry costs none (docs/DEPLOY.md).
python3 -m pip install -q --disable-pip-version-check --retries 1 -r requirements-dev.txt
python3 -m pytest -q "$@"
