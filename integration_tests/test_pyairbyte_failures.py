"""A sync whose only problem is one unreadable region: PyAirbyte raises on the TRACE error and keeps
nothing of that read (no record, no state in its cache), while every STATE the connector emitted in
that sync is right, so a sync that keeps them (the platform's) continues where it stopped, and the
next PyAirbyte read, once the region is readable, loses nothing."""
import airbyte as ab
import pytest
import sqlalchemy
from airbyte.caches import DuckDBCache
from airbyte.exceptions import AirbyteConnectorFailedError

from conftest import BIN, catalog_for, run_connector

STREAM = "management_events"


def test_one_unreachable_region_fails_the_read_and_states_stay_right(emulator, tmp_path):
    emulator._call("POST", "faults", {"unreachable_regions": ["eu-west-1"]})
    config = emulator.config(regions=["us-east-1", "eu-west-1"])
    events = emulator.events()
    us_times = {e["event_id"]: e["event_time"] for e in events["us-east-1"]}
    eu_ids = {e["event_id"] for e in events["eu-west-1"]}

    # PyAirbyte: the read raises, naming the region, and the cache holds nothing of it.
    source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=config)
    source.select_streams([STREAM])
    cache = DuckDBCache(db_path=tmp_path / "cache.duckdb", schema_name="main")
    with pytest.raises(AirbyteConnectorFailedError) as raised:
        source.read(cache=cache)
    # The exception names the exit code and the connector's log file, where the TRACE error is.
    assert raised.value.context["exit_code"] == 1
    log = open(raised.value.log_file).read()
    assert "transient_error" in log and "eu-west-1" in log, log[-2000:]
    assert not sqlalchemy.inspect(cache.get_sql_engine()).has_table(STREAM, schema="main")
    assert not cache.get_state_provider(source_name=source.name).known_stream_names

    # The same sync, as the platform sees it: the stream fails, and every STATE it emitted says
    # only what is true: us-east-1 read through T means every us-east-1 event up to T came
    # before that STATE, and eu-west-1, never read, has no cursor.
    code, messages, _ = run_connector("read", tmp_path=tmp_path, config=config, catalog=catalog_for([STREAM]))
    assert code == 1
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert len(errors) == 1 and "eu-west-1" in errors[0]["message"], errors
    seen, states = set(), []
    for m in messages:
        if m["type"] == "RECORD":
            seen.add(m["record"]["data"]["EventId"])
        elif m["type"] == "STATE":
            regions = m["state"]["stream"]["stream_state"]["regions"]
            assert set(regions) == {"us-east-1"}, regions
            through = regions["us-east-1"]["read_through"]
            owed = {i for i, t in us_times.items() if t <= through}
            assert owed <= seen, f"{len(owed - seen)} events up to {through} not emitted before its STATE"
            states.append(m["state"])
    assert states and seen == set(us_times), "us-east-1 is read whole, nothing of eu-west-1"

    # The next sync from the last state reads eu-west-1 and nothing of us-east-1 again.
    emulator._call("POST", "faults", {})
    code, messages, _ = run_connector("read", tmp_path=tmp_path, config=config, catalog=catalog_for([STREAM]),
                                      state=[states[-1]])
    assert code == 0
    again = [m["record"]["data"]["EventId"] for m in messages if m["type"] == "RECORD"]
    assert set(again) == eu_ids and len(again) == len(eu_ids)

    # PyAirbyte kept no state, so its next read starts over and gets everything, once each.
    source.read(cache=cache)
    df = cache[STREAM].to_pandas()
    assert set(df["eventid"]) == emulator.event_ids() and len(df) == 1400
