#!/usr/bin/env bash
# Every test: formatting, lints, the Rust unit and integration tests (the real binary against the
# emulator), and the Python end-to-end tests (PyAirbyte + DuckDB). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings

# Supply chain: licenses, banned crates (a second TLS stack) and sources, checked offline.
DENY_VERSION=0.20.2
if [ "$(.tools/bin/cargo-deny --version 2>/dev/null)" != "cargo-deny $DENY_VERSION" ]; then
    cargo install --quiet --locked --root .tools cargo-deny --version "$DENY_VERSION"
fi
cargo fetch --locked
.tools/bin/cargo-deny --offline check licenses bans sources
bash scripts/setup.sh
cargo test --release --locked --workspace
.venv/bin/python -m pytest -q integration_tests
