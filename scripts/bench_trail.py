#!/usr/bin/env python3
"""Benchmark of the trail_events and trail_digests streams: a generated trail (about 1 GB of
CloudTrail JSON in thousands of .json.gz files, mixed record sizes, with hourly signed digests)
served by s3s-fs, read by the connector with the real aws-sdk-s3 (the digests' public keys from
the emulator's ListPublicKeys). Prints figures, asserts nothing about speed:

- MB/s of uncompressed CloudTrail JSON turned into Airbyte records, per wall second and per
  connector CPU-second, records/s, peak RSS;
- MB/s of log files validated by trail_digests (each downloaded, gunzipped and hashed), per wall
  second and per connector CPU-second, next to trail_events' own;
- in the same run, the physical floor: `gzip -dc` and the connector's own decompressor
  (zlib-rs through flate2, `cloudtrail-emulator gunzip`) over the same files, to /dev/null.

    python3 scripts/bench_trail.py [--files-per-prefix 500] [--events-per-file 300]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration_tests"))
from local_emulator import Emulator  # noqa: E402
from local_s3 import EMULATOR_BIN, S3  # noqa: E402
from measure import read_counting  # noqa: E402

ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def read(s3, tmp, stream="trail_events", emulator=None, **filters):
    config = os.path.join(tmp, "config.json")
    catalog = os.path.join(tmp, "catalog.json")
    with open(config, "w") as f:
        json.dump({**(emulator.config() if emulator else {}), "trail_logs": s3.trail_logs(**filters)}, f)
    with open(catalog, "w") as f:
        json.dump({"streams": [{"stream": {"name": stream, "json_schema": {},
                                           "supported_sync_modes": ["full_refresh", "incremental"]},
                                "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}, f)
    return read_counting([BIN, "read", "--config", config, "--catalog", catalog])


def gzip_floor(root):
    """CPU seconds of `gzip -dc` over every event file, to /dev/null."""
    before = children_cpu()
    start = time.perf_counter()
    subprocess.run(["sh", "-c", f"find '{root}' -path '*/CloudTrail/*' -name '*.json.gz' -print0"
                    " | xargs -0 gzip -dc > /dev/null"], check=True)
    return time.perf_counter() - start, children_cpu() - before


def rust_floor(root):
    out = subprocess.run([EMULATOR_BIN, "gunzip", root], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files-per-prefix", type=int, default=500)
    p.add_argument("--events-per-file", type=int, default=300)
    p.add_argument("--runs", type=int, default=2)
    a = p.parse_args()
    s3 = S3()
    emulator = Emulator()
    try:
        started = time.perf_counter()
        s3.seed("--org", "o-a1b2c3d4e5", "--accounts", "111122223333,444455556666", "--regions", "us-east-1,eu-west-1",
                "--files-per-prefix", str(a.files_per_prefix), "--events-per-file", str(a.events_per_file),
                "--large-fraction", "0.002", "--digests", "on")
        corpus = s3.summary
        mb = corpus["uncompressed_bytes"] / 1e6
        print(f"corpus: {corpus['event_files']} event files (+{corpus['other_files']} digest/Insights), "
              f"{corpus['events']} events, {mb:.0f} MB of JSON, {corpus['compressed_bytes'] / 1e6:.0f} MB gzipped "
              f"(generated in {time.perf_counter() - started:.0f} s)")
        with tempfile.TemporaryDirectory() as tmp:
            best = None
            for run in range(a.runs):
                records, wall, cpu, rss = read(s3, tmp)
                if records != corpus["events"]:
                    sys.exit(f"read {records} records of {corpus['events']} events")
                print(f"read {run + 1}: {records} records in {wall:.2f} s wall, {cpu:.2f} CPU s, peak RSS {rss:.1f} MB")
                if best is None or cpu < best[2]:
                    best = (records, wall, cpu, rss)
        records, wall, cpu, rss = best
        gz_wall, gz_cpu = gzip_floor(s3.root)
        rust = rust_floor(os.path.join(s3.root, "trail-logs"))
        rust_mb = rust["uncompressed_bytes"] / 1e6
        per_core = mb / cpu
        print("\ntrail_events (best run):")
        print(f"  {mb / wall:8.0f} MB/s of CloudTrail JSON end to end (wall; s3s-fs shares the 2 cores)")
        print(f"  {per_core:8.0f} MB/s per connector CPU-second")
        print(f"  {records / wall:8.0f} records/s end to end, {records / cpu:.0f} records per CPU-second")
        print(f"  {rss:8.1f} MB peak RSS")
        # A filter that keeps about a tenth: decided in the scanner, before a record is built.
        keep = ["lambda.amazonaws.com"]
        with tempfile.TemporaryDirectory() as tmp:
            kept, f_wall, f_cpu, f_rss = read(s3, tmp, event_sources=keep)
        print(f"\ntrail_events with event_sources={keep} ({kept} of {records} records kept, {kept / records:.0%}):")
        print(f"  {f_cpu:8.2f} CPU s (unfiltered: {cpu:.2f}) -> {f_cpu / cpu:.0%} of the unfiltered CPU")
        print(f"  {mb / f_cpu:8.0f} MB/s per connector CPU-second, {f_rss:.1f} MB peak RSS")
        with tempfile.TemporaryDirectory() as tmp:
            digests, d_wall, d_cpu, d_rss = read(s3, tmp, "trail_digests", emulator)
        if digests != corpus["other_files"] - 4 * 1:  # one Insights file per account-region
            print(f"(read {digests} digests)")
        print(f"\ntrail_digests ({digests} digests, every listed log file downloaded, gunzipped, hashed):")
        print(f"  {mb / d_wall:8.0f} MB/s of log files validated end to end (wall)")
        print(f"  {mb / d_cpu:8.0f} MB/s per connector CPU-second (trail_events: {per_core:.0f})")
        print(f"  {d_rss:8.1f} MB peak RSS")
        print("decompression floor, same files, to /dev/null:")
        print(f"  gzip -dc : {mb / gz_cpu:8.0f} MB/s per CPU-second -> trail_events is {per_core / (mb / gz_cpu):.0%} of it")
        print(f"  zlib-rs  : {rust_mb / rust['seconds']:8.0f} MB/s (flate2, one thread, from memory) -> trail_events is "
              f"{per_core / (rust_mb / rust['seconds']):.0%} of it")
    finally:
        s3.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
