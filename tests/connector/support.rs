//! Test support: an emulator on a free loopback port, config/catalog/state files, and a runner
//! that executes the real binary and decodes its stdout into Airbyte messages.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use cloudtrail_emulator::{
    Emulator, EmulatorConfig, ListedEvent, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY,
};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_source-aws-cloudtrail");
pub const STREAM: &str = "management_events";

pub fn now() -> i64 {
    cloudtrail_emulator::now() as i64
}

/// An emulator plus a scratch directory for the files handed to the connector.
pub struct Env {
    pub emulator: Emulator,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
    files: std::cell::Cell<u32>,
}

impl Env {
    pub fn new(cfg: EmulatorConfig) -> Env {
        let emulator = Emulator::new(&cfg);
        let endpoint = emulator.clone().spawn().expect("emulator starts");
        Env {
            emulator,
            endpoint,
            dir: tempfile::tempdir().unwrap(),
            files: std::cell::Cell::new(0),
        }
    }

    /// `events` per region in `regions`, spread over the last `span_secs` ending `min_age` ago.
    pub fn with_events(regions: &[&str], events: usize, span_secs: i64, min_age_secs: i64) -> Env {
        Env::new(EmulatorConfig {
            regions: regions.iter().map(|r| r.to_string()).collect(),
            events_per_region: events,
            span_secs,
            min_age_secs,
            ..EmulatorConfig::default()
        })
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let n = self.files.get();
        self.files.set(n + 1);
        let path = self.dir.path().join(format!("{n}-{name}"));
        std::fs::write(&path, content).unwrap();
        path
    }

