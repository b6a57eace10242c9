"""The bundled CloudTrail emulator on a free loopback port, with its control API: for the Python
tests and the benchmarks (no pytest needed)."""
import json
import os
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR_BIN = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
KEY_ID = "AKIAEMULATOR00000001"
SECRET = "emulator/secret/access/key/0000000000000"


class Emulator:
    def __init__(self, *args):
        self.proc = subprocess.Popen([EMULATOR_BIN, *args], stdout=subprocess.PIPE, text=True)
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + "/_emulator/" + path, data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def events(self):
        """Visible management events: {region: [event, ...]}."""
        now = time.time()
        return {
            region: [e for e in evs if e["visible_at"] <= now and not e["insight"]]
            for region, evs in self._call("GET", "events").items()
        }

    def event_ids(self):
        return {e["event_id"] for evs in self.events().values() for e in evs}

    def insight_ids(self):
        return {e["event_id"] for evs in self._call("GET", "events").values() for e in evs if e["insight"]}

    def add(self, region, times):
        return self._call("POST", "events", {"region": region, "events": [{"time": t} for t in times]})

    def stats(self):
        return self._call("GET", "stats")

    def config(self, **extra):
        c = {
            "aws_key_id": KEY_ID,
            "aws_secret_key": SECRET,
            "endpoint_url": self.endpoint,
            "requests_per_second": 500,
            "max_event_delay_minutes": 0,
            "start_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400)),
        }
        c.update(extra)
        return c

    def stop(self):
        self.proc.kill()
        self.proc.wait()
