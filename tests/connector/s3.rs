//! A real S3-compatible server for the `trail_events` tests: s3s-fs (installed by
//! scripts/test.sh into .tools/) serving a scratch directory, seeded with generated CloudTrail
//! log files in the real key layout.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloudtrail_emulator::trail_logs::{put_object, write_corpus, CorpusSpec, CorpusSummary};
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

/// An s3s-fs process serving `root`, where `root/<bucket>/<key>` is an object.
pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    child: Child,
}

impl S3Server {
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
                        child,
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
