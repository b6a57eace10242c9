"""Fixtures for the Python end-to-end tests: the bundled CloudTrail emulator on a free loopback
port (with its control API), the connector binary, and helpers to run it."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

import pytest

from local_s3 import S3  # noqa: F401  (re-exported for the tests)

# Airbyte's FAST standard tests (test_standard_tests.py) parametrize their scenarios through it.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")
EMULATOR_BIN = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
KEY_ID = "AKIAEMULATOR00000001"
SECRET = "emulator/secret/access/key/0000000000000"

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
# PyAirbyte fixes its default cache directory when it is imported: point it at a fresh temporary
# directory, so that every test session starts with an empty default cache.
os.environ["AIRBYTE_CACHE_ROOT"] = tempfile.mkdtemp(prefix="pyairbyte-cache-")


class Emulator:
    def __init__(self, *args):
        self.proc = subprocess.Popen([EMULATOR_BIN, *args], stdout=subprocess.PIPE, text=True)
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + "/_emulator/" + path, data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def events(self):
        """Visible management events: {region: [event, ...]}."""
        now = time.time()
        return {
            region: [e for e in evs if e["visible_at"] <= now and not e["insight"]]
            for region, evs in self._call("GET", "events").items()
        }

    def event_ids(self):
        return {e["event_id"] for evs in self.events().values() for e in evs}

    def insight_ids(self):
        return {e["event_id"] for evs in self._call("GET", "events").values() for e in evs if e["insight"]}

    def add(self, region, times):
        return self._call("POST", "events", {"region": region, "events": [{"time": t} for t in times]})

    def stats(self):
        return self._call("GET", "stats")

    def config(self, **extra):
        c = {
            "aws_key_id": KEY_ID,
            "aws_secret_key": SECRET,
            "endpoint_url": self.endpoint,
            "requests_per_second": 500,
            "max_event_delay_minutes": 0,
            "start_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400)),
        }
        c.update(extra)
        return c

    def stop(self):
        self.proc.kill()
        self.proc.wait()


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
