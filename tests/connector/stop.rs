//! A closed stdout stops the work: once the reader of the connector's output goes away (the
//! platform or PyAirbyte ended), no AWS or S3 request starts more than 1.5 s later and the
//! process exits within 5 s, whether it was reading pages, waiting out throttling or reading
//! files. Requests are seen by a TCP proxy in front of the emulator or the S3 server.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use cloudtrail_emulator::Faults;
use serde_json::json;

use crate::s3::*;
use crate::support::*;

/// Reads until `records` RECORD lines came, runs `before_close`, closes stdout, and checks the
/// contract.
fn assert_stops_when_stdout_closes(
    args: Vec<String>,
    proxy: &CuttingProxy,
    records: usize,
    before_close: impl FnOnce(),
) {
    let mut child = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0;
    while seen < records {
        let line = lines
            .next()
            .expect("the read ended before the close")
            .unwrap();
        if line.starts_with("{\"type\":\"RECORD\"") {
            seen += 1;
        }
    }
    before_close();
    drop(lines);
    let closed = Instant::now();
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some((status, closed.elapsed()));
        }
        if closed.elapsed() > Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some((status, after)) = exited else {
        let _ = child.kill();
        panic!("still running 10 s after stdout was closed");
    };
    assert!(
        after < Duration::from_secs(5),
        "exited {after:?} after the close"
    );
    assert!(
        !status.success(),
        "a sync whose output was lost is not a success"
    );
    // Anything still on its way through the proxy arrives now.
    std::thread::sleep(Duration::from_millis(300));
    let late: Vec<Duration> = proxy
        .sent_at
        .lock()
        .unwrap()
        .iter()
        .filter_map(|t| t.checked_duration_since(closed))
        .filter(|d| *d > Duration::from_millis(1500))
        .collect();
    assert!(late.is_empty(), "requests after the close: {late:?}");
}

#[test]
fn a_closed_stdout_stops_lookup_events_reads() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 20_000, 48 * 3600, 0);
    let proxy = CuttingProxy::start(&env.endpoint, usize::MAX, 0);
    // 20 pages/s per region: the read would last tens of seconds.
    let config = env.config(json!({
        "regions": ["us-east-1", "eu-west-1"],
        "requests_per_second": 20,
        "endpoint_url": proxy.endpoint,
    }));
    let args = env.read_args(
        &config,
        &[STREAM, "insight_events", "trails"],
        "incremental",
        None,
    );
    assert_stops_when_stdout_closes(args, &proxy, 120, || {});
}

/// While every call is throttled the connector writes nothing: only the watcher of stdout can
/// tell that its reader went away.
#[test]
fn a_closed_stdout_stops_a_read_waiting_out_throttling() {
    let env = Env::with_events(&["us-east-1"], 20_000, 48 * 3600, 0);
    let proxy = CuttingProxy::start(&env.endpoint, usize::MAX, 0);
    let config = env.config(json!({"requests_per_second": 10, "endpoint_url": proxy.endpoint}));
    let args = env.read_args(&config, &[STREAM], "incremental", None);
    assert_stops_when_stdout_closes(args, &proxy, 60, || {
        env.emulator.set_faults(Faults {
            throttle_storm_secs: 120.0,
            ..Faults::default()
        });
        // Backing off by now, with nothing to write.
        std::thread::sleep(Duration::from_secs(3));
    });
}

#[test]
fn a_closed_stdout_stops_trail_log_reads() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    s3.seed(&spec(
        &["111122223333", "444455556666"],
        &["us-east-1", "eu-west-1", "ap-southeast-2"],
        60,
        300,
    ));
    let proxy = CuttingProxy::start(&s3.endpoint, usize::MAX, 0);
    let config = s3.config(
        &env,
        json!({"trail_logs": {"endpoint_url": proxy.endpoint}}),
    );
    let args = env.read_args(&config, &[TRAIL_EVENTS], "incremental", None);
    assert_stops_when_stdout_closes(args, &proxy, 500, || {});
}
