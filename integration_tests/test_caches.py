"""Every stream into PyAirbyte's DuckDB cache and its PostgresCache on a real PostgreSQL server,
with trail_events' polymorphic fields kept as the JSON they were; and the defect of PyAirbyte's
generic SQL writer (digit-only strings read back as numbers) pinned to the PyAirbyte we test with."""
import json
import uuid
from importlib.metadata import version

import airbyte as ab
import pytest
import sqlalchemy
from airbyte.caches import DuckDBCache

from conftest import BIN, catalog_for, run_connector
from local_postgres import Postgres

POLYMORPHIC = ["requestParameters", "responseElements", "additionalEventData", "serviceEventDetails",
               "sessionCredentialFromConsole", "edgeDeviceDetails", "addendum", "insightDetails"]
# An account id with a leading zero: AWS account ids are 12 digits, any of them may be 0.
ZERO_ACCOUNT = "012345678901"
CORPUS = ["--org", "o-a1b2c3d4e5", "--accounts", f"111122223333,{ZERO_ACCOUNT}", "--regions", "us-east-1",
          "--files-per-prefix", "4", "--events-per-file", "20", "--large-fraction", "0.02"]


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    yield server
    server.stop()


def make_cache(kind, postgres, tmp_path):
    if kind == "duckdb":
        return DuckDBCache(db_path=tmp_path / "cache.duckdb", schema_name="main")
    return postgres.cache(schema_name=f"cloudtrail_{uuid.uuid4().hex[:8]}")


def as_json(kind, value):
    """A JSON column's value as PyAirbyte hands it back: DuckDB gives the JSON text (SQL NULL for
    null), Postgres (psycopg2) the decoded value."""
    if kind == "duckdb":
        return None if value is None else json.loads(value)
    return value


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_every_stream_lands_in_the_cache_with_json_kept_as_json(kind, emulator, s3, postgres, tmp_path):
    s3.seed(*CORPUS)
    config = emulator.config(regions=["us-east-1", "eu-west-1"], trail_logs=s3.trail_logs())
    # What the connector emits, to compare the cache with.
    code, messages, _ = run_connector("read", tmp_path=tmp_path, config=config, catalog=catalog_for(["trail_events"]))
    assert code == 0
    emitted = {m["record"]["data"]["eventID"]: m["record"]["data"] for m in messages if m["type"] == "RECORD"}
    shapes = {type(r.get(f)).__name__ for r in emitted.values() for f in POLYMORPHIC}
    assert {"dict", "str", "NoneType"} <= shapes, "the corpus holds objects, strings and nulls"

    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=config)
    source.select_all_streams()
    cache = make_cache(kind, postgres, tmp_path)
    source.read(cache=cache)

    management = cache["management_events"].to_pandas()
    assert set(management["eventid"]) == emulator.event_ids() and len(management) == 1400
    assert len(cache["insight_events"].to_pandas()) == 6
    assert len(cache["trails"].to_pandas()) == 3
    # The corpus's digest files carry no signature: each lands, with its finding.
    digests = cache["trail_digests"].to_pandas()
    assert len(digests) == 2 and not digests["signaturevalid"].any()

    trail = cache["trail_events"].to_pandas()
    assert set(trail["eventid"]) == set(emitted) and len(trail) == len(emitted)
    # The polymorphic fields are JSON columns that give back exactly what was emitted, whatever
    # its JSON type; absent and null both read back as null.
    with cache.get_sql_engine().connect() as con:
        types = {name.lower(): t for name, t in con.execute(sqlalchemy.text(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{cache.schema_name}' and table_name = 'trail_events'")).all()}
    for field in POLYMORPHIC:
        assert types[field.lower()].lower() == "json", (field, types[field.lower()])
    for row in trail.to_dict("records"):
        record = emitted[row["eventid"]]
        for field in POLYMORPHIC:
            assert as_json(kind, row[field.lower()]) == record.get(field), (field, row["eventid"])
        assert row["eventname"] == record["eventName"]

    if kind == "duckdb":
        # DuckDB's JSON functions read the JSON columns.
        with cache.get_sql_engine().connect() as con:
            buckets = con.execute(sqlalchemy.text(
                "select count(*) from main.trail_events where eventname = 'GetObject' "
                "and json_extract_string(requestparameters, '$.bucketName') like 'data-%'")).scalar()
        assert buckets > 0
    else:
        with cache.get_sql_engine().connect() as con:
            buckets = con.execute(sqlalchemy.text(
                f"select count(*) from {cache.schema_name}.trail_events where eventname = 'GetObject' "
                "and requestparameters->>'bucketName' like 'data-%'")).scalar()
        assert buckets > 0


def test_pyairbyte_generic_writer_reads_digit_strings_as_numbers(emulator, s3, postgres, tmp_path):
    """PyAirbyte's defect, not ours (pinned to the version we test with): its generic SQL writer,
    used by the Postgres cache, reads its JSONL batches with `pandas.read_json` without dtypes,
    so a digit-only string such as the account id 012345678901 arrives as 12345678901. The
    connector emits the string; the DuckDB cache, which loads the JSONL itself, keeps it."""
    assert version("airbyte") == "0.71.3", "re-check this defect with the new PyAirbyte, then update the pin"
    s3.seed(*CORPUS)
    config = emulator.config(trail_logs=s3.trail_logs())
    code, messages, _ = run_connector("read", tmp_path=tmp_path, config=config, catalog=catalog_for(["trail_events"]))
    assert code == 0
    emitted = {m["record"]["data"]["logFileAccountId"] for m in messages if m["type"] == "RECORD"}
    assert ZERO_ACCOUNT in emitted

    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=config)
    source.select_streams(["trail_events"])
    duck = make_cache("duckdb", postgres, tmp_path)
    source.read(cache=duck)
    assert set(duck["trail_events"].to_pandas()["logfileaccountid"]) == emitted

    pg = make_cache("postgres", postgres, tmp_path)
    source.read(cache=pg)
    landed = set(pg["trail_events"].to_pandas()["logfileaccountid"])
    assert "12345678901" in landed and ZERO_ACCOUNT not in landed, landed
