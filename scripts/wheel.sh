#!/usr/bin/env bash
# Builds the portable Linux wheel that carries the binary (manylinux2014 x86_64, linked against glibc 2.17 by zig) into target/wheels/, and checks it with auditwheel.
# maturin's --zig is cargo-zigbuild's linker wrapper; maturin, ziglang and auditwheel come from PyPI
# into .tools/wheel (never the system Python). The build has a target directory of its own
# (target/x86_64-unknown-linux-gnu/), so it does not disturb the native build in target/release.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.tools/wheel
PINS="maturin==1.16.0 ziglang==0.17.0 auditwheel==6.8.2"
PY=${PYTHON:-python3}
if [ "$(cat "$TOOLS/.pins" 2>/dev/null)" != "$PINS" ]; then
    rm -rf "$TOOLS"
    "$PY" -m venv "$TOOLS"
    # shellcheck disable=SC2086
    "$TOOLS/bin/python" -m pip install --quiet $PINS
    echo "$PINS" > "$TOOLS/.pins"
fi

out=target/wheels
rm -f "$out"/airbyte_source_aws_cloudtrail-*.whl
start=$(date +%s)
# The tools' bin first on PATH: maturin runs zig as `python3 -m ziglang`.
PATH="$PWD/$TOOLS/bin:$PATH" "$TOOLS/bin/maturin" build --quiet --release --locked --strip \
    --zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu --out "$out"
wheel=$(ls "$out"/airbyte_source_aws_cloudtrail-*.whl)
echo "built $wheel ($(du -k "$wheel" | cut -f1) KB) in $(( $(date +%s) - start )) s"
"$TOOLS/bin/auditwheel" show "$wheel"
