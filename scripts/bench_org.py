#!/usr/bin/env python3
"""Organization benchmarks of source-aws-cloudtrail against the bundled emulator (issue #13).

Prints figures, asserts nothing about speed:
- paced: N account-regions against the emulator's 2 requests/s throttle (per account and
  region): aggregate successful pages/s (the goal: >= 0.95 x 2 x N) and the share throttled;
- throughput: records per connector CPU-second with throttling off, many accounts;
- memory: peak RSS of a sync of many accounts (the goal: flat, under 100 MB at 1,000).

    python3 scripts/bench_org.py [--paced-accounts 50 --paced-regions 2 --paced-events 1000]
        [--accounts 10 --events 20000] [--many-accounts 1000]
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BIN, EMULATOR, KEY_ID, SECRET, catalog, emulator_stats, start_emulator, write  # noqa: E402
from measure import read_counting  # noqa: E402

ROLE = "cloudtrail-reader"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]


def yesterday():
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))


def org_read(tmp, endpoint, regions, rps):
    """Reads every account of the emulated organization; returns (records, wall, cpu, rss)."""
    config = write(tmp, "config.json", {
        "aws_key_id": KEY_ID, "aws_secret_key": SECRET, "endpoint_url": endpoint, "regions": regions,
        "requests_per_second": rps, "max_event_delay_minutes": 0, "start_date": yesterday(),
        "organization": {"member_role_name": ROLE},
    })
    # STS and Organizations answer from the emulator too.
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return read_counting([BIN, "read", "--config", config, "--catalog", catalog(tmp)])


def emulator(members, regions, events, *extra):
    return start_emulator(["--accounts", str(members), "--member-role-name", ROLE, "--regions", ",".join(regions),
                           "--events-per-region", str(events), "--span-hours", "6", *extra])


def paced(tmp, members, nregions, events):
    regions = REGIONS[:nregions]
    emu, endpoint = emulator(members, regions, events, "--throttle-rps", "2")
    try:
        records, wall, cpu, rss = org_read(tmp, endpoint, regions, 2)
        stats = emulator_stats(endpoint).values()
    finally:
        emu.kill()
    n = len(stats)
    ok = sum(s["ok"] for s in stats)
    requests = sum(s["requests"] for s in stats)
    throttled = sum(s["throttled"] for s in stats)
    # The span in which every account-region was being read: from the last first page to the
    # first last page (before and after it fewer are in flight).
    together = min(s["last_ok_at"] for s in stats) - max(s["first_ok_at"] for s in stats)
    span = max(s["last_ok_at"] for s in stats) - min(s["first_ok_at"] for s in stats)
    per = sorted((s["ok"] - 1) / (s["last_ok_at"] - s["first_ok_at"]) for s in stats if s["ok"] > 1)
    aggregate = sum(per)
    print(f"paced: {members + 1} accounts x {nregions} regions = {n} account-regions, emulator throttling each at 2 requests/s:")
    print(f"  records            {records} in {wall:.1f} s; connector CPU {cpu:.2f} s; peak RSS {rss:.1f} MB")
    print(f"  requests           {requests} ({ok} ok, {throttled} throttled = {100 * throttled / requests:.2f}%)")
    print(f"  per account-region {per[0]:.3f} .. {per[-1]:.3f} successful pages/s (median {per[len(per) // 2]:.3f})")
    print(f"  aggregate          {aggregate:.1f} successful pages/s (sum of the per-account-region rates; goal >= {0.95 * 2 * n:.0f})")
    print(f"  overall            {ok / span:.1f} pages/s from the first page to the last ({span:.1f} s; all {n} in flight together for {together:.1f} s)")


def throughput(tmp, members, events):
    emu, endpoint = emulator(members - 1, ["us-east-1"], events)
    try:
        records, wall, cpu, rss = org_read(tmp, endpoint, ["us-east-1"], 100000)
    finally:
        emu.kill()
    print(f"throughput: {members} accounts x 1 region, throttling off:")
    print(f"  records            {records} in {wall:.2f} s -> {records / wall:,.0f} records/s end to end")
    print(f"  connector CPU      {cpu:.2f} s -> {records / cpu:,.0f} records per CPU-second")
    print(f"  peak RSS           {rss:.1f} MB")


def memory(tmp, accounts):
    emu, endpoint = emulator(accounts - 1, ["us-east-1"], 50)
    try:
        records, wall, cpu, rss = org_read(tmp, endpoint, ["us-east-1"], 100000)
    finally:
        emu.kill()
    print(f"memory: {accounts} accounts x 1 region, 50 events each:")
    print(f"  records            {records} in {wall:.1f} s; connector CPU {cpu:.2f} s")
    print(f"  peak RSS           {rss:.1f} MB")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paced-accounts", type=int, default=50, help="accounts of the paced run (0 to skip)")
    p.add_argument("--paced-regions", type=int, default=2)
    p.add_argument("--paced-events", type=int, default=1000, help="events per account-region of the paced run")
    p.add_argument("--accounts", type=int, default=10, help="accounts of the throughput run (0 to skip)")
    p.add_argument("--events", type=int, default=20000, help="events per account of the throughput run")
    p.add_argument("--many-accounts", type=int, default=1000, help="accounts of the memory run (0 to skip)")
    a = p.parse_args()
    for path in (BIN, EMULATOR):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run cargo build --release --workspace first")
    with tempfile.TemporaryDirectory() as tmp:
        if a.paced_accounts:
            paced(tmp, a.paced_accounts - 1, a.paced_regions, a.paced_events)
        if a.accounts:
            throughput(tmp, a.accounts, a.events)
        if a.many_accounts:
            memory(tmp, a.many_accounts)


if __name__ == "__main__":
    main()
