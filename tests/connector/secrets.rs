//! Secrets never leave the process: marker values for the secret key, the session token and the
//! role's external id go through every command and every failure, and no output contains them.
//! Credential values that AWS cannot take are config errors naming the field, never a panic.

use cloudtrail_emulator::DEFAULT_ACCESS_KEY_ID;
use serde_json::json;

use crate::support::*;

const SECRET: &str = "SECRETmarker0000000000000000000000000001";
const TOKEN: &str = "TOKENmarker000000000000000000002";
const EXTERNAL: &str = "EXTERNALmarker0003";

fn assert_clean(what: &str, run: &Run) {
    for marker in [SECRET, TOKEN, EXTERNAL] {
        assert!(
            !run.stdout.contains(marker),
            "{what}: stdout holds a secret"
        );
        assert!(
            !run.stderr.contains(marker),
            "{what}: stderr holds a secret"
        );
    }
}

#[test]
fn no_command_and_no_failure_prints_a_secret() {
    let env = Env::with_events(&["us-east-1"], 20, 3600, 0);
    env.emulator
        .add_credentials("ASIAMARKED", SECRET, Some(TOKEN), &[]);
    env.emulator.add_role(
        "arn:aws:iam::123456789012:role/marked",
        Some("another-external-id"),
    );
    let sts = [("AWS_ENDPOINT_URL_STS", env.endpoint.as_str())];
    let good =
        json!({"aws_key_id": "ASIAMARKED", "aws_secret_key": SECRET, "aws_session_token": TOKEN});
    let with = |extra: serde_json::Value| {
        let mut c = good.clone();
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        env.config(c)
    };
    let configs = [
        ("valid", with(json!({}))),
        (
            "wrong secret",
            with(json!({"aws_key_id": DEFAULT_ACCESS_KEY_ID})),
        ),
        ("unknown key", with(json!({"aws_key_id": "AKIANOBODY"}))),
        ("missing token", with(json!({"aws_session_token": null}))),
        (
            "unreachable",
            with(json!({"endpoint_url": "http://127.0.0.1:9"})),
        ),
        (
            "role denied",
            with(
                json!({"role_arn": "arn:aws:iam::123456789012:role/marked", "role_external_id": EXTERNAL}),
            ),
        ),
        (
            "bad field",
            with(json!({"start_date": "tomorrow", "role_external_id": EXTERNAL})),
        ),
        ("bad type", with(json!({"requests_per_second": [SECRET]}))),
    ];
    assert_clean("spec", &exec(&["spec"], &[]));
    for (what, config) in &configs {
        let run = env.check(config, &sts);
        assert_clean(&format!("check {what}"), &run);
        let run = exec(&["discover", "--config", &path(config)], &sts);
        assert_clean(&format!("discover {what}"), &run);
        let run = env.read(config, "incremental", None);
        assert_clean(&format!("read {what}"), &run);
    }
    let run = env.read(
        &configs[0].1,
        "incremental",
        Some(&json!({"management_events": {"EventTime": "corrupt"}})),
    );
    assert_eq!(run.code, Some(1));
    assert_clean("read with a corrupt state", &run);
    let run = env.read(&configs[0].1, "incremental", None);
    assert_eq!(run.records().len(), 20, "the marked credentials do work");
}

#[test]
fn the_bucket_credentials_are_never_printed_either() {
    let env = Env::with_events(&["us-east-1"], 5, 3600, 0);
    let s3 = crate::s3::S3Server::start();
    s3.seed(&crate::s3::spec(&["111122223333"], &["us-east-1"], 2, 5));
    let streams = ["management_events", crate::s3::TRAIL_EVENTS];
    let configs = [
        ("valid", json!({})),
        (
            "wrong bucket secret",
            json!({"trail_logs": {"aws_secret_key": SECRET, "aws_session_token": TOKEN}}),
        ),
        (
            "unknown bucket key",
            json!({"trail_logs": {"aws_key_id": "AKIANOBODY", "aws_secret_key": SECRET}}),
        ),
        (
            "unreachable bucket",
            json!({"trail_logs": {"endpoint_url": "http://127.0.0.1:9", "aws_secret_key": SECRET}}),
        ),
        (
            "bad bucket field",
            json!({"trail_logs": {"start_date": "tomorrow", "role_external_id": EXTERNAL}}),
        ),
    ];
    for (what, extra) in configs {
        let config = s3.config(&env, extra);
        assert_clean(&format!("check {what}"), &env.check(&config, &[]));
        assert_clean(
            &format!("discover {what}"),
            &exec(&["discover", "--config", &path(&config)], &[]),
        );
        assert_clean(
            &format!("read {what}"),
            &env.read_streams(&config, &streams, "incremental", None),
        );
    }
}

