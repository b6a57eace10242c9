#!/usr/bin/env bash
# Every test: formatting, lints, the Rust unit and integration tests (the real binary against the
# emulator), and the Python end-to-end tests (PyAirbyte + DuckDB). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings
bash scripts/setup.sh
cargo test --release --locked --workspace
.venv/bin/python -m pytest -q integration_tests
