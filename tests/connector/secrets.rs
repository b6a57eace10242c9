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
    assert_hidden(what, run, &[SECRET, TOKEN, EXTERNAL]);
}

/// Neither stdout nor stderr of `run` holds any of `hidden`, and nothing panicked.
fn assert_hidden(what: &str, run: &Run, hidden: &[&str]) {
    for marker in hidden {
        assert!(
            !run.stdout.contains(marker),
            "{what}: stdout holds {marker}"
        );
        assert!(
            !run.stderr.contains(marker),
            "{what}: stderr holds {marker}"
        );
    }
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
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
    let fields = spec_fields(|name, p| p["airbyte_secret"] == true || name.starts_with("role_"));
    assert_eq!(fields.len(), 11, "{fields:?}");
    fields
}

/// The paths of the spec's fields, top-level and in `trail_logs`, that `pick` picks.
fn spec_fields(pick: impl Fn(&str, &serde_json::Value) -> bool) -> Vec<String> {
    let spec = exec(&["spec"], &[]).messages[0]["spec"]["connectionSpecification"].clone();
    let logs = &spec["properties"]["trail_logs"]["properties"];
    let mut fields = vec![];
    for (at, properties) in [("", &spec["properties"]), ("trail_logs.", logs)] {
        for (name, p) in properties.as_object().unwrap() {
            if pick(name, p) {
                fields.push(format!("{at}{name}"));
            }
        }
    }
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
    assert_hidden(&format!("check {words}"), &check, hidden);
    assert_hidden(&format!("read {words}"), &read, hidden);
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

/// Issue 14, item 4: serde's error for a secret of the wrong type quoted it (`invalid type:
/// integer `4242…``), and the user name and password of an endpoint URL showed in
/// CONNECTION_STATUS, retry WARNs and TRACE messages.
#[test]
fn regression_14_4_no_secret_of_the_wrong_type_and_no_url_userinfo_is_ever_shown() {
    let env = Env::with_events(&["us-east-1"], 5, 3600, 0);
    let s3 = crate::s3::S3Server::start();
    let streams = ["management_events", crate::s3::TRAIL_EVENTS];

    let secrets = spec_fields(|_, p| p["airbyte_secret"] == true);
    assert_eq!(secrets.len(), 8, "{secrets:?}");
    for field in &secrets {
        for (value, kind, hidden) in [
            // Whole values: a short marker turns up in timestamps (emitted_at …4242…).
            (json!(4_242_424_242u64), "a number", "4242424242"),
            (json!(-4242.4242), "a number", "4242.4242"),
            (json!(true), "a boolean", "`true`"),
        ] {
            let config = s3.config(&env, with_field(field, value));
            let words = format!("config field {field}: invalid type: {kind}, expected a string");
            assert_config_error(&env, &config, &streams, &[], &words, &[hidden]);
        }
    }

    // In the config: refused, naming the field. Reachable or not, it cannot work: the SDK signs
    // the user name and password as part of the host.
    let hidden = ["USERmark", "PASSmark"];
    let with_userinfo = |url: &str| url.replace("http://", "http://USERmark:PASSmark@");
    for endpoint in [env.endpoint.as_str(), "http://127.0.0.1:9"] {
        let config = s3.config(&env, json!({"endpoint_url": with_userinfo(endpoint)}));
        let words = "endpoint_url holds a user name or password";
        assert_config_error(&env, &config, &streams, &[], words, &hidden);
    }
    for endpoint in [s3.endpoint.as_str(), "http://127.0.0.1:9"] {
        let extra = json!({"trail_logs": {"endpoint_url": with_userinfo(endpoint)}});
        let config = s3.config(&env, extra);
        let words = "trail_logs.endpoint_url holds a user name or password";
        assert_config_error(&env, &config, &streams, &[], words, &hidden);
    }

    // In the SDK's variables: refused the same way, naming the variable.
    let unreachable = with_userinfo("http://127.0.0.1:9");
    let no_endpoints = json!({"endpoint_url": null, "trail_logs": {"endpoint_url": null}});
    let config = s3.config(&env, no_endpoints);
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CLOUDTRAIL",
        "AWS_ENDPOINT_URL_S3",
    ] {
        let words = format!("the environment variable {name} holds a user name or password");
        let vars = [(name, unreachable.as_str())];
        assert_config_error(&env, &config, &streams, &vars, &words, &hidden);
    }

    // Where the connector does not look, in a profile, the SDK finds it and quotes it in its
    // errors ("Custom endpoint `…` was not a valid URI"): its texts are redacted.
    let profile = env.file(
        "aws-config",
        &format!("[default]\nendpoint_url = {unreachable}/?x=1\n"),
    );
    let vars = [("AWS_CONFIG_FILE", profile.to_str().unwrap())];
    let check = env.check(&config, &vars);
    let (status, message) = check.connection_status();
    assert!(
        status == "FAILED" && message.contains("Custom endpoint `http://***@127.0.0.1:9/?x=1`"),
        "{message}"
    );
    assert_hidden("check with a profile endpoint", &check, &hidden);
    let read = env.read_streams_env(
        &config,
        &[crate::s3::TRAIL_EVENTS],
        "incremental",
        None,
        &vars,
    );
    assert!(!read.errors().is_empty(), "{}", read.stdout);
    assert_hidden("read with a profile endpoint", &read, &hidden);
}
