#!/usr/bin/env bash
# Builds the connector and the emulator (release) and prepares the Python virtualenv (.venv)
# with PyAirbyte. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --workspace

# s3s-fs: the S3-compatible server that the trail_events tests, benchmark and demo read from.
S3S_FS_VERSION=0.14.1
if [ "$(.tools/bin/s3s-fs --version 2>/dev/null)" != "s3s-fs $S3S_FS_VERSION" ]; then
    cargo install --quiet --locked --root .tools s3s-fs --version "$S3S_FS_VERSION" --features binary
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 13)))'; then
    echo "PyAirbyte needs Python 3.10 to 3.12; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum integration_tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r integration_tests/requirements.txt
    echo "$want" > "$stamp"
fi
