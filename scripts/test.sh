#!/usr/bin/env bash
# Every test: formatting, lints, the Rust unit and integration tests (the real binary against the
# emulator), and the Python end-to-end tests (PyAirbyte with DuckDB and Postgres, the wheel,
# Airbyte's standard tests, acceptance). Installs what it needs.
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
# --- issue 15: a real PostgreSQL for the PostgresCache tests (Debian's package; the tests start
# their own cluster on a free loopback port and stop it), and the manylinux wheel that the
# PyAirbyte pip_url tests install (scripts/wheel.sh: maturin + zig from PyPI into .tools/wheel).
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "PostgreSQL is missing: run 'apt-get install postgresql' as root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql > /dev/null
fi
bash scripts/wheel.sh
# --- end of issue 15 ---
cargo test --release --locked --workspace
.venv/bin/python -m pytest -q integration_tests
