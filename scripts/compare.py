#!/usr/bin/env python3
"""Side by side, on the same emulator data in one run: this connector and the Python one it
replaces (airbyte-source-aws-cloudtrail 0.1.12, with a current boto3 so that
AWS_ENDPOINT_URL_CLOUDTRAIL reaches the emulator). A benchmark, not a test: it prints figures.

For each connector and each scenario (throttling off; the emulator enforcing 2 requests/s) it runs
a first incremental sync, adds new events (some in the same second as the newest events already
read), runs a second sync from the state the first one left, and reports records/s, wall time, CPU
seconds, peak RSS, duplicates and missing events, and the ratios.

    python3 scripts/compare.py [--events 20000] [--throttled-events 1500]

The old connector is installed on first use in .venv-legacy (airbyte-cdk 0.x, --no-deps package).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import PeakRss  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")
EMULATOR = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
LEGACY_VENV = os.path.join(ROOT, ".venv-legacy")
LEGACY = os.path.join(LEGACY_VENV, "bin", "source-aws-cloudtrail")
KEY_ID = "AKIAEMULATOR00000001"
SECRET = "emulator/secret/access/key/0000000000000"




def ensure_legacy():
    if os.path.exists(LEGACY):
        return
    subprocess.run([sys.executable, "-m", "venv", LEGACY_VENV], check=True)
    pip = [os.path.join(LEGACY_VENV, "bin", "pip"), "install", "-q"]
    subprocess.run(pip + ["airbyte-cdk==0.51.44", "boto3==1.44.8"], check=True)
    subprocess.run(pip + ["--no-deps", "airbyte-source-aws-cloudtrail==0.1.12"], check=True)


class Emulator:
    def __init__(self, *args):
        self.proc = subprocess.Popen([EMULATOR, *args], stdout=subprocess.PIPE, text=True)
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def ids_through(self, second):
        now = time.time()
        return {e["event_id"] for evs in self.call("GET", "events").values() for e in evs
                if e["visible_at"] <= now and e["event_time"] <= second}


def run(argv, env, tmp, state):
    """Runs one read; returns (record ids, last state, wall s, cpu s, peak RSS MB)."""
    if state is not None:
        path = os.path.join(tmp, f"state-{time.monotonic_ns()}.json")
        with open(path, "w") as f:
            json.dump(state, f)
        argv = argv + ["--state", path]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    peak = PeakRss(proc.pid)
    ids, last_state = [], None
    for line in proc.stdout:
        if line.startswith(b'{"type": "RECORD"') or line.startswith(b'{"type":"RECORD"'):
            ids.append(json.loads(line)["record"]["data"]["EventId"])
        elif b'"STATE"' in line:
            message = json.loads(line)
            if message.get("type") == "STATE":
                last_state = message["state"]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return ids, last_state, wall, usage.ru_utime + usage.ru_stime, peak.mb(), status


def scenario(name, events, throttle, tmp):
    args = ["--events-per-region", str(events), "--span-hours", "12", "--seed", "7"]
    if throttle:
        args += ["--throttle-rps", str(throttle)]
    emu = Emulator(*args)
    start_date = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    base = {"aws_key_id": KEY_ID, "aws_secret_key": SECRET, "aws_region_name": "us-east-1", "start_date": start_date}
    catalog = {"streams": [{"stream": {"name": "management_events", "json_schema": {},
                                       "supported_sync_modes": ["full_refresh", "incremental"]},
                            "sync_mode": "incremental", "destination_sync_mode": "append"}]}
    cat_path = os.path.join(tmp, "catalog.json")
    json.dump(catalog, open(cat_path, "w"))
    connectors = {
        "rust 2.0.0": (OURS, {**base, "endpoint_url": emu.endpoint, "max_event_delay_minutes": 0,
                              "requests_per_second": throttle or 1000}, {}),
        "python 0.1.12": (LEGACY, base, {"AWS_ENDPOINT_URL_CLOUDTRAIL": emu.endpoint}),
    }
    results = {}
    try:
        firsts = {}
        for label, (binary, config, env) in connectors.items():
            cfg = os.path.join(tmp, f"{label.split()[0]}.json")
            json.dump(config, open(cfg, "w"))
            argv = [binary, "read", "--config", cfg, "--catalog", cat_path]
            firsts[label] = (argv, env, run(argv, env, tmp, None))
        # New events after both first syncs, many in one second, then the second syncs.
        time.sleep(1.1)
        t = int(time.time()) - 1
        emu.call("POST", "events", {"region": "us-east-1", "events": [{"time": t} for _ in range(60)] + [{"time": t - 1} for _ in range(40)]})
        time.sleep(1.1)
        for label, (argv, env, first) in firsts.items():
            ids1, state, wall1, cpu1, rss1, status1 = first
            resume = [state] if state and state.get("type") == "STREAM" else (state or {}).get("data")
            ids2, _, wall2, cpu2, rss2, status2 = run(argv, env, tmp, resume)
            expected = emu.ids_through(int(time.time()))
            union = ids1 + ids2
            results[label] = {
                "records": len(union), "wall": wall1 + wall2, "cpu": cpu1 + cpu2, "rss": max(rss1, rss2),
                "duplicates": len(union) - len(set(union)), "missing": len(expected - set(union)),
                "first_rps": len(ids1) / wall1 if wall1 else 0, "ok": status1 == 0 and status2 == 0,
            }
        stats = emu.call("GET", "stats")
    finally:
        emu.proc.kill()
    print(f"\n{name}: {events} events, then 100 more; two incremental syncs each")
    print(f"  {'':15}{'records':>9}{'rec/s 1st':>11}{'wall s':>9}{'CPU s':>8}{'RSS MB':>8}{'dups':>7}{'missing':>9}  exit")
    for label, r in results.items():
        print(f"  {label:15}{r['records']:>9}{r['first_rps']:>11,.0f}{r['wall']:>9.1f}{r['cpu']:>8.2f}{r['rss']:>8.1f}"
              f"{r['duplicates']:>7}{r['missing']:>9}  {'ok' if r['ok'] else 'FAILED'}")
    a, b = results["rust 2.0.0"], results["python 0.1.12"]
    ratio = lambda x, y: (x / y) if y else float("inf")  # noqa: E731
    print(f"  ratios (python / rust): wall {ratio(b['wall'], a['wall']):.1f}x, CPU {ratio(b['cpu'], a['cpu']):.1f}x, "
          f"RSS {ratio(b['rss'], a['rss']):.1f}x, first-sync records/s {ratio(a['first_rps'], b['first_rps']):.1f}x in rust's favour")
    s = stats.get("us-east-1", {})
    print(f"  emulator: {s.get('requests', 0)} requests, {s.get('throttled', 0)} throttled")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--throttled-events", type=int, default=1500)
    a = p.parse_args()
    for path in (OURS, EMULATOR):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run cargo build --release --workspace first")
    ensure_legacy()
    with tempfile.TemporaryDirectory() as tmp:
        scenario("throttling off", a.events, None, tmp)
        if a.throttled_events:
            scenario("emulator enforcing 2 requests/s", a.throttled_events, 2, tmp)


if __name__ == "__main__":
    main()
