#!/usr/bin/env python3
"""Organization-scale benchmark of trail_events: an organization trail of ACCOUNTS x 17 regions
(one folder each, a few small files per folder) served by `cloudtrail-emulator s3-serve` with a
delay per LIST like real S3's (30 ms), read by the connector in three incremental syncs: the
first, one with nothing new, one with a few new files. With --sweep, a fourth: a late-file
sweep with a 7-day horizon (`late_file_sweep_minutes: 0`, `late_file_horizon_days: 7`), after
one file in each folder of three accounts lands late (named two days ago, landed now: its mtime,
which the server gives as LastModified) and S3's clock is moved 5 minutes ahead (the server's
`/_s3/clock`) so those landings fall before the sweep's watermark; a binary whose spec has no
`late_file_sweep_minutes` skips it. Prints figures, asserts nothing about speed: per sync the
LIST calls the server counted, wall, connector CPU seconds, peak RSS, records, STATE count, the
largest and total STATE bytes, STATE share of stdout and the final state's size; and the
server's own cost per LIST (the delay excluded), so that what is the connector's cost and what
is the server's can be told apart. Several --bin are measured one after the other on the same
corpus and server binary (each with its own server and state); the new files of the third sync
stay in the corpus, so a later binary's first sync reads them too, and the late files are
removed after the sweep.

    .venv/bin/python scripts/bench_org_trail.py [--accounts 50 1000] [--files-per-prefix 4]
        [--bin target/release/source-aws-cloudtrail ...] [--emulator target/release/cloudtrail-emulator]
        [--list-latency-ms 30] [--sweep]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from measure import PeakRss  # noqa: E402

ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "target", "release", "source-aws-cloudtrail")
EMULATOR = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
KEY_ID, SECRET, BUCKET, ORG = "AKIAS3LOCALTEST00001", "s3-local-secret/0000000000000000000000", "trail-logs", "o-a1b2c3d4e5"
REGIONS = ("us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,"
           "ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,"
           "ca-central-1,sa-east-1")
STREAM = "trail_events"
SWEEP_CONFIG = {"late_file_sweep_minutes": 0, "late_file_horizon_days": 7}
CLOCK_AHEAD = 300


def corpus(root, *args):
    started = time.perf_counter()
    out = subprocess.run([EMULATOR, "s3-corpus", "--root", root, "--bucket", BUCKET, "--org", ORG,
                          "--regions", REGIONS, "--large-fraction", "0", *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout), time.perf_counter() - started


class Server:
    def __init__(self, root, latency_ms):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen([EMULATOR, "s3-serve", "--root", root, "--port", str(port),
                                      "--access-key", KEY_ID, "--secret-key", SECRET,
                                      "--list-latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def stats(self):
        with urllib.request.urlopen(f"{self.endpoint}/_s3/stats") as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.kill()
        self.proc.wait()


    def clock(self, offset_seconds):
        """Moves S3's clock (the `Date` of its answers) `offset_seconds` ahead of the real one."""
        req = urllib.request.Request(f"{self.endpoint}/_s3/clock?offset_seconds={offset_seconds}", method="POST")
        with urllib.request.urlopen(req) as r:
            r.read()


def sweeps(binary):
    """Whether the binary has late-file sweeps (its spec names late_file_sweep_minutes)."""
    out = subprocess.run([binary, "spec"], check=True, capture_output=True, text=True).stdout
    return "late_file_sweep_minutes" in out


def land_late(root, summary_keys, landed):
    """Lands the files `summary_keys` (written on time) late: their mtime, S3's LastModified."""
    for key in summary_keys:
        os.utime(os.path.join(root, BUCKET, key), (landed, landed))


def sync(binary, tmp, server, state, trail_logs=None):
    """One incremental read (`trail_logs`: more of that config section); returns its figures and
    its last state."""
    config, catalog, state_path = (os.path.join(tmp, n) for n in ("config.json", "catalog.json", "state.json"))
    with open(config, "w") as f:
        json.dump({"regions": ["us-east-1"], "trail_logs": {
            "bucket": BUCKET, "endpoint_url": server.endpoint, "aws_key_id": KEY_ID, "aws_secret_key": SECRET,
            **(trail_logs or {})}}, f)
    with open(catalog, "w") as f:
        json.dump({"streams": [{"stream": {"name": STREAM, "json_schema": {},
                                           "supported_sync_modes": ["full_refresh", "incremental"]},
                                "sync_mode": "incremental", "destination_sync_mode": "append",
                                "cursor_field": ["logFileKey"]}]}, f)
    argv = [binary, "read", "--config", config, "--catalog", catalog]
    if state is not None:
        with open(state_path, "w") as f:
            json.dump([{"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": state}}], f)
        argv += ["--state", state_path]
    before = server.stats()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    peak = PeakRss(proc.pid)
    out = {"records": 0, "states": 0, "state_bytes": 0, "max_state": 0, "stdout": 0}
    last = None
    for line in proc.stdout:
        out["stdout"] += len(line)
        if line.startswith(b'{"type":"RECORD"'):
            out["records"] += 1
        elif line.startswith(b'{"type":"STATE"'):
            out["states"] += 1
            out["state_bytes"] += len(line)
            out["max_state"] = max(out["max_state"], len(line))
            last = line
    _, status, usage = os.wait4(proc.pid, 0)
    out["wall"] = time.perf_counter() - start
    if status != 0:
        sys.exit(f"read failed with status {status}")
    out["cpu"] = usage.ru_utime + usage.ru_stime
    out["rss"] = peak.mb()
    after = server.stats()
    out["lists"] = after["lists"] - before["lists"]
    out["gets"] = after["gets"] - before["gets"]
    out["server_list_s"] = after["list_seconds"] - before["list_seconds"]
    state = json.loads(last)["state"]["stream"]["stream_state"] if last else state
    out["final_state"] = len(json.dumps(state, separators=(",", ":"))) if state is not None else 0
    return out, state


