"""Every stdout line of every command validates against the official Airbyte protocol models,
and every record against its stream's schema; old configs validate against the new spec."""
import json

import jsonschema
import pytest
from airbyte_protocol.models import AirbyteMessage

from conftest import catalog_for, run_connector


def validate_lines(lines):
    for line in lines:
        AirbyteMessage.model_validate_json(line)


def test_every_message_of_every_command_is_valid(emulator, s3, tmp_path):
    files = s3.seed("--org", "o-a1b2c3d4e5", "--accounts", "111122223333", "--regions", "us-east-1,eu-west-1",
                    "--files-per-prefix", "4", "--events-per-file", "30", "--large-fraction", "0.05")
    code, messages, lines = run_connector("spec", tmp_path=tmp_path)
    assert code == 0
    validate_lines(lines)
    spec = messages[0]["spec"]["connectionSpecification"]
    jsonschema.Draft7Validator.check_schema(spec)

    config = emulator.config(regions=["us-east-1", "eu-west-1"], trail_logs=s3.trail_logs())
    jsonschema.validate(config, spec)
    code, _, lines = run_connector("check", tmp_path=tmp_path, config=config)
    assert code == 0
    validate_lines(lines)

    code, messages, lines = run_connector("discover", tmp_path=tmp_path, config=config)
    assert code == 0
    validate_lines(lines)
    schemas = {s["name"]: s["json_schema"] for s in messages[0]["catalog"]["streams"]}
    for schema in schemas.values():
        jsonschema.Draft7Validator.check_schema(schema)

    code, messages, lines = run_connector("read", tmp_path=tmp_path, config=config, catalog=catalog_for(schemas), state=[])
    assert code == 0
    validate_lines(lines)
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert sum(r["stream"] == "management_events" for r in records) == 1400
    assert sum(r["stream"] == "insight_events" for r in records) == 6
    assert sum(r["stream"] == "trail_events" for r in records) == sum(len(ids) for ids in files.values())
    validators = {name: jsonschema.Draft7Validator(s) for name, s in schemas.items()}
    for r in records:
        validators[r["stream"]].validate(r["data"])
        assert set(r["data"]) <= set(schemas[r["stream"]]["properties"]), "no column outside the schema"


@pytest.mark.parametrize("old_config", [
    # 0.1.x (boto3): start_date required, records_limit for tests.
    {"aws_key_id": "AKIA", "aws_secret_key": "s", "aws_region_name": "us-east-1", "start_date": "1970-01-01", "records_limit": 100},
    # 1.x (low-code), with the filter.
    {"aws_key_id": "AKIA", "aws_secret_key": "s", "aws_region_name": "eu-west-1", "start_date": "2024-01-01",
     "lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": "ConsoleLogin"}},
    {"aws_key_id": "AKIA", "aws_secret_key": "s", "aws_region_name": "us-east-1"},
])
def test_the_previous_connectors_configs_still_validate(old_config, tmp_path):
    _, messages, _ = run_connector("spec", tmp_path=tmp_path)
    jsonschema.validate(old_config, messages[0]["spec"]["connectionSpecification"])
