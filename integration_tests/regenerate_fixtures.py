#!/usr/bin/env python3
"""Rewrites integration_tests/spec.json and expected_records.jsonl from the current binary and the
seeded emulator. Run after changing the spec or the record; review the diff before committing."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import BIN, catalog_for  # noqa: E402
from test_acceptance import seeded_sources  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    spec = json.loads(subprocess.run([BIN, "spec"], capture_output=True, text=True, check=True).stdout)["spec"]
    with open(os.path.join(HERE, "spec.json"), "w") as f:
        json.dump(spec, f, indent=2, sort_keys=True)
        f.write("\n")
    emu, s3, cfg = seeded_sources()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config, catalog = os.path.join(tmp, "c.json"), os.path.join(tmp, "cat.json")
            json.dump(cfg, open(config, "w"))
            json.dump(catalog_for(["management_events", "trail_events"]), open(catalog, "w"))
            out = subprocess.run([BIN, "read", "--config", config, "--catalog", catalog], capture_output=True, text=True, check=True)
    finally:
        emu.stop()
        s3.stop()
    records = [json.loads(line)["record"] for line in out.stdout.splitlines() if line.startswith('{"type":"RECORD"')]
    records.sort(key=lambda r: (r["stream"], r["data"].get("EventId") or r["data"].get("eventID")))
    with open(os.path.join(HERE, "expected_records.jsonl"), "w") as f:
        for r in records:
            data = {k: v for k, v in r["data"].items() if k not in ("EventTime", "CloudTrailEvent")}
            f.write(json.dumps({"stream": r["stream"], "data": data, "emitted_at": 1795500000000}, sort_keys=True) + "\n")
    print(f"spec.json and {len(records)} expected records written")


if __name__ == "__main__":
    main()
