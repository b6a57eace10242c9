//! Answers no AWS endpoint gives, from a loopback server scripted per request: huge and
//! trickling bodies, `Retry-After`, messageless 503s, S3 redirects, events outside the window.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudtrail_emulator::Faults;
use serde_json::json;

use crate::s3::{S3Server, TRAIL_EVENTS};
use crate::support::*;

/// One scripted answer: status line and headers, a body, and how fast to send it.
#[derive(Clone)]
pub struct Answer {
    pub head: String,
    pub body: Vec<u8>,
    /// Bytes per second for the body; `None`: at once.
    pub trickle: Option<u64>,
}

impl Answer {
    pub fn new(status: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Answer {
        let body = body.into();
        let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        Answer {
            head: head + "\r\n",
            body,
            trickle: None,
        }
    }

    pub fn json(body: impl Into<Vec<u8>>) -> Answer {
        Answer::new(
            "200 OK",
            &[("Content-Type", "application/x-amz-json-1.1")],
            body,
        )
    }
}

/// A loopback HTTP server answering request `n` with `script(n)`; records when each came.
pub struct Hostile {
    pub endpoint: String,
    pub requests: Arc<Mutex<Vec<Instant>>>,
}

impl Hostile {
    pub fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (log, script) = (requests.clone(), Arc::new(script));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || serve(conn, &log, &*script));
            }
        });
        Hostile { endpoint, requests }
    }
}

/// Answers the requests of one connection, keep-alive, until the client goes.
fn serve(mut conn: TcpStream, log: &Mutex<Vec<Instant>>, script: &dyn Fn(usize) -> Answer) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // Head, then a Content-Length body: all AWS clients send one.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match conn.read(&mut chunk) {
                Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap_or(0));
        while buf.len() < head_end + length {
            match conn.read(&mut chunk) {
                Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        }
        buf.drain(..head_end + length);
        let n = {
            let mut log = log.lock().unwrap();
            log.push(Instant::now());
            log.len() - 1
        };
        let answer = script(n);
        if conn.write_all(answer.head.as_bytes()).is_err() {
            return;
        }
        let sent = match answer.trickle {
            None => conn.write_all(&answer.body),
            Some(rate) => answer.body.chunks(rate.max(1) as usize).try_for_each(|c| {
                std::thread::sleep(Duration::from_secs(1));
                conn.write_all(c)
            }),
        };
        if sent.is_err() {
            return;
        }
    }
}

const EMPTY_PAGE: &str = r#"{"Events":[]}"#;

fn cloudtrail_config(env: &Env, endpoint: &str) -> std::path::PathBuf {
    env.config(json!({"endpoint_url": endpoint, "start_date": cloudtrail_emulator::records::iso8601(now() - 3 * 3600)[..10].to_string()}))
}

