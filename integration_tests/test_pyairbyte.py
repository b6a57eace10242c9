"""The exact flow PyAirbyte users run, against the emulator, into a real DuckDB cache."""
import json
import time

import airbyte as ab
import sqlalchemy
import pytest
from airbyte.exceptions import AirbyteConnectorCheckFailedError

from conftest import BIN

# Column in the cache -> where it comes from in the CloudTrail record.
FLATTENED = {
    "awsregion": ("awsRegion",), "sourceipaddress": ("sourceIPAddress",), "useragent": ("userAgent",),
    "eventtype": ("eventType",), "eventcategory": ("eventCategory",), "eventversion": ("eventVersion",),
    "recipientaccountid": ("recipientAccountId",), "requestid": ("requestID",), "errorcode": ("errorCode",),
    "useridentitytype": ("userIdentity", "type"), "useridentityaccountid": ("userIdentity", "accountId"),
    "useridentityarn": ("userIdentity", "arn"), "useridentityprincipalid": ("userIdentity", "principalId"),
    "sessionissuerarn": ("userIdentity", "sessionContext", "sessionIssuer", "arn"),
}


def dig(record, path):
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None
    return record


def test_check_read_into_duckdb_then_read_only_new_events(emulator):
    # The default cache, in a temporary directory (conftest sets AIRBYTE_CACHE_ROOT).
    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=emulator.config(regions=["us-east-1", "eu-west-1"]))
    source.check()
    assert "management_events" in source.get_available_streams()
    source.select_all_streams()
    cache = ab.get_default_cache()
    source.read(cache=cache)

    df = cache["management_events"].to_pandas()
    assert set(df["eventid"]) == emulator.event_ids()
    assert len(df) == 1400
    for column in ("awsregion", "eventversion", "useridentitytype", "requestid"):
        assert df[column].notna().all(), column
    for row in df.to_dict("records"):
        record = json.loads(row["cloudtrailevent"])
        for column, path in FLATTENED.items():
            value = row[column] if isinstance(row[column], str) else None
            assert value == dig(record, path), (column, row["eventid"])
    assert set(df["awsregion"]) == {"us-east-1", "eu-west-1"}
    assert set(df["eventversion"]) == {"1.08"}
    assert set(df["readonly"]) <= {"true", "false"}

    insights = cache["insight_events"].to_pandas()
    assert set(insights["eventid"]) == emulator.insight_ids() and len(insights) == 6
    assert set(insights["insightstate"]) == {"Start", "End"}
    assert insights["insighttype"].notna().all() and insights["baselineaverage"].notna().all()

    trails = cache["trails"].to_pandas()
    assert sorted(trails["name"]) == ["eu-audit", "management-events", "organization-trail"]
    assert trails["trailarn"].is_unique and trails["s3bucketname"].notna().all()

    # New events after the first sync's cursor; PyAirbyte hands back the state it kept.
    time.sleep(1.1)
    now = int(time.time()) - 1
    emulator.add("us-east-1", [now] * 7)
    emulator.add("eu-west-1", [now] * 5)
    time.sleep(1.1)
    returned_before = sum(s["events_returned"] for s in emulator.stats().values())
    source.read(cache=cache)
    returned = sum(s["events_returned"] for s in emulator.stats().values()) - returned_before
    assert returned == 12, "only the new events are fetched again"
    df = cache["management_events"].to_pandas()
    assert set(df["eventid"]) == emulator.event_ids()


def test_a_wrong_secret_fails_check_with_our_message(emulator):
    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=emulator.config(aws_secret_key="wrong"))
    with pytest.raises(AirbyteConnectorCheckFailedError) as raised:
        source.check()
    text = str(raised.value) + repr(getattr(raised.value, "__dict__", {}))
    assert "InvalidSignatureException" in text and "aws_secret_key" in text


def test_trail_events_from_s3_into_duckdb_then_only_new_files(emulator, s3):
    org = ["--org", "o-a1b2c3d4e5", "--accounts", "111122223333,444455556666", "--regions", "us-east-1,eu-west-1",
           "--events-per-file", "25", "--large-fraction", "0.01"]
    files = s3.seed(*org, "--files-per-prefix", "8")
    expected = {i for ids in files.values() for i in ids}
    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN,
                           config=emulator.config(trail_logs=s3.trail_logs()))
    source.check()
    assert "trail_events" in source.get_available_streams()
    source.select_streams(["trail_events"])
    cache = ab.get_default_cache()
    source.read(cache=cache)

    df = cache["trail_events"].to_pandas()
    assert set(df["eventid"]) == expected and len(df) == len(expected)
    assert set(df["logfilekey"]) == set(files)
    assert set(df["logfileorganizationid"]) == {"o-a1b2c3d4e5"}
    assert str(df["eventtime"].dtype).startswith("datetime64") and df["eventtime"].notna().all()
    assert set(df["readonly"].dropna()) <= {True, False}
    assert set(df["eventcategory"]) == {"Management", "Data"}
    # Polymorphic fields stay JSON whatever their shape: DuckDB's JSON functions read them.
    engine = cache.get_sql_engine()
    with engine.connect() as con:
        buckets = con.execute(sqlalchemy.text(
            "select count(*) from main.trail_events where eventname = 'GetObject' "
            "and json_extract_string(requestparameters, '$.bucketName') like 'data-%'")).scalar()
    assert buckets > 0

    # Later deliveries: the second read takes only the new files.
    later = s3.seed(*org, "--files-per-prefix", "3", "--start", str(1_764_000_000 + 8 * 300 + 3600), "--seed", "7")
    new = {i for ids in later.values() for i in ids}
    result = source.read(cache=cache)
    assert result.processed_records == len(new)
    df = cache["trail_events"].to_pandas()
    assert set(df["eventid"]) == expected | new and len(df) == len(expected | new)
