"""Fixtures for the Python end-to-end tests: the bundled CloudTrail emulator on a free loopback
port (with its control API), the connector binary, and helpers to run it."""
import json
import os
import subprocess
import tempfile
import time

import pytest

from local_emulator import EMULATOR_BIN, KEY_ID, SECRET, Emulator  # noqa: F401  (re-exported for the tests)
from local_s3 import S3  # noqa: F401  (re-exported for the tests)

# Airbyte's FAST standard tests (test_standard_tests.py) parametrize their scenarios through it.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
# PyAirbyte fixes its default cache directory when it is imported: point it at a fresh temporary
# directory, so that every test session starts with an empty default cache.
os.environ["AIRBYTE_CACHE_ROOT"] = tempfile.mkdtemp(prefix="pyairbyte-cache-")


@pytest.fixture
def s3():
    server = S3()
    yield server
    server.stop()


@pytest.fixture
def emulator():
    emu = Emulator("--regions", "us-east-1,eu-west-1", "--events-per-region", "700", "--span-hours", "6",
                   "--insights-per-region", "3", "--insight-regions", "us-east-1")
    yield emu
    emu.stop()


def run_connector(*args, tmp_path, config=None, catalog=None, state=None):
    """Runs the binary; returns (exit code, [decoded stdout lines], raw stdout lines)."""
    argv = [BIN, *args]
    for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
        if value is not None:
            path = tmp_path / f"{flag[2:]}-{time.monotonic_ns()}.json"
            path.write_text(json.dumps(value))
            argv += [flag, str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines()]
    return out.returncode, [json.loads(line) for line in lines], lines


def catalog_for(streams, mode="incremental"):
    return {"streams": [{
        "stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": mode, "destination_sync_mode": "append",
    } for s in streams]}
