//! A real S3-compatible server for the `trail_events` tests: s3s-fs (installed by
//! scripts/test.sh into .tools/) or the emulator's own S3 server (which counts its LISTs),
//! serving a scratch directory seeded with generated CloudTrail log files in the real key
//! layout; and the tests' reading of a `trail_*` state.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloudtrail_emulator::trail_logs::{
    put_object, put_object_landed, write_corpus, CorpusSpec, CorpusSummary,
};
use serde_json::{json, Value};

use crate::support::Env;

pub const KEY_ID: &str = "AKIAS3LOCALTEST00001";
pub const SECRET: &str = "s3-local-secret/0000000000000000000000";
pub const BUCKET: &str = "trail-logs";
/// The stream under test.
pub const TRAIL_EVENTS: &str = "trail_events";

fn s3s_fs() -> PathBuf {
    if let Ok(p) = std::env::var("S3S_FS_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/s3s-fs");
    assert!(
        p.exists(),
        "{} is missing: scripts/test.sh installs it (cargo install s3s-fs --version 0.14.1 --features binary --root .tools), or set S3S_FS_BIN",
        p.display()
    );
    p
}

/// An S3 server serving `root`, where `root/<bucket>/<key>` is an object: an s3s-fs process,
/// or the emulator's server on a thread of this process.
pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    child: Option<Child>,
    emulated: Option<cloudtrail_emulator::s3::S3Server>,
}

