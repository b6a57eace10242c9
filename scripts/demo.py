#!/usr/bin/env python3
"""The PyAirbyte flow users run, end to end: check, read every stream into DuckDB, summarise.

    scripts/demo.py                   # against the bundled CloudTrail emulator (no AWS account)
    scripts/demo.py --config cfg.json # against real AWS, into PyAirbyte's default DuckDB cache
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # local binary: no registry lookup
os.environ.setdefault("DO_NOT_TRACK", "1")

import airbyte as ab  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")
EMULATOR = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")


def start_emulator():
    proc = subprocess.Popen(
        [EMULATOR, "--regions", "us-east-1,eu-west-1", "--events-per-region", "5000", "--span-hours", "24",
         "--insights-per-region", "4", "--insight-regions", "us-east-1"],
        stdout=subprocess.PIPE, text=True,
    )
    endpoint = json.loads(proc.stdout.readline())["endpoint"]
    return proc, {
        "aws_key_id": "AKIAEMULATOR00000001",
        "aws_secret_key": "emulator/secret/access/key/0000000000000",
        "regions": ["us-east-1", "eu-west-1"],
        "endpoint_url": endpoint,
        "start_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400)),
        "max_event_delay_minutes": 0,
        "requests_per_second": 200,  # the emulator has no quota; AWS allows 2
    }


def start_bucket():
    """s3s-fs with an organization trail's log files: 3 accounts, 2 regions, a day of deliveries."""
    sys.path.insert(0, os.path.join(ROOT, "integration_tests"))
    from local_s3 import S3

    s3 = S3()
    s3.seed("--org", "o-a1b2c3d4e5", "--accounts", "111122223333,444455556666,777788889999",
            "--regions", "us-east-1,eu-west-1", "--files-per-prefix", "48", "--events-per-file", "100",
            "--prefix", "org-trail")
    return s3, s3.trail_logs(prefix="org-trail")


def summarise_trail_events(df):
    files = df["logfilekey"].nunique()
    print(f"\n{len(df)} trail events from {files} log files in S3", end="")
    if df.empty:
        print()
        return
    print(f", {df['eventtime'].min()} to {df['eventtime'].max()}")
    for title, column in [("by category", "eventcategory"), ("by account", "logfileaccountid"),
                          ("top data events", "eventname")]:
        rows = df[df["eventcategory"] == "Data"] if title == "top data events" else df
        print(f"\n{title}:")
        for name, n in rows[column].dropna().value_counts().head(5).items():
            print(f"  {n:>7}  {name}")


def summarise(df):
    print(f"\n{len(df)} management events", end="")
    if df.empty:
        print()
        return
    first, last = df["eventtime"].min(), df["eventtime"].max()
    fmt = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    print(f" from {fmt(first)} to {fmt(last)} UTC")
    sections = [
        ("by region", "awsregion"),
        ("top calls", "eventname"),
        ("top identities", "useridentityarn"),
        ("failed calls by error", "errorcode"),
    ]
    for title, column in sections:
        counts = df[column].dropna().value_counts().head(5)
        print(f"\n{title}:")
        for name, n in counts.items():
            print(f"  {n:>7}  {name}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="connector config JSON (real AWS); default: the bundled emulator")
    a = p.parse_args()
    emulator = bucket = None
    tmp = tempfile.TemporaryDirectory()
    if a.config:
        with open(a.config) as f:
            config = json.load(f)
        cache = ab.get_default_cache()
    else:
        emulator, config = start_emulator()
        print(f"CloudTrail emulator at {config['endpoint_url']} (regions {', '.join(config['regions'])})")
        bucket, config["trail_logs"] = start_bucket()
        print(f"S3 bucket with trail log files at {bucket.endpoint} (s3s-fs)")
        cache = ab.new_local_cache("cloudtrail_demo", cache_dir=tmp.name)
    try:
        source = ab.get_source("source-aws-cloudtrail", local_executable=BIN, config=config)
        source.check()
        print("check: OK")
        source.select_all_streams()
        started = time.perf_counter()
        source.read(cache=cache)
        print(f"read into DuckDB in {time.perf_counter() - started:.1f} s")
        summarise(cache["management_events"].to_pandas())
        insights = cache["insight_events"].to_pandas()
        print(f"\n{len(insights)} Insights events", end="")
        if not insights.empty:
            kinds = insights.groupby(["insighttype", "eventname"]).size().to_dict()
            print(": " + ", ".join(f"{t} on {n} ({c})" for (t, n), c in kinds.items()), end="")
        trails = cache["trails"].to_pandas()
        print(f"\n\n{len(trails)} trails:")
        for t in trails.to_dict("records"):
            state = "logging" if t["islogging"] else "NOT logging"
            print(f"  {t['name']} ({t['homeregion']}, {state}) -> {t['logfileslocation']}")
        if "trail_logs" in config:
            summarise_trail_events(cache["trail_events"].to_pandas())
    finally:
        if emulator:
            emulator.kill()
        if bucket:
            bucket.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
