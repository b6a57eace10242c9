"""The acceptance suites of acceptance-test-config.yml against our binary and the emulator, and
proof that the runner fails a connector with each kind of defect."""
import json
import os
import sys

import pytest

from acceptance import Runner
from conftest import BIN, S3, Emulator

HERE = os.path.dirname(os.path.abspath(__file__))
# The previous connector's configs: they must keep validating against the spec.
OLD_CONFIGS = [
    {"aws_key_id": "AKIA", "aws_secret_key": "s", "aws_region_name": "us-east-1", "start_date": "1970-01-01", "records_limit": 10},
    {"aws_key_id": "AKIA", "aws_secret_key": "s", "aws_region_name": "eu-west-1", "start_date": "2024-01-01",
     "lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": "ConsoleLogin"}},
]


def seeded_sources():
    """An emulator whose events are the same on every run but for their times (seed 42), and a
    bucket whose log files are the same on every run."""
    emu = Emulator("--seed", "42", "--events-per-region", "300", "--span-hours", "6")
    s3 = S3()
    s3.seed(*SEEDED_LOGS)
    return emu, s3, emu.config(trail_logs=s3.trail_logs())


SEEDED_LOGS = ["--seed", "42", "--org", "o-a1b2c3d4e5", "--accounts", "111122223333", "--regions", "us-east-1",
               "--files-per-prefix", "3", "--events-per-file", "10"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    emu, s3, config = seeded_sources()
    path = tmp_path_factory.mktemp("secrets") / "config.json"
    path.write_text(json.dumps(config))
    yield emu, str(path)
    emu.stop()
    s3.stop()


def test_our_connector_passes_every_declared_suite(seeded):
    _, config = seeded
    failures = Runner([BIN], config, old_configs=OLD_CONFIGS).run_all()
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("mode, suite, words", [
    ("broken_catalog", "discovery", "primary key"),
    ("broken_catalog", "discovery", "$ref"),
    ("record_outside_schema", "basic_read", "does not match its schema"),
    ("missing_status", "basic_read", "stream statuses"),
    ("wrong_count", "basic_read", "recordCount"),
])
def test_the_runner_catches_a_broken_connector(seeded, mode, suite, words):
    _, config = seeded
    mutant = [sys.executable, os.path.join(HERE, "mutant.py"), mode, BIN]
    failures = Runner(mutant, config, old_configs=OLD_CONFIGS).run_all()
    assert any(f.suite == suite and words in f.message for f in failures), "\n".join(map(str, failures))