    /// A config for the emulator with valid keys, merged with `extra`.
    pub fn config(&self, extra: Value) -> PathBuf {
        let mut c = json!({
            "aws_key_id": DEFAULT_ACCESS_KEY_ID,
            "aws_secret_key": DEFAULT_SECRET_ACCESS_KEY,
            "endpoint_url": self.endpoint,
            "requests_per_second": 500,
            "max_event_delay_minutes": 0,
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        self.file("config.json", &c.to_string())
    }

    pub fn catalog(&self, mode: &str) -> PathBuf {
        self.file("catalog.json", &catalog_json(&[STREAM], mode).to_string())
    }

    /// Every visible event per region with time <= `through`.
    pub fn visible_ids(&self, through: i64) -> HashSet<String> {
        let now = cloudtrail_emulator::now();
        self.emulator
            .events()
            .values()
            .flatten()
            .filter(|e| e.visible_at <= now && e.event_time <= through && !e.insight)
            .map(|e| e.event_id.clone())
            .collect()
    }

    pub fn add(&self, region: &str, events: Vec<Value>) -> Vec<ListedEvent> {
        self.emulator.add_events(
            serde_json::from_value(json!({"region": region, "events": events})).unwrap(),
        )
    }

    /// `read` arguments for `streams` (incremental) from `state`.
    pub fn read_args(
        &self,
        config: &std::path::Path,
        streams: &[&str],
        mode: &str,
        state: Option<&Value>,
    ) -> Vec<String> {
        let catalog = self.file("catalog.json", &catalog_json(streams, mode).to_string());
        let mut args = vec![
            "read".to_string(),
            "--config".into(),
            path(config),
            "--catalog".into(),
            path(&catalog),
        ];
        if let Some(s) = state {
            let p = self.file("state.json", &s.to_string());
            args.push("--state".into());
            args.push(path(&p));
        }
        args
    }

    pub fn read(&self, config: &std::path::Path, mode: &str, state: Option<&Value>) -> Run {
        self.read_streams(config, &[STREAM], mode, state)
    }

    pub fn read_streams(
        &self,
        config: &std::path::Path,
        streams: &[&str],
        mode: &str,
        state: Option<&Value>,
    ) -> Run {
        self.read_streams_env(config, streams, mode, state, &[])
    }

    /// `read_streams` with these environment variables set.
    pub fn read_streams_env(
        &self,
        config: &std::path::Path,
        streams: &[&str],
        mode: &str,
        state: Option<&Value>,
        env: &[(&str, &str)],
    ) -> Run {
        let args = self.read_args(config, streams, mode, state);
        exec(&args.iter().map(String::as_str).collect::<Vec<_>>(), env)
    }

    pub fn check(&self, config: &std::path::Path, env: &[(&str, &str)]) -> Run {
        exec(&["check", "--config", &path(config)], env)
    }
}

pub fn catalog_json(streams: &[&str], mode: &str) -> Value {
    json!({"streams": streams.iter().map(|s| json!({
        "stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": mode, "destination_sync_mode": "append", "cursor_field": ["EventTime"], "primary_key": [["EventId"]]
    })).collect::<Vec<_>>()})
}

pub fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A command with the caller's AWS environment removed, so that tests see only what they set.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn exec(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = command(args, env).output().expect("binary runs");
    Run::decode(
        &out.stdout,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts the binary with stdout piped, for tests that kill it.
pub fn spawn(args: &[&str]) -> Child {
    command(args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads `streams` incrementally from `state` and kills the process with SIGKILL once
/// `kill_after` has passed and it has written at least one STATE (so that every run makes
/// progress however slow the machine, and the kill still lands at any moment after); returns
/// the `id_field` of every record and the last state seen (both as far as the lines before the
/// kill go), and whether the run completed first.
pub fn read_and_kill(
    env: &Env,
    config: &std::path::Path,
    streams: &[&str],
    id_field: &str,
    state: Option<&Value>,
    kill_after: std::time::Duration,
) -> (Vec<String>, Option<Value>, bool) {
    use std::io::{BufRead, BufReader};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let args = env.read_args(config, streams, "incremental", state);
    let mut child = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let (progressed, finished) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let killer = {
        let (progressed, finished) = (progressed.clone(), finished.clone());
        std::thread::spawn(move || {
            std::thread::sleep(kill_after);
            while !finished.load(Ordering::Acquire) {
                if progressed.load(Ordering::Acquire) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let (mut ids, mut last_state) = (vec![], None);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // A line cut by the kill ends the output.
        let Ok(m) = serde_json::from_str::<Value>(&line) else {
            break;
        };
        match m["type"].as_str() {
            Some("RECORD") => ids.push(m["record"]["data"][id_field].as_str().unwrap().to_string()),
            Some("STATE") => {
                last_state = Some(json!([m["state"]]));
                progressed.store(true, Ordering::Release);
            }
            _ => {}
        }
    }
    let status = child.wait().unwrap();
    finished.store(true, Ordering::Release);
    killer.join().unwrap();
    (ids, last_state, status.success())
}

/// Runs a full refresh of `streams` until a STATE follows at least `records` records, then kills
/// it; returns the data of the records before that state, and the state (marked as a full
/// refresh's).
pub fn full_refresh_until_state(
    env: &Env,
    config: &std::path::Path,
    streams: &[&str],
    records: usize,
) -> (Vec<Value>, Value) {
    use std::io::{BufRead, BufReader};
    let args = env.read_args(config, streams, "full_refresh", None);
    let mut child = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (mut written, mut state) = (vec![], None);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let mut m: Value = serde_json::from_str(&line.unwrap()).unwrap();
        match m["type"].as_str() {
            Some("RECORD") => written.push(m["record"]["data"].take()),
            Some("STATE") => {
                state = Some(m["state"]["stream"]["stream_state"].clone());
                if written.len() >= records {
                    break;
                }
            }
            _ => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let state = state.expect("a state before the kill");
    assert_eq!(state["full_refresh"], true, "{state}");
    (written, state)
}

/// The input state file holding `stream_state` of `stream`.
pub fn state_file(stream: &str, stream_state: &Value) -> Value {
    json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": stream_state}}])
}

/// A resumed full refresh repeats no record its state covers (only what was in flight), and
/// with what came before covers `expected`.
pub fn assert_resumed(
    before: &[Value],
    rerun: &[&Value],
    id_field: &str,
    covered: impl Fn(&Value) -> bool,
    expected: &HashSet<String>,
) {
    assert!(!rerun.is_empty(), "the kill came after the last record");
    let id = |r: &Value| r[id_field].as_str().unwrap().to_string();
    let again: Vec<&&Value> = rerun.iter().filter(|r| covered(r)).collect();
    assert!(
        again.is_empty(),
        "{} records the state covers came again, e.g. {}",
        again.len(),
        again[0]
    );
    assert!(
        before.iter().any(&covered),
        "the state covers nothing: the test proves nothing"
    );
    let union: HashSet<String> = before
        .iter()
        .map(id)
        .chain(rerun.iter().map(|r| id(r)))
        .collect();
    assert_same_ids(&union, expected);
}

/// A finished run: exit code and every stdout line, each a JSON object.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub messages: Vec<Value>,
    #[allow(dead_code)] // read when a test fails and prints the run
    pub stderr: String,
    pub stdout: String,
}

impl Run {
    pub fn decode(stdout: &[u8], code: Option<i32>, stderr: String) -> Run {
        let text = String::from_utf8_lossy(stdout).into_owned();
        let messages = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect();
        Run {
            code,
            messages,
            stderr,
            stdout: text,
        }
    }

    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.messages.iter().filter(|m| m["type"] == t).collect()
    }

    pub fn records(&self) -> Vec<&Value> {
        self.of_type("RECORD")
            .into_iter()
            .map(|m| &m["record"]["data"])
            .collect()
    }

    pub fn ids(&self) -> Vec<String> {
        self.records()
            .iter()
            .map(|r| r["EventId"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn states(&self) -> Vec<&Value> {
        self.of_type("STATE")
    }

    /// The last state message as a one-element state file.
    pub fn last_state(&self) -> Value {
        let s = self
            .states()
            .last()
            .copied()
            .expect("a state was emitted")
            .clone();
        json!([s["state"]])
    }

    pub fn statuses(&self, stream: &str) -> Vec<String> {
        self.of_type("TRACE")
            .into_iter()
            .filter(|m| {
                m["trace"]["type"] == "STREAM_STATUS"
                    && m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
            })
            .map(|m| {
                m["trace"]["stream_status"]["status"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<&Value> {
        self.of_type("TRACE")
            .into_iter()
            .filter(|m| m["trace"]["type"] == "ERROR")
            .map(|m| &m["trace"]["error"])
            .collect()
    }

    pub fn logs(&self) -> Vec<String> {
        self.of_type("LOG")
            .into_iter()
            .map(|m| m["log"]["message"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn connection_status(&self) -> (String, String) {
        let s = self.of_type("CONNECTION_STATUS");
        assert_eq!(s.len(), 1, "exactly one CONNECTION_STATUS: {}", self.stdout);
        let c = &s[0]["connectionStatus"];
        (
            c["status"].as_str().unwrap().to_string(),
            c["message"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Protocol invariants every read must satisfy: each STATE's recordCount equals the records
    /// of its stream since the previous STATE, no state repeats the previous one, records carry
    /// integer `emitted_at`.
    pub fn assert_protocol(&self) {
        let mut since: HashMap<String, u64> = HashMap::new();
        let mut last: HashMap<String, Value> = HashMap::new();
        for m in &self.messages {
            match m["type"].as_str().unwrap() {
                "RECORD" => {
                    assert!(m["record"]["emitted_at"].is_i64(), "{m}");
                    *since
                        .entry(m["record"]["stream"].as_str().unwrap().to_string())
                        .or_default() += 1;
                }
                "STATE" => {
                    let s = &m["state"];
                    assert_eq!(s["type"], "STREAM");
                    let name = s["stream"]["stream_descriptor"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let count = s["sourceStats"]["recordCount"].as_f64().unwrap();
                    assert_eq!(
                        count,
                        since.remove(&name).unwrap_or(0) as f64,
                        "recordCount of {m}"
                    );
                    let state = s["stream"]["stream_state"].clone();
                    assert_ne!(
                        last.insert(name, state.clone()),
                        Some(state),
                        "a state repeated"
                    );
                }
                "LOG" | "TRACE" => {}
                other => panic!("unexpected message type {other}"),
            }
        }
    }
}

/// Every id once: panics listing the duplicates otherwise.
pub fn assert_unique(ids: &[String]) {
    let mut seen = HashSet::new();
    let dups: Vec<_> = ids.iter().filter(|id| !seen.insert(*id)).collect();
    assert!(
        dups.is_empty(),
        "{} duplicates, e.g. {:?}",
        dups.len(),
        dups.iter().take(3).collect::<Vec<_>>()
    );
}

pub fn id_set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

/// Compares id sets, reporting only the counts and a few of the differences.
pub fn assert_same_ids(got: &HashSet<String>, expected: &HashSet<String>) {
    let missing: Vec<_> = expected.difference(got).take(3).collect();
    let extra: Vec<_> = got.difference(expected).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing (e.g. {missing:?}), {} unexpected (e.g. {extra:?})",
        expected.difference(got).count(),
        got.difference(expected).count()
    );
}
