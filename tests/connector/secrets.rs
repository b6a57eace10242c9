//! Secrets never leave the process: marker values for the secret key, the session token and the
//! role's external id go through every command and every failure, and no output contains them.

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
