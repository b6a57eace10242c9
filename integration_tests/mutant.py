#!/usr/bin/env python3
"""A deliberately broken connector: runs the real binary and corrupts its output one way, so the
acceptance runner can be shown to catch each defect.

    mutant.py MODE BINARY ARGS...
MODE: broken_catalog | record_outside_schema | missing_status | wrong_count
"""
import json
import subprocess
import sys


def mutate(mode, m):
    t = m.get("type")
    if mode == "broken_catalog" and t == "CATALOG":
        for s in m["catalog"]["streams"]:
            s["json_schema"]["properties"].pop("EventId", None)
            s["json_schema"]["properties"]["Nested"] = {"$ref": "#/definitions/Nested"}
    elif mode == "record_outside_schema" and t == "RECORD":
        m["record"]["data"]["EventTime"] = "yesterday"
    elif mode == "missing_status" and t == "TRACE" and m["trace"].get("type") == "STREAM_STATUS":
        if m["trace"]["stream_status"]["status"] == "RUNNING":
            return None
    elif mode == "wrong_count" and t == "STATE":
        m["state"]["sourceStats"]["recordCount"] += 1
    return m


def main():
    mode, argv = sys.argv[1], sys.argv[2:]
    out = subprocess.run(argv, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        m = mutate(mode, json.loads(line))
        if m is not None:
            print(json.dumps(m))
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