impl S3Server {
    /// The emulator's S3 server (`cloudtrail-emulator s3-serve`), whose requests are counted.
    pub fn start_emulated() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        let server = cloudtrail_emulator::s3::S3Server::new(cloudtrail_emulator::s3::S3Config {
            root: root.path().to_path_buf(),
            access_key: KEY_ID.into(),
            secret_key: SECRET.into(),
            list_latency: Duration::ZERO,
        });
        S3Server {
            endpoint: server.clone().spawn().unwrap(),
            root,
            child: None,
            emulated: Some(server),
        }
    }

    /// ListObjectsV2 calls served so far (the emulated server only).
    pub fn lists(&self) -> u64 {
        let server = self
            .emulated
            .as_ref()
            .expect("an emulated server counts its LISTs");
        server.stats()["lists"].as_u64().unwrap()
    }

    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        // A free port: bound, released, then given to the server (retried if taken meanwhile).
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(s3s_fs())
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", KEY_ID, "--secret-key", SECRET])
                .arg(root.path())
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("s3s-fs starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return S3Server {
                        endpoint: format!("http://127.0.0.1:{port}"),
                        root,
                        child: Some(child),
                        emulated: None,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("s3s-fs did not start");
    }

    /// Writes a generated corpus into the bucket.
    pub fn seed(&self, spec: &CorpusSpec) -> CorpusSummary {
        write_corpus(self.root.path(), spec).unwrap()
    }

    pub fn put(&self, key: &str, body: &[u8]) {
        put_object(self.root.path(), BUCKET, key, body).unwrap();
    }

    /// Stores an object that landed at `landed` (its `LastModified`, epoch seconds).
    pub fn put_landed(&self, key: &str, body: &[u8], landed: i64) {
        put_object_landed(self.root.path(), BUCKET, key, body, Some(landed)).unwrap();
    }

    /// Denies `action` under `prefix` from now on, as an IAM policy does (the emulated server
    /// only): S3 answers 403 `AccessDenied`.
    pub fn deny(&self, action: cloudtrail_emulator::s3::S3Action, prefix: &str) {
        self.emulated
            .as_ref()
            .expect("the emulated server denies")
            .deny(action, prefix);
    }

    /// Lifts every denial (the emulated server only).
    pub fn allow_all(&self) {
        self.emulated
            .as_ref()
            .expect("the emulated server denies")
            .allow_all();
    }

    /// Moves S3's clock (the `Date` of its answers) `offset` seconds ahead of the real one
    /// (the emulator's server only).
    pub fn set_clock(&self, offset: i64) {
        let url = format!("{}/_s3/clock?offset_seconds={offset}", self.endpoint);
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).unwrap();
        use std::io::{Read, Write};
        let path = &url[self.endpoint.len()..];
        write!(stream, "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// A config reading this bucket with its own keys, merged with `extra` (a `trail_logs`
    /// member of `extra` is merged into `trail_logs`).
    pub fn config(&self, env: &Env, extra: Value) -> PathBuf {
        let mut logs = json!({
            "bucket": BUCKET,
            "endpoint_url": self.endpoint,
            "aws_key_id": KEY_ID,
            "aws_secret_key": SECRET,
        });
        let mut top = extra.clone();
        if let Some(more) = top.as_object_mut().unwrap().remove("trail_logs") {
            for (k, v) in more.as_object().unwrap() {
                if v.is_null() {
                    logs.as_object_mut().unwrap().remove(k);
                } else {
                    logs[k] = v.clone();
                }
            }
        }
        top["trail_logs"] = logs;
        env.config(top)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A folder's cursor as a test reads it: keys whole, relative to the folder.
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    pub after: Option<String>,
    pub done: Vec<String>,
    /// The folder's compact JSON, as written.
    pub written: Value,
}

/// The cursors of a version 3 `trail_*` state by folder path. A kept key without `/` is the
/// name's tail after `<account>_<kind>_<region>_`, its day folders those of its stamp.
pub fn folder_cursors(state: &Value) -> BTreeMap<String, Cursor> {
    assert_eq!(state["version"], 3, "{state}");
    let mut out = BTreeMap::new();
    for (group, members) in state["folders"].as_object().unwrap() {
        for (rest, kept) in members.as_object().unwrap() {
            let path = format!("{group}{rest}");
            let parts: Vec<&str> = path.trim_end_matches('/').rsplit('/').collect();
            let whole = |v: &Value| -> String {
                let k = v.as_str().unwrap();
                if let Some(k) = k.strip_prefix('/') {
                    return k.to_string();
                }
                if k.contains('/') {
                    return k.to_string();
                }
                let is_stamp = |p: &&str| {
                    let b = p.as_bytes();
                    (b.len() == 14 || b.len() == 16)
                        && b[8] == b'T'
                        && b[b.len() - 1] == b'Z'
                        && p.chars().filter(char::is_ascii_digit).count() == b.len() - 2
                };
                let stamp = k.split('_').rev().find(is_stamp).unwrap();
                let (region, kind, account) = (parts[0], parts[1], parts[2]);
                format!(
                    "{}/{}/{}/{account}_{kind}_{region}_{k}.json.gz",
                    &stamp[..4],
                    &stamp[4..6],
                    &stamp[6..8]
                )
            };
            let cursor = match kept {
                Value::String(_) => Cursor {
                    after: Some(whole(kept)),
                    ..Cursor::default()
                },
                _ => Cursor {
                    after: kept.get("a").map(whole),
                    done: kept
                        .get("d")
                        .map(|d| d.as_array().unwrap().iter().map(whole).collect())
                        .unwrap_or_default(),
                    ..Cursor::default()
                },
            };
            out.insert(
                path,
                Cursor {
                    written: kept.clone(),
                    ..cursor
                },
            );
        }
    }
    out
}

/// The generator's defaults with `files` files of `events` events per account-region.
pub fn spec(accounts: &[&str], regions: &[&str], files: usize, events: usize) -> CorpusSpec {
    CorpusSpec {
        bucket: BUCKET.into(),
        accounts: accounts.iter().map(|a| a.to_string()).collect(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        files_per_prefix: files,
        events_per_file: events,
        ..CorpusSpec::default()
    }
}

/// Every event id a corpus holds.
pub fn corpus_ids(summary: &CorpusSummary) -> Vec<String> {
    summary
        .files
        .iter()
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect()
}

/// The `eventID`s of a run's trail_events records.
pub fn event_ids(run: &crate::support::Run) -> Vec<String> {
    run.of_type("RECORD")
        .iter()
        .filter(|m| m["record"]["stream"] == TRAIL_EVENTS)
        .map(|m| m["record"]["data"]["eventID"].as_str().unwrap().to_string())
        .collect()
}

/// A TCP proxy in front of the S3 server that cuts the first `cuts` connections once `after`
/// bytes of answers went through them: downloads break in the middle of a body.
pub struct CuttingProxy {
    pub endpoint: String,
    pub cut: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// When the client sent bytes (a request, or part of one) to the server.
    pub sent_at: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl CuttingProxy {
    pub fn start(upstream: &str, after: usize, cuts: usize) -> CuttingProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicUsize::new(0));
        let counter = cut.clone();
        let sent_at = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = sent_at.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n @ 1..) = c_read.read(&mut buf) {
                        log.lock().unwrap().push(Instant::now());
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let counter = counter.clone();
                let (mut s_read, mut c_write) = (server, client);
                std::thread::spawn(move || {
                    let mut sent = 0usize;
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > after && counter.load(Ordering::SeqCst) < cuts {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let _ = c_write.write_all(&buf[..after.saturating_sub(sent).min(n)]);
                            let _ = c_write.shutdown(std::net::Shutdown::Both);
                            let _ = s_read.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        sent += n;
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CuttingProxy {
            endpoint,
            cut,
            sent_at,
        }
    }
}