#[test]
fn a_lookup_events_body_larger_than_any_page_is_refused() {
    // 40 MB of valid JSON: whitespace inside an empty page.
    let huge = Answer::json(format!("{{\"Events\":[{}]}}", " ".repeat(40 * 1024 * 1024)));
    let server = Hostile::start(move |n| {
        if n == 0 {
            huge.clone()
        } else {
            Answer::json(EMPTY_PAGE)
        }
    });
    let env = Env::with_events(&["us-east-1"], 0, 60, 0);
    let run = env.read(
        &cloudtrail_config(&env, &server.endpoint),
        "incremental",
        None,
    );
    run.assert_protocol();
    let errors = run.errors();
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(errors[0]["failure_type"], "system_error", "{}", errors[0]);
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("larger than 32 MB"), "{message}");
    assert_eq!(server.requests.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn a_trickling_lookup_events_body_is_abandoned_and_retried() {
    let server = Hostile::start(|n| {
        if n == 0 {
            Answer {
                trickle: Some(2),
                ..Answer::json(format!("{EMPTY_PAGE}{}", " ".repeat(4000)))
            }
        } else {
            Answer::json(EMPTY_PAGE)
        }
    });
    let env = Env::with_events(&["us-east-1"], 0, 60, 0);
    let started = Instant::now();
    let run = env.read(
        &cloudtrail_config(&env, &server.endpoint),
        "incremental",
        None,
    );
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let logs = run.logs().join("\n");
    assert!(logs.contains("arrived too slowly"), "{logs}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn retry_after_is_honoured_and_a_messageless_503_is_worded() {
    let server = Hostile::start(|n| {
        if n < 3 {
            Answer::new("503 Service Unavailable", &[("Retry-After", "2")], "")
        } else {
            Answer::json(EMPTY_PAGE)
        }
    });
    let env = Env::with_events(&["us-east-1"], 0, 60, 0);
    let run = env.read(
        &cloudtrail_config(&env, &server.endpoint),
        "incremental",
        None,
    );
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let times = server.requests.lock().unwrap().clone();
    for pair in times[..4].windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
    }
    let logs = run.logs().join("\n");
    assert!(logs.contains("HTTP 503 without an error message"), "{logs}");
    assert!(!logs.contains("Error {"), "{logs}");
}

/// S3 redirects, answered by `check`: a 301 names the bucket's region, a 302 is temporary.
#[test]
fn s3_redirects_are_worded_from_the_bucket_region() {
    let env = Env::with_events(&["us-east-1"], 10, 60, 0);
    let s3 = S3Server::start();
    for (status, expected) in [
        (
            "301 Moved Permanently",
            "the bucket is in eu-west-1, not in us-east-1",
        ),
        (
            "302 Found",
            "redirected ListObjectsV2 temporarily (HTTP 302)",
        ),
    ] {
        let server = Hostile::start(move |_| {
            Answer::new(
                status,
                &[(
                    "x-amz-bucket-region",
                    if status.starts_with("301") {
                        "eu-west-1"
                    } else {
                        "us-east-1"
                    },
                )],
                "",
            )
        });
        let config = s3.config(
            &env,
            json!({"trail_logs": {"endpoint_url": server.endpoint, "bucket_region": "us-east-1"}}),
        );
        let (outcome, message) = env.check(&config, &[]).connection_status();
        assert_eq!(outcome, "FAILED", "{message}");
        assert!(message.contains(expected), "{status}: {message}");
        assert!(!message.contains("AWS said: Error"), "{message}");
    }
}

#[test]
fn events_outside_the_window_asked_for_are_dropped_once_with_a_warning() {
    let env = Env::with_events(&["us-east-1"], 300, 6 * 3600, 0);
    env.emulator.set_faults(Faults {
        ignore_time_range: true,
        ..Faults::default()
    });
    let config = env.config(json!({"start_date": cloudtrail_emulator::records::iso8601(now() - 3 * 3600)[..10].to_string()}));
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    assert_unique(&run.ids());
    let logs = run.logs().join("\n");
    assert!(logs.contains("outside the range asked for"), "{logs}");
    let _ = TRAIL_EVENTS;
}

/// Prints the checkpoint volume of a LookupEvents sync of 200 regions (STATE messages, their
/// bytes and share of stdout); `FIGURES_BIN` runs another build of the connector to compare.
#[test]
fn checkpoint_volume_of_200_regions_is_bounded() {
    let regions: Vec<String> = (0..200).map(|i| format!("zz-test-{i}")).collect();
    let names: Vec<&str> = regions.iter().map(String::as_str).collect();
    let env = Env::with_events(&names, 30, 3 * 3600, 0);
    let config = env.config(json!({"regions": regions, "start_date": cloudtrail_emulator::records::iso8601(now() - 3 * 3600)[..10].to_string()}));
    let args = env.read_args(&config, &[STREAM], "incremental", None);
    let mut cmd = command(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    if let Ok(bin) = std::env::var("FIGURES_BIN") {
        cmd = std::process::Command::new(bin);
        cmd.args(&args).env("AWS_EC2_METADATA_DISABLED", "true");
    }
    let out = cmd.output().unwrap();
    let run = Run::decode(&out.stdout, out.status.code(), String::new());
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let states = run.states();
    let state_bytes: usize = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"STATE\""))
        .map(|l| l.len() + 1)
        .sum();
    let share = state_bytes as f64 / run.stdout.len() as f64;
    eprintln!(
        "200 regions: {} STATE messages, {state_bytes} STATE bytes, {} bytes of stdout, {:.1}% states, {} records",
        states.len(),
        run.stdout.len(),
        share * 100.0,
        run.ids().len()
    );
    assert_same_ids(&id_set(&run.ids()), &env.visible_ids(now()));
    assert!(share < 0.05, "states are {:.1}% of stdout", share * 100.0);
}