def report(label, r):
    share = 100 * r["state_bytes"] / r["stdout"] if r["stdout"] else 0
    per_list = 1000 * r["server_list_s"] / r["lists"] if r["lists"] else 0
    print(f"  {label:<14} {r['lists']:>6} LISTs {r['gets']:>6} GETs {r['wall']:7.2f} s wall {r['cpu']:6.2f} CPU s "
          f"{r['rss']:6.1f} MB RSS {r['records']:>8} records | STATE {r['states']:>4} msgs, max {r['max_state'] / 1e3:8.1f} KB, "
          f"total {r['state_bytes'] / 1e6:7.2f} MB = {share:4.1f}% of {r['stdout'] / 1e6:7.1f} MB stdout | "
          f"final state {r['final_state'] / 1e3:8.1f} KB | server {per_list:.2f} ms/LIST own cost")


def main():
    global EMULATOR
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, nargs="+", default=[50, 1000])
    p.add_argument("--files-per-prefix", type=int, default=4)
    p.add_argument("--events-per-file", type=int, default=5)
    p.add_argument("--list-latency-ms", type=int, default=30)
    p.add_argument("--bin", action="append", help="connector binaries to compare (default: this tree's)")
    p.add_argument("--emulator", default=EMULATOR, help="the emulator that generates and serves the corpus")
    p.add_argument("--sweep", action="store_true", help="a fourth sync: a late-file sweep (7-day horizon)")
    a = p.parse_args()
    EMULATOR = a.emulator
    binaries = a.bin or [BIN]
    for path in (*binaries, EMULATOR):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: cargo build --release --workspace")
    for accounts in a.accounts:
        with tempfile.TemporaryDirectory() as root:
            summary, took = corpus(root, "--account-count", str(accounts), "--files-per-prefix", str(a.files_per_prefix),
                                   "--events-per-file", str(a.events_per_file))
            print(f"\n{accounts} accounts x 17 regions = {accounts * 17} folders, {summary['event_files']} event files, "
                  f"{summary['events']} events (generated in {took:.0f} s); LIST latency {a.list_latency_ms} ms")
            for round, binary in enumerate(binaries):
                print(f" {os.path.relpath(binary, ROOT) if binary.startswith(ROOT) else binary}:")
                server = Server(root, a.list_latency_ms)
                try:
                    with tempfile.TemporaryDirectory() as tmp:
                        first, state = sync(binary, tmp, server, None)
                        report("first sync", first)
                        idle, state = sync(binary, tmp, server, state)
                        report("nothing new", idle)
                        # A few new files: one more delivery in three accounts' folders, a day
                        # on (a later binary's first sync reads them with the rest).
                        more, _ = corpus(root, "--account-count", "3", "--files-per-prefix", "1",
                                         "--events-per-file", str(a.events_per_file), "--seed", str(7 + round),
                                         "--start", str(1_764_000_000 + 86400 * (round + 1)))
                        few, state = sync(binary, tmp, server, state)
                        report(f"+{more['event_files']} files", few)
                        if a.sweep and not sweeps(binary):
                            print("  (no late-file sweeps in this binary: no sweep sync)")
                        elif a.sweep:
                            # One file in each folder of three accounts, named two days ago,
                            # lands now; S3's clock runs ahead so the landings are before the
                            # sweep's watermark (its clock minus the 2 minutes for uploads in
                            # flight) and after the first sync's, where the folders' sweeps start.
                            manifest = os.path.join(tmp, "late.jsonl")
                            late, _ = corpus(root, "--account-count", "3", "--files-per-prefix", "1",
                                             "--events-per-file", str(a.events_per_file),
                                             "--seed", str(100 + round), "--manifest", manifest,
                                             "--start", str(int(time.time()) - 2 * 86400 + 3600 * round))
                            with open(manifest) as f:
                                keys = [json.loads(line)["key"] for line in f]
                            land_late(root, keys, int(time.time()))
                            server.clock(CLOCK_AHEAD)
                            swept, state = sync(binary, tmp, server, state, SWEEP_CONFIG)
                            report("sweep 7 days", swept)
                            print(f"  {'':<14} the sweep read {swept['gets']} of the {late['event_files']} files "
                                  f"landed ~2 days late ({swept['records']} records)")
                            for key in keys:
                                os.remove(os.path.join(root, BUCKET, key))
                finally:
                    server.stop()


if __name__ == "__main__":
    main()
