#!/usr/bin/env bash
# The main job: set everything up, then run the PyAirbyte flow (check, read into DuckDB, summary).
# Without arguments it reads the bundled CloudTrail emulator; with --config FILE, real AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
