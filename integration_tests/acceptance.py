"""Our runner of Airbyte's connector acceptance tests (CAT needs Docker; this needs a binary).

It reads `acceptance-test-config.yml` and, for each declared suite (spec, connection, discovery,
basic_read, full_refresh, incremental), runs the connector command and performs the assertions CAT
makes (see ../shared/reference/airbyte-protocol.md). Every check that fails is collected as a
`Failure`, so a test can show both that our connector passes and that a broken one does not.

`connector` is the argv prefix of the connector (the binary, or a wrapper around it);
`config_path` replaces `secrets/config.json` (the emulator's config).
"""
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_WORDS = ("secret", "password", "token", "key_id", "external_id", "api_key")
STATUS_ORDER = ["STARTED", "RUNNING", "COMPLETE"]


@dataclass
class Failure:
    suite: str
    message: str

    def __str__(self):
        return f"[{self.suite}] {self.message}"


class Runner:
    def __init__(self, connector, config_path, acceptance_config=os.path.join(ROOT, "acceptance-test-config.yml"),
                 old_configs=()):
        with open(acceptance_config) as f:
            self.acceptance = yaml.safe_load(f)
        self.connector = list(connector)
        self.config_path = config_path
        self.old_configs = list(old_configs)
        self.failures = []
        self.tmp = tempfile.TemporaryDirectory()

    # -- plumbing ---------------------------------------------------------------------------

    def path(self, p):
        if p == "secrets/config.json":
            return self.config_path
        return p if os.path.isabs(p) else os.path.join(ROOT, p)

    def fail(self, suite, message):
        self.failures.append(Failure(suite, message))

    def check(self, suite, ok, message):
        if not ok:
            self.fail(suite, message)
        return ok

    def run(self, *args):
        out = subprocess.run([*self.connector, *args], capture_output=True, text=True, timeout=600)
        messages = []
        for line in out.stdout.splitlines():
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                messages.append({"type": "NOT_JSON", "line": line})
        return out.returncode, messages

    def write(self, name, value):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            json.dump(value, f)
        return path

    def read(self, suite, config, catalog, state=None):
        args = ["read", "--config", config, "--catalog", catalog]
        if state is not None:
            args += ["--state", self.write("state.json", state)]
        code, messages = self.run(*args)
        self.check(suite, not [m for m in messages if m["type"] == "NOT_JSON"], "stdout holds a line that is not JSON")
        return code, messages

    def spec_schema(self):
        _, messages = self.run("spec")
        specs = [m for m in messages if m.get("type") == "SPEC"]
        return specs[0]["spec"]["connectionSpecification"] if specs else {}

    def discover(self, config):
        _, messages = self.run("discover", "--config", config)
        catalogs = [m for m in messages if m.get("type") == "CATALOG"]
        return {s["name"]: s for s in catalogs[0]["catalog"]["streams"]} if catalogs else {}

    # -- suites -----------------------------------------------------------------------------

    def run_all(self):
        suites = self.acceptance.get("acceptance_tests", {})
        for name, body in suites.items():
            for test in body.get("tests", []):
                getattr(self, f"suite_{name}")(test)
        return self.failures

    def suite_spec(self, test):
        s = "spec"
        code, messages = self.run("spec")
        specs = [m for m in messages if m.get("type") == "SPEC"]
        if not self.check(s, code == 0 and len(specs) == 1, f"expected exactly one SPEC and exit 0, got {len(specs)}, exit {code}"):
            return
        spec = specs[0]["spec"]["connectionSpecification"]
        if test.get("spec_path"):
            with open(self.path(test["spec_path"])) as f:
                expected = json.load(f)
            self.check(s, expected == specs[0]["spec"], f"the spec differs from {test['spec_path']}")
        try:
            jsonschema.Draft7Validator.check_schema(spec)
        except jsonschema.SchemaError as e:
            self.fail(s, f"the connection specification is not a valid draft-07 schema: {e.message}")
            return
        with open(self.config_path) as f:
            config = json.load(f)
        for label, cfg in [("the test config", config)] + [(f"old config #{i}", c) for i, c in enumerate(self.old_configs)]:
            errors = list(jsonschema.Draft7Validator(spec).iter_errors(cfg))
            self.check(s, not errors, f"{label} does not validate against the spec: {errors[:1]}")
        self.check_schema_shape(s, spec, "connectionSpecification")
        for name, prop in spec.get("properties", {}).items():
            if any(w in name for w in SECRET_WORDS):
                self.check(s, prop.get("airbyte_secret") is True, f"{name} looks secret but is not airbyte_secret")
        if "additionalProperties" in spec:
            self.check(s, spec["additionalProperties"] is True, "additionalProperties must be true where set")

    def check_schema_shape(self, suite, schema, where):
        """Types only T or [T, "null"]; no $ref/allOf/not; no object without properties."""
        def walk(node, path):
            if isinstance(node, dict):
                for banned in ("$ref", "allOf", "not"):
                    self.check(suite, banned not in node, f"{where}{path} uses {banned}")
                t = node.get("type")
                if isinstance(t, list):
                    self.check(suite, len(t) == 2 and t[1] == "null" and isinstance(t[0], str), f"{where}{path} has type {t}")
                elif t is not None:
                    self.check(suite, isinstance(t, str), f"{where}{path} has type {t}")
                if t == "object" or (isinstance(t, list) and "object" in t):
                    self.check(suite, bool(node.get("properties")) or node.get("additionalProperties") is not None,
                               f"{where}{path} is an empty object")
                for k, v in node.items():
                    if k == "properties" and isinstance(v, dict):
                        # Member names are not keywords: a property may be called "type".
                        for name, sub in v.items():
                            walk(sub, f"{path}.properties.{name}")
                    else:
                        walk(v, f"{path}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{path}[{i}]")
        walk(schema, "")

    def suite_connection(self, test):
        s = "connection"
        code, messages = self.run("check", "--config", self.path(test["config_path"]))
        statuses = [m for m in messages if m.get("type") == "CONNECTION_STATUS"]
        errors = [m for m in messages if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"]
        want = test.get("status", "succeed")
        if want == "succeed":
            self.check(s, len(statuses) == 1 and statuses[0]["connectionStatus"]["status"] == "SUCCEEDED",
                       f"expected one SUCCEEDED status, got {statuses or errors}")
        elif want == "failed":
            ok = (len(statuses) == 1 and statuses[0]["connectionStatus"]["status"] == "FAILED" and not errors) or (
                not statuses and len(errors) == 1)
            self.check(s, ok, f"expected one FAILED status or one TRACE error, got {statuses + errors}")
            for st in statuses:
                self.check(s, bool(st["connectionStatus"].get("message")), "a FAILED status without a message")
        else:
            self.check(s, code != 0 and errors, "expected an exception (TRACE error, non-zero exit)")

    def suite_discovery(self, test):
        s = "discovery"
        code, messages = self.run("discover", "--config", self.path(test["config_path"]))
        catalogs = [m for m in messages if m.get("type") == "CATALOG"]
        if not self.check(s, code == 0 and len(catalogs) == 1, f"expected exactly one CATALOG and exit 0, got {len(catalogs)}"):
            return
        streams = catalogs[0]["catalog"]["streams"]
        names = [st["name"] for st in streams]
        self.check(s, len(names) == len(set(names)), f"stream names are not unique: {names}")
        for st in streams:
            schema = st.get("json_schema", {})
            try:
                jsonschema.Draft7Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                self.fail(s, f"{st['name']}: not a valid draft-07 schema: {e.message}")
            self.check_schema_shape(s, schema, st["name"])
            self.check(s, st.get("supported_sync_modes"), f"{st['name']}: no supported_sync_modes")
            props = schema.get("properties", {})
            lowered = [p.lower() for p in props]
            self.check(s, len(lowered) == len(set(lowered)), f"{st['name']}: two fields differ only by case")
            for cursor in st.get("default_cursor_field") or []:
                self.check(s, cursor in props, f"{st['name']}: cursor field {cursor} is not in the schema")
            for key in st.get("source_defined_primary_key") or []:
                prop = props.get(key[0])
                if self.check(s, prop is not None, f"{st['name']}: primary key {key} is not in the schema"):
                    types = prop.get("type")
                    types = types if isinstance(types, list) else [types]
                    self.check(s, not {"object", "array"} & set(types), f"{st['name']}: primary key {key} is an object or array")
            if "incremental" in st.get("supported_sync_modes", []):
                self.check(s, st.get("source_defined_cursor") and st.get("default_cursor_field"),
                           f"{st['name']}: incremental without a source-defined cursor")

    def records_by_stream(self, messages):
        out = {}
        for m in messages:
            if m.get("type") == "RECORD":
                out.setdefault(m["record"]["stream"], []).append(m["record"])
        return out

    def check_statuses_and_states(self, s, messages, streams):
        since = {}
        last = {}
        for m in messages:
            if m.get("type") == "RECORD":
                since[m["record"]["stream"]] = since.get(m["record"]["stream"], 0) + 1
            elif m.get("type") == "STATE":
                st = m["state"]
                if not self.check(s, st.get("type") == "STREAM", f"a state is not a STREAM state: {st.get('type')}"):
                    continue
                name = st["stream"]["stream_descriptor"]["name"]
                count = st.get("sourceStats", {}).get("recordCount")
                self.check(s, count is not None, f"{name}: a STATE without sourceStats.recordCount")
                if count is not None:
                    self.check(s, count == since.get(name, 0),
                               f"{name}: STATE recordCount {count} but {since.get(name, 0)} records since the previous STATE")
                since[name] = 0
                self.check(s, last.get(name) != st["stream"].get("stream_state"), f"{name}: the same state twice in a row")
                last[name] = st["stream"].get("stream_state")
        for name in streams:
            statuses = [m["trace"]["stream_status"]["status"] for m in messages
                        if m.get("type") == "TRACE" and m["trace"].get("type") == "STREAM_STATUS"
                        and m["trace"]["stream_status"]["stream_descriptor"]["name"] == name]
            deduped = [x for i, x in enumerate(statuses) if i == 0 or statuses[i - 1] != x]
            self.check(s, len(statuses) >= 3 and deduped == STATUS_ORDER,
                       f"{name}: stream statuses {statuses}, expected STARTED, RUNNING…, COMPLETE")
            self.check(s, name in last, f"{name}: no STATE emitted")

    def suite_basic_read(self, test):
        s = "basic_read"
        config = self.path(test["config_path"])
        catalog_path = self.path(test["configured_catalog_path"])
        with open(catalog_path) as f:
            catalog = json.load(f)
        streams = [c["stream"]["name"] for c in catalog["streams"]]
        schemas = {name: st["json_schema"] for name, st in self.discover(config).items()}
        code, messages = self.read(s, config, catalog_path)
        self.check(s, code == 0, f"read exited {code}")
        self.check(s, not [m for m in messages if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"],
                   "read emitted a TRACE error")
        records = self.records_by_stream(messages)
        empty_ok = {e["name"] for e in test.get("empty_streams", [])}
        for name in streams:
            self.check(s, records.get(name) or name in empty_ok, f"{name}: no records")
        for name, recs in records.items():
            schema = schemas.get(name)
            if not self.check(s, schema is not None, f"records of {name}, a stream not in the catalog"):
                continue
            validator = jsonschema.Draft7Validator(schema)
            props = set(schema.get("properties", {}))
            for r in recs:
                self.check(s, isinstance(r.get("emitted_at"), int), f"{name}: emitted_at is not an integer")
                errors = list(validator.iter_errors(r["data"]))
                if errors:
                    self.fail(s, f"{name}: a record does not match its schema: {errors[0].message}")
                    break
                extra = set(r["data"]) - props
                if test.get("fail_on_extra_columns", True) and extra:
                    self.fail(s, f"{name}: a record has columns outside the schema: {sorted(extra)}")
                    break
        self.check_statuses_and_states(s, messages, streams)
        expect = test.get("expect_records")
        if expect:
            self.compare_expected(s, expect, records, test.get("ignored_fields", {}))
        # A catalog naming a stream the source does not have must produce a TRACE error.
        bogus = {"streams": catalog["streams"] + [{**catalog["streams"][0], "stream": {**catalog["streams"][0]["stream"], "name": "no_such_stream"}}]}
        code, messages = self.read(s, config, self.write("bogus_catalog.json", bogus))
        errors = [m for m in messages if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"]
        self.check(s, errors and code != 0, "a catalog with an unknown stream did not produce a TRACE error")

    def compare_expected(self, s, expect, records, ignored):
        def strip(stream, data):
            drop = {f["name"] for f in ignored.get(stream, [])}
            return json.dumps({k: v for k, v in data.items() if k not in drop}, sort_keys=True)
        with open(self.path(expect["path"])) as f:
            expected = [json.loads(line) for line in f if line.strip()]
        actual = {(stream, strip(stream, r["data"])) for stream, recs in records.items() for r in recs}
        missing = [e for e in expected if (e["stream"], strip(e["stream"], e["data"])) not in actual]
        self.check(s, not missing, f"{len(missing)} expected records are missing, e.g. {missing[:1]}")
        if not expect.get("extra_records", True):
            self.check(s, len(actual) == len(expected), f"{len(actual)} records where {len(expected)} are expected")

    def suite_full_refresh(self, test):
        s = "full_refresh"
        config = self.path(test["config_path"])
        with open(self.path(test["configured_catalog_path"])) as f:
            catalog = json.load(f)
        for c in catalog["streams"]:
            c["sync_mode"] = "full_refresh"
            c["destination_sync_mode"] = "overwrite"
        path = self.write("full_refresh_catalog.json", catalog)
        runs = []
        for _ in range(2):
            code, messages = self.read(s, config, path)
            self.check(s, code == 0, f"read exited {code}")
            runs.append({(r["stream"], json.dumps(r["data"], sort_keys=True)) for recs in self.records_by_stream(messages).values() for r in recs})
        self.check(s, runs[0] and runs[0] <= runs[1], f"{len(runs[0] - runs[1])} records of the first read are missing from the second")

    def suite_incremental(self, test):
        s = "incremental"
        config = self.path(test["config_path"])
        catalog = self.path(test["configured_catalog_path"])
        code, first = self.read(s, config, catalog)
        self.check(s, code == 0, f"first read exited {code}")
        states = [m["state"] for m in first if m.get("type") == "STATE"]
        if not self.check(s, states, "the first read emitted no state"):
            return
        latest = {}
        for st in states:
            latest[st["stream"]["stream_descriptor"]["name"]] = st
        code, second = self.read(s, config, catalog, state=list(latest.values()))
        self.check(s, code == 0, f"second read exited {code}")
        a = {json.dumps(r["data"], sort_keys=True) for recs in self.records_by_stream(first).values() for r in recs}
        b = {json.dumps(r["data"], sort_keys=True) for recs in self.records_by_stream(second).values() for r in recs}
        self.check(s, a and b != a and not (a & b), f"the second read repeated {len(a & b)} records of the first")
        future = test.get("future_state", {}).get("future_state_path")
        if future:
            with open(self.path(future)) as f:
                state = json.load(f)
            code, messages = self.read(s, config, catalog, state=state)
            self.check(s, code == 0, f"read from the future state exited {code}")
            self.check(s, not self.records_by_stream(messages), "a future state produced records")
            self.check(s, any(m.get("type") == "STATE" for m in messages), "a future state produced no STATE")
