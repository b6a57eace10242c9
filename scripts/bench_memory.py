#!/usr/bin/env python3
"""Peak memory of trail_events on hostile log files: a bucket of maximal records (tens of MB each,
gzipped to a few hundred KB), half of them contradicting the schema so they take the rebuild path,
beside ordinary 250 KB records. Prints records, CPU seconds and peak RSS; asserts nothing.

    python3 scripts/bench_memory.py [--files 40] [--record-mb 48] [--bin target/release/source-aws-cloudtrail]
"""
import argparse
import gzip
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration_tests"))
from local_s3 import BUCKET, S3  # noqa: E402
from measure import read_counting  # noqa: E402

ROOT = os.path.dirname(HERE)


def put(s3, account, region, minute, body):
    day = "2025/11/24"
    key = (f"AWSLogs/{account}/CloudTrail/{region}/{day}/"
           f"{account}_CloudTrail_{region}_20251124T{minute // 60:02d}{minute % 60:02d}Z_{minute:016d}.json.gz")
    path = os.path.join(s3.root, BUCKET, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(gzip.compress(body, 6))
    return len(body)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=40, help="files of each kind")
    p.add_argument("--record-mb", type=int, default=48)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "source-aws-cloudtrail"))
    a = p.parse_args()
    s3 = S3()
    try:
        filler = "a" * (a.record_mb << 20)
        records, raw = 0, 0
        for i in range(a.files):
            fits = json.dumps({"Records": [{"eventID": f"fit-{i}", "eventTime": "2025-11-24T00:00:00Z",
                                            "requestParameters": {"policy": filler}}]}).encode()
            # readOnly as a string contradicts the schema: the whole record is rebuilt.
            rebuilt = json.dumps({"Records": [{"eventID": f"rebuilt-{i}", "readOnly": "yes",
                                               "requestParameters": {"policy": filler}}]}).encode()
            ordinary = json.dumps({"Records": [{"eventID": f"small-{i}-{j}", "requestParameters": {"p": "b" * 250_000}}
                                               for j in range(20)]}).encode()
            raw += put(s3, "111122223333", "us-east-1", 3 * i, fits)
            raw += put(s3, "111122223333", "us-east-1", 3 * i + 1, rebuilt)
            raw += put(s3, "111122223333", "us-east-1", 3 * i + 2, ordinary)
            records += 22
        print(f"bucket: {3 * a.files} files, {records} records, {raw / 1e6:.0f} MB of JSON "
              f"({a.files} records of {a.record_mb} MB fitting the schema, {a.files} to rebuild)")
        with tempfile.TemporaryDirectory() as tmp:
            config, catalog = os.path.join(tmp, "config.json"), os.path.join(tmp, "catalog.json")
            with open(config, "w") as f:
                json.dump({"trail_logs": s3.trail_logs()}, f)
            with open(catalog, "w") as f:
                json.dump({"streams": [{"stream": {"name": "trail_events", "json_schema": {},
                                                   "supported_sync_modes": ["full_refresh"]},
                                        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}, f)
            got, wall, cpu, rss = read_counting([a.bin, "read", "--config", config, "--catalog", catalog])
        print(f"{a.bin}: {got} records in {wall:.1f} s wall, {cpu:.1f} CPU s, peak RSS {rss:.0f} MB")
        if got != records:
            sys.exit(f"read {got} records of {records}")
    finally:
        s3.stop()


if __name__ == "__main__":
    main()
