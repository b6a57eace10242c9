//! `check`: a real LookupEvents call per region, and a message a person can act on for each way
//! it fails — in seconds, never after minutes of retries.

use std::time::{Duration, Instant};

use cloudtrail_emulator::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ROLE_ARN, DEFAULT_SECRET_ACCESS_KEY};
use serde_json::json;

use crate::support::*;

fn failed(run: &Run, words: &[&str]) {
    assert_eq!(
        run.code,
        Some(0),
        "check exits 0 even when FAILED: {}",
        run.stdout
    );
    let (status, message) = run.connection_status();
    assert_eq!(status, "FAILED", "{message}");
    for w in words {
        assert!(message.contains(w), "'{w}' not in: {message}");
    }
    assert!(!message.contains(DEFAULT_SECRET_ACCESS_KEY));
}

fn timed(f: impl FnOnce() -> Run) -> (Run, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

#[test]
fn succeeds_in_every_region() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 10, 3600, 0);
    let run = env.check(
        &env.config(json!({"regions": ["us-east-1", "eu-west-1"]})),
        &[],
    );
    assert_eq!(run.connection_status().0, "SUCCEEDED");
    let stats = env.emulator.stats();
    assert_eq!(
        stats["us-east-1"].ok, 2,
        "one LookupEvents and one DescribeTrails call"
    );
    assert_eq!(stats["eu-west-1"].ok, 2);
}

#[test]
fn bad_credentials_fail_fast_with_the_field_to_fix() {
    let env = Env::new(Default::default());
    let (run, took) = timed(|| env.check(&env.config(json!({"aws_key_id": "AKIAUNKNOWN"})), &[]));
    failed(
        &run,
        &["UnrecognizedClientException", "us-east-1", "aws_key_id"],
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (run, took) =
        timed(|| env.check(&env.config(json!({"aws_secret_key": "wrong-secret"})), &[]));
    failed(&run, &["InvalidSignatureException", "aws_secret_key"]);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_missing_permission_is_named_per_stream() {
    let env = Env::new(Default::default());
    let config = |key: &str| env.config(json!({"aws_key_id": key, "aws_secret_key": "secret-np"}));
    // Without LookupEvents the event streams are out, but the trails stream still works.
    env.emulator
        .add_credentials("AKIANOLOOKUP", "secret-np", None, &["LookupEvents"]);
    let (status, message) = env.check(&config("AKIANOLOOKUP"), &[]).connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(
        message.contains("management_events, insight_events: NOT readable")
            && message.contains("cloudtrail:LookupEvents"),
        "{message}"
    );
    assert!(message.contains("trails: readable"), "{message}");
    env.emulator
        .add_credentials("AKIANOTRAILS", "secret-np", None, &["DescribeTrails"]);
    let (status, message) = env.check(&config("AKIANOTRAILS"), &[]).connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(
        message.contains("trails: NOT readable") && message.contains("cloudtrail:DescribeTrails"),
        "{message}"
    );
    // Nothing readable: a failed check.
    env.emulator.add_credentials(
        "AKIANOTHING",
        "secret-np",
        None,
        &["LookupEvents", "DescribeTrails"],
    );
    failed(
        &env.check(&config("AKIANOTHING"), &[]),
        &[
            "cloudtrail:LookupEvents",
            "cloudtrail:DescribeTrails",
            "AccessDeniedException",
        ],
    );
}

#[test]
fn an_unreachable_endpoint_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let env = Env::new(Default::default());
    let (run, took) = timed(|| env.check(&env.config(json!({"endpoint_url": url})), &[]));
    failed(&run, &["cannot reach", &url, "onnection refused"]);
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_bad_filter_is_a_config_problem() {
    let env = Env::new(Default::default());
    let config = env.config(
        json!({"lookup_attributes_filter": {"attribute_key": "EventNam", "attribute_value": "x"}}),
    );
    failed(
        &env.check(&config, &[]),
        &["lookup_attributes_filter", "EventName"],
    );
    let config = env.config(json!({"lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": "ConsoleLogin"}}));
    assert_eq!(env.check(&config, &[]).connection_status().0, "SUCCEEDED");
}

#[test]
fn roles_are_assumed_through_sts() {
    let env = Env::new(Default::default());
    let sts = [("AWS_ENDPOINT_URL_STS", env.endpoint.as_str())];
    let config = env.config(json!({"role_arn": DEFAULT_ROLE_ARN}));
    assert_eq!(env.check(&config, &sts).connection_status().0, "SUCCEEDED");

    let role = "arn:aws:iam::123456789012:role/other";
    let config = env.config(json!({"role_arn": role}));
    let (run, took) = timed(|| env.check(&config, &sts));
    failed(&run, &["cannot assume role", role, "AccessDenied"]);
    assert!(took < Duration::from_secs(10), "{took:?}");

    env.emulator.add_role(
        "arn:aws:iam::123456789012:role/with-external-id",
        Some("EXTERNAL-ID-MARKER"),
    );
    let config = env.config(json!({"role_arn": "arn:aws:iam::123456789012:role/with-external-id", "role_external_id": "wrong"}));
    failed(&env.check(&config, &sts), &["AccessDenied"]);
    let config = env.config(json!({"role_arn": "arn:aws:iam::123456789012:role/with-external-id", "role_external_id": "EXTERNAL-ID-MARKER"}));
    let run = env.check(&config, &sts);
    assert_eq!(run.connection_status().0, "SUCCEEDED");
    assert!(!run.stdout.contains("EXTERNAL-ID-MARKER"));
}

#[test]
fn session_tokens_are_sent() {
    let env = Env::new(Default::default());
    env.emulator
        .add_credentials("ASIATEMPORARY", "temp-secret", Some("TOKEN-MARKER"), &[]);
    let good = env.config(json!({"aws_key_id": "ASIATEMPORARY", "aws_secret_key": "temp-secret", "aws_session_token": "TOKEN-MARKER"}));
    assert_eq!(env.check(&good, &[]).connection_status().0, "SUCCEEDED");
    let missing =
        env.config(json!({"aws_key_id": "ASIATEMPORARY", "aws_secret_key": "temp-secret"}));
    failed(&env.check(&missing, &[]), &["UnrecognizedClientException"]);
}

#[test]
fn the_default_chain_and_sdk_endpoint_variables_work() {
    let env = Env::new(Default::default());
    let config = env.file("c.json", "{}");
    let vars = [
        ("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY),
        ("AWS_ENDPOINT_URL_CLOUDTRAIL", env.endpoint.as_str()),
    ];
    assert_eq!(env.check(&config, &vars).connection_status().0, "SUCCEEDED");
    let vars = [
        ("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY),
        ("AWS_ENDPOINT_URL", env.endpoint.as_str()),
    ];
    assert_eq!(env.check(&config, &vars).connection_status().0, "SUCCEEDED");
    // Nothing anywhere: a clear FAILED, not a hang.
    let config = env.config(json!({"aws_key_id": null, "aws_secret_key": null}));
    let (run, took) = timed(|| env.check(&config, &[]));
    failed(&run, &["credentials", "aws_key_id"]);
    assert!(took < Duration::from_secs(20), "{took:?}");
}
