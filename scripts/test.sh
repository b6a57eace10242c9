#!/usr/bin/env bash
# Every test: formatting, lints, the Rust unit and integration tests (the real binary against the
# emulator), and the Python end-to-end tests (PyAirbyte with DuckDB and Postgres, the wheel,
# Airbyte's standard tests, acceptance). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- issue 25: the Docker image, built from the Dockerfile in the background from the start: a
# Docker engine and the Dockerfile's base images first (scripts/container-runtime.sh: podman where
# no engine answers, stand-ins where no registry does; downloads and debootstrap), then
# `docker build`, whose compilation fills the core that the compilations and tests below leave
# idle on 2 cores (serial stretches of cargo, the tests). Output in target/image.log and
# target/image-build.log. Also PyAirbyte 1.0's release candidate, in .tools/pyairbyte-rc.
mkdir -p target
# This checkout's own tag (integration_tests/local_image.py builds and tests the same one): the
# engine is the machine's, shared by every checkout's test runs.
image_tag=airbyte/source-aws-cloudtrail:dev-$(realpath . | tr -d '\n' | sha256sum | cut -c1-12)
image_build() {
    bash scripts/container-runtime.sh
    local start
    start=$(date +%s)
    if ! docker build -t "$image_tag" . > target/image-build.log 2>&1; then
        tail -40 target/image-build.log
        return 1
    fi
    echo "image $image_tag built in $(($(date +%s) - start)) s: $(docker image inspect --format '{{.Size}}' \
        "$image_tag" | awk '{printf "%.1f MB", $1 / 1e6}')"
}
image_build > target/image.log 2>&1 &
image=$!
pyairbyte_rc() {
    local venv=.tools/pyairbyte-rc want
    want=$(sha256sum integration_tests/requirements-pyairbyte-rc.txt | cut -d' ' -f1)
    if [ "$(cat "$venv/.requirements.sha" 2> /dev/null)" != "$want" ]; then
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -r integration_tests/requirements-pyairbyte-rc.txt
        echo "$want" > "$venv/.requirements.sha"
    fi
}
pyairbyte_rc > target/pyairbyte-rc.log 2>&1 &
pyairbyte_rc_venv=$!
# --- end of issue 25 ---

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
# --- issue 25: the image (started at the top), for the pytest run below, whose
# integration_tests/test_image.py and standard-suite Docker tests run it. Waited for before the
# Rust tests, whose timing tests should not share the cores with a compilation.
if ! wait "$image"; then
    cat target/image.log >&2
    exit 1
fi
cat target/image.log
# --- end of issue 25 ---
cargo test --release --locked --workspace
.venv/bin/python -m pytest -q integration_tests
# --- issue 25: PyAirbyte 1.0's release candidate: the seed flows of test_pyairbyte.py
# (local_executable) and of the image (docker_image=), beside the pinned 0.71.3 above.
if ! wait "$pyairbyte_rc_venv"; then
    cat target/pyairbyte-rc.log >&2
    exit 1
fi
.tools/pyairbyte-rc/bin/python -m pytest -q integration_tests/test_pyairbyte.py \
    integration_tests/test_image.py::test_pyairbyte_runs_the_image
# --- end of issue 25 ---