/// Every credential field of the spec (the secrets, the role's fields) as its path in the
/// config: a new one is covered without being listed.
fn credential_fields() -> Vec<String> {
    let spec = exec(&["spec"], &[]).messages[0]["spec"]["connectionSpecification"].clone();
    let logs = &spec["properties"]["trail_logs"]["properties"];
    let mut fields = vec![];
    for (at, properties) in [("", &spec["properties"]), ("trail_logs.", logs)] {
        for (name, p) in properties.as_object().unwrap() {
            if p["airbyte_secret"] == true || name.starts_with("role_") {
                fields.push(format!("{at}{name}"));
            }
        }
    }
    assert_eq!(fields.len(), 11, "{fields:?}");
    fields
}

/// `extra` with `field` (a config path, maybe under `trail_logs.`) set to `value`.
fn with_field(field: &str, value: serde_json::Value) -> serde_json::Value {
    match field.strip_prefix("trail_logs.") {
        Some(f) => json!({"trail_logs": {f: value}}),
        None => json!({field: value}),
    }
}

/// `check` fails and a `read` of `streams` stops with a config_error, both saying `words`,
/// without a panic and without any of `hidden` in the output.
fn assert_config_error(
    env: &Env,
    config: &std::path::Path,
    streams: &[&str],
    run_env: &[(&str, &str)],
    words: &str,
    hidden: &[&str],
) {
    let check = env.check(config, run_env);
    let read = env.read_streams_env(config, streams, "incremental", None, run_env);
    for (what, run) in [("check", &check), ("read", &read)] {
        for h in hidden {
            assert!(
                !run.stdout.contains(h) && !run.stderr.contains(h),
                "{what} {words}: the output shows {h}: {}",
                run.stdout
            );
        }
        assert!(
            !run.stderr.contains("panicked"),
            "{what} {words}: {}",
            run.stderr
        );
    }
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED", "{words}: {message}");
    assert!(
        message.contains(words),
        "check: {message} does not say {words}"
    );
    assert_eq!(read.code, Some(1), "read {words}: {}", read.stdout);
    let errors = read.errors();
    assert!(
        errors.iter().any(|e| e["failure_type"] == "config_error"
            && e["message"].as_str().unwrap().contains(words)),
        "read: no config_error saying {words}: {}",
        read.stdout
    );
}

/// Issue 14, item 1: a line break pasted with a key id made the SDK's signer panic (exit 101 for
/// `trail_logs.aws_key_id`), and one in a session token was reported as an unreachable endpoint.
#[test]
fn regression_14_1_credentials_with_line_breaks_are_trimmed_or_refused_never_a_panic() {
    let env = Env::with_events(&["us-east-1"], 5, 3600, 0);
    let s3 = crate::s3::S3Server::start();
    s3.seed(&crate::s3::spec(&["111122223333"], &["us-east-1"], 2, 5));
    let streams = ["management_events", crate::s3::TRAIL_EVENTS];

    // Pasted with a line break around it: the documented trimming makes them work.
    let padded = s3.config(&env, json!({
        "aws_key_id": format!("{DEFAULT_ACCESS_KEY_ID}\n"),
        "aws_secret_key": format!(" {}\r\n", cloudtrail_emulator::DEFAULT_SECRET_ACCESS_KEY),
        "trail_logs": {"aws_key_id": format!("{}\n", crate::s3::KEY_ID), "aws_secret_key": format!("{}\n", crate::s3::SECRET)}
    }));
    let run = env.read_streams(&padded, &streams, "incremental", None);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    for stream in streams {
        assert!(
            run.records().len() > 5
                && run.statuses(stream).last().map(String::as_str) == Some("COMPLETE"),
            "{stream}: {}",
            run.stdout
        );
    }
    assert_eq!(env.check(&padded, &[]).connection_status().0, "SUCCEEDED");

    // Inside the value: refused, naming the field, never quoting it.
    for field in credential_fields() {
        let config = s3.config(&env, with_field(&field, json!("MARKEDvalue\nof the field")));
        assert_config_error(
            &env,
            &config,
            &streams,
            &[],
            &format!("{field} contains a line break"),
            &["MARKEDvalue"],
        );
    }

    // The default chain's keys are the SDK's to read: checked before they are used, too.
    let config = env.config(json!({"aws_key_id": null, "aws_secret_key": null}));
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIAMARKEDVALUE\n"),
        (
            "AWS_SECRET_ACCESS_KEY",
            cloudtrail_emulator::DEFAULT_SECRET_ACCESS_KEY,
        ),
    ];
    assert_config_error(
        &env,
        &config,
        &[STREAM],
        &keys,
        "the access key id found contains a line break",
        &["AKIAMARKEDVALUE"],
    );
}
