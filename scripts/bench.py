#!/usr/bin/env python3
"""Benchmarks of source-aws-cloudtrail against the bundled emulator.

Prints figures, asserts nothing about speed: records/s end to end, connector CPU seconds per
100,000 records, records per CPU-second, peak RSS, the paced rate against a 2 requests/s
throttle, and how fast `spec` answers.

    python3 scripts/bench.py [--events 100000] [--regions 1] [--throttled-events 2000]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import read_counting  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")
EMULATOR = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
KEY_ID = "AKIAEMULATOR00000001"
SECRET = "emulator/secret/access/key/0000000000000"




def start_emulator(args):
    proc = subprocess.Popen([EMULATOR, *args], stdout=subprocess.PIPE, text=True)
    endpoint = json.loads(proc.stdout.readline())["endpoint"]
    return proc, endpoint


def emulator_stats(endpoint):
    with urllib.request.urlopen(endpoint + "/_emulator/stats") as r:
        return json.load(r)


def write(dirname, name, value):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        json.dump(value, f)
    return path


def run_read(config, catalog):
    """Runs `read`; returns (records, wall s, cpu s, peak RSS MB)."""
    return read_counting([BIN, "read", "--config", config, "--catalog", catalog])


def catalog(tmp):
    return write(tmp, "catalog.json", {"streams": [{
        "stream": {"name": "management_events", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})


def throughput(tmp, events, regions):
    names = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"][:regions]
    emu, endpoint = start_emulator(["--events-per-region", str(events), "--span-hours", "6", "--regions", ",".join(names)])
    try:
        config = write(tmp, "config.json", {
            "aws_key_id": KEY_ID, "aws_secret_key": SECRET, "endpoint_url": endpoint, "regions": names,
            "requests_per_second": 100000, "max_event_delay_minutes": 0,
            "start_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)),
        })
        records, wall, cpu, rss = run_read(config, catalog(tmp))
    finally:
        emu.kill()
    print(f"throughput ({regions} region(s), throttling off):")
    print(f"  records            {records}")
    print(f"  wall time          {wall:.2f} s  ->  {records / wall:,.0f} records/s end to end")
    print(f"  connector CPU      {cpu:.2f} s  ->  {cpu * 100000 / records:.2f} CPU s per 100,000 records, {records / cpu:,.0f} records per CPU-second")
    print(f"  peak RSS           {rss:.1f} MB")


def paced(tmp, events):
    emu, endpoint = start_emulator(["--events-per-region", str(events), "--span-hours", "1", "--throttle-rps", "2"])
    try:
        config = write(tmp, "config.json", {
            "aws_key_id": KEY_ID, "aws_secret_key": SECRET, "endpoint_url": endpoint,
            "requests_per_second": 2, "max_event_delay_minutes": 0,
            "start_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)),
        })
        records, wall, cpu, rss = run_read(config, catalog(tmp))
        s = emulator_stats(endpoint)["us-east-1"]
    finally:
        emu.kill()
    rate = (s["ok"] - 1) / (s["last_ok_at"] - s["first_ok_at"])
    print("paced against an emulator enforcing 2 requests/s:")
    print(f"  records            {records} in {wall:.1f} s ({records / wall:,.0f} records/s)")
    print(f"  requests           {s['requests']} ({s['ok']} ok, {s['throttled']} throttled = {100 * s['throttled'] / s['requests']:.1f}%)")
    print(f"  sustained rate     {rate:.3f} successful requests/s")


def spec_latency():
    times = []
    for _ in range(30):
        t = time.perf_counter()
        subprocess.run([BIN, "spec"], stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t) * 1000)
    print(f"spec: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over 30 runs")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100000, help="events per region for the throughput run")
    p.add_argument("--regions", type=int, default=1)
    p.add_argument("--throttled-events", type=int, default=2000, help="events for the paced run (0 to skip)")
    a = p.parse_args()
    for path in (BIN, EMULATOR):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run cargo build --release --workspace first")
    with tempfile.TemporaryDirectory() as tmp:
        throughput(tmp, a.events, a.regions)
        if a.throttled_events:
            paced(tmp, a.throttled_events)
    spec_latency()


if __name__ == "__main__":
    main()
