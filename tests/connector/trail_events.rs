//! `trail_events` through the real binary and the real aws-sdk-s3 against s3s-fs: layouts
//! (organization and plain), digest and Insights files, broken files, filters, incremental
//! syncs with late files, kill -9, and the errors a person must fix.

use std::collections::HashSet;
use std::time::Duration;

use cloudtrail_emulator::records::Rng;
use cloudtrail_emulator::trail_logs::{gzip, log_file, CorpusSpec};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const ORG: &str = "o-a1b2c3d4e5";

fn read(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    let run = env.read_streams(config, &[TRAIL_EVENTS], "incremental", state);
    run.assert_protocol();
    run
}

#[test]
fn discover_offers_trail_events_only_when_trail_logs_is_set() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let names = |config: &std::path::Path| -> Vec<Value> {
        let run = exec(&["discover", "--config", &path(config)], &[]);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        run.of_type("CATALOG")[0]["catalog"]["streams"]
            .as_array()
            .unwrap()
            .clone()
    };
    let without = names(&env.config(json!({})));
    assert!(without.iter().all(|s| s["name"] != TRAIL_EVENTS));
    let with = names(&s3.config(&env, json!({})));
    let stream = with.iter().find(|s| s["name"] == TRAIL_EVENTS).unwrap();
    assert_eq!(stream["source_defined_primary_key"], json!([["eventID"]]));
    assert_eq!(stream["default_cursor_field"], json!(["logFileKey"]));
    assert_eq!(
        stream["json_schema"]["properties"]["eventTime"]["format"],
        "date-time"
    );
}

#[test]
fn every_event_of_organization_and_account_folders_is_read_once_with_its_provenance() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let org = s3.seed(&CorpusSpec {
        organization_id: Some(ORG.into()),
        prefix: "security/trail".into(),
        large_fraction: 0.02,
        ..spec(
            &["111122223333", "444455556666"],
            &["us-east-1", "eu-west-1"],
            6,
            40,
        )
    });
    let plain = s3.seed(&CorpusSpec {
        prefix: "security/trail".into(),
        seed: 2,
        ..spec(&["777788889999"], &["ap-southeast-2"], 4, 25)
    });
    // A 250 KB record, near CloudTrail's limit.
    let mut rng = Rng::new(5);
    let mut big = log_file(
        &mut rng,
        "security/trail",
        None,
        "777788889999",
        "ap-southeast-2",
        1_764_100_000,
        3,
        1.0,
    );
    let text = format!(
        "{{\"Records\":[{{\"eventID\":\"big-one\",\"eventTime\":\"2025-11-25T19:46:00Z\",\"requestParameters\":{{\"policyDocument\":\"{}\"}}}}]}}",
        "x".repeat(250_000)
    );
    big.body = gzip(text.as_bytes());
    s3.put(&big.key, &big.body);
    assert!(
        org.other_files > 0,
        "digest and Insights files are in the bucket"
    );

    let config = s3.config(&env, json!({"trail_logs": {"prefix": "/security/trail/"}}));
    let run = read(&env, &config, None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        run.statuses(TRAIL_EVENTS),
        ["STARTED", "RUNNING", "COMPLETE"]
    );
    let ids = event_ids(&run);
    assert_unique(&ids);
    let mut expected: HashSet<String> = id_set(&corpus_ids(&org));
    expected.extend(corpus_ids(&plain));
    expected.insert("big-one".into());
    assert_same_ids(&id_set(&ids), &expected);

    let records: Vec<&Value> = run.records();
    let by_id = |id: &str| *records.iter().find(|r| r["eventID"] == id).unwrap();
    let (key, file_ids) = &org.files[0];
    let r = by_id(&file_ids[0]);
    assert_eq!(r["logFileKey"], key.as_str());
    assert_eq!(r["logFileBucket"], BUCKET);
    assert_eq!(r["logFileOrganizationId"], ORG);
    assert!(key.contains(&format!(
        "/{}/CloudTrail/{}/",
        r["logFileAccountId"].as_str().unwrap(),
        r["logFileRegion"].as_str().unwrap()
    )));
    assert_eq!(r["recipientAccountId"], r["logFileAccountId"]);
    let p = by_id(&plain.files[0].1[0]);
    assert_eq!(p["logFileOrganizationId"], Value::Null);
    assert_eq!(p["logFileAccountId"], "777788889999");
    assert!(
        by_id("big-one")["requestParameters"]["policyDocument"]
            .as_str()
            .unwrap()
            .len()
            == 250_000
    );
    // Native names and shapes: polymorphic fields stay whatever JSON they were.
    assert!(records
        .iter()
        .any(|r| r["eventCategory"] == "Data" && r["additionalEventData"].is_object()));
    assert!(records.iter().any(|r| r["requestParameters"].is_string()));
    assert!(records.iter().any(|r| r["requestParameters"].is_object()));
    assert!(records.iter().all(|r| r.get("digestStartTime").is_none()));
    assert!(records
        .iter()
        .all(|r| r["eventType"] != "AwsCloudTrailInsight"));
}

#[test]
fn broken_files_are_reported_by_key_and_skipped_without_losing_the_others() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let good = s3.seed(&spec(&["111122223333"], &["us-east-1"], 5, 20));
    let folder = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/11/24/";
    let name = |i: u32| {
        format!(
            "{folder}111122223333_CloudTrail_us-east-1_20251124T17{i:02}Z_broken{i:010}.json.gz"
        )
    };
    let valid = gzip(
        br#"{"Records":[{"eventID":"t1","readOnly":true},{"eventID":"t2","readOnly":false}]}"#,
    );
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (name(1), vec![], "empty"),
        (name(2), valid[..valid.len() / 2].to_vec(), "truncated"),
        (name(3), b"not gzip at all".to_vec(), "gzip"),
        (name(4), gzip(b"{\"Records\": [{\"eventID\": \"c1\"}, {\"eventID\": tru}]}"), "not valid JSON"),
        (name(5), gzip(br#"{"digestStartTime":"x","logFiles":[]}"#), "no Records"),
        (
            name(6),
            gzip(b"{\"Records\":[{\"eventID\":\"odd-1\",\"readOnly\":\"yes\",\"eventTime\":\"yesterday\"},\n{\"eventID\":\n\"odd-2\"}, 5]}"),
            "not event objects",
        ),
    ];
    for (key, body, _) in &cases {
        s3.put(key, body);
    }
    let run = read(&env, &s3.config(&env, json!({})), None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let logs = run.logs().join("\n");
    for (key, _, what) in &cases[..5] {
        assert!(
            logs.lines()
                .any(|l| l.contains(key.as_str()) && l.contains(what)),
            "no warning naming {key} ({what}):\n{logs}"
        );
    }
    assert!(logs.contains("unexpected type, written as null"), "{logs}");
    let ids = event_ids(&run);
    assert_unique(&ids);
    let mut expected = id_set(&corpus_ids(&good));
    expected.extend(["c1".to_string(), "odd-1".into(), "odd-2".into()]);
    assert_same_ids(&id_set(&ids), &expected);
    let odd = run
        .records()
        .into_iter()
        .find(|r| r["eventID"] == "odd-1")
        .unwrap()
        .clone();
    assert_eq!(
        odd["readOnly"],
        Value::Null,
        "a value of the wrong type becomes null"
    );
    assert_eq!(odd["eventTime"], Value::Null);
    // Each nulled value is named on its record, the way destinations record changes.
    let meta = run
        .of_type("RECORD")
        .into_iter()
        .find(|m| m["record"]["data"]["eventID"] == "odd-1")
        .unwrap()["record"]["meta"]
        .clone();
    assert_eq!(
        meta,
        json!({"changes": [
            {"field": "readOnly", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"},
            {"field": "eventTime", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}
        ]})
    );
    // Skipped files are not read again; a stray key sorting after the day folders does not
    // become the cursor, which would stop the listing of later deliveries.
    s3.put(
        "AWSLogs/111122223333/CloudTrail/us-east-1/zz-notes.json.gz",
        b"x",
    );
    let deliveries = |hours: i64, seed: u64| {
        s3.seed(&CorpusSpec {
            start: CorpusSpec::default().start + hours * 3600,
            seed,
            ..spec(&["111122223333"], &["us-east-1"], 2, 5)
        })
    };
    let later = deliveries(2, 8);
    let again = read(&env, &s3.config(&env, json!({})), Some(&run.last_state()));
    assert_same_ids(&id_set(&event_ids(&again)), &id_set(&corpus_ids(&later)));
    let latest = deliveries(4, 9);
    let last = read(&env, &s3.config(&env, json!({})), Some(&again.last_state()));
    assert_same_ids(&id_set(&event_ids(&last)), &id_set(&corpus_ids(&latest)));
}

#[test]
fn two_syncs_read_every_event_once_and_a_late_file_inside_the_lookback_too() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // Delivered up to a few minutes ago: a late file is one that appears within the lookback
    // of the time in its name.
    let base = CorpusSpec {
        start: now() - 11 * 300 - 180,
        ..spec(&["111122223333"], &["us-east-1", "eu-west-1"], 12, 30)
    };
    let first_files = s3.seed(&base);
    let config = s3.config(
        &env,
        json!({"trail_logs": {"late_file_lookback_minutes": 30}}),
    );
    let first = read(&env, &config, None);
    assert_eq!(first.code, Some(0), "{}", first.stdout);
    let state = first.last_state();
    let folders = folder_cursors(&state[0]["stream"]["stream_state"]);
    assert_eq!(folders.len(), 2, "{state}");

    // Later deliveries, one file delivered late (stamped 20 minutes before the newest file
    // read, appearing about 25 minutes after its time: inside the lookback) and one very late
    // (stamped 3 hours before: outside it).
    let newest = base.start + 11 * base.delivery_interval_secs;
    let more = s3.seed(&CorpusSpec {
        start: newest + base.delivery_interval_secs,
        files_per_prefix: 5,
        seed: 9,
        ..base.clone()
    });
    let mut rng = Rng::new(77);
    let late = log_file(
        &mut rng,
        "",
        None,
        "111122223333",
        "us-east-1",
        newest - 20 * 60,
        15,
        0.0,
    );
    let too_late = log_file(
        &mut rng,
        "",
        None,
        "111122223333",
        "us-east-1",
        newest - 3 * 3600,
        15,
        0.0,
    );
    s3.put(&late.key, &late.body);
    s3.put(&too_late.key, &too_late.body);

    let second = read(&env, &config, Some(&state));
    assert_eq!(second.code, Some(0), "{}", second.stdout);
    let third = read(&env, &config, Some(&second.last_state()));
    assert_eq!(event_ids(&third).len(), 0, "a third sync finds nothing new");

    let mut all = event_ids(&first);
    all.extend(event_ids(&second));
    assert_unique(&all);
    let mut expected = id_set(&corpus_ids(&first_files));
    expected.extend(corpus_ids(&more));
    expected.extend(late.event_ids.iter().cloned());
    assert_same_ids(&id_set(&all), &expected);
    assert!(id_set(&event_ids(&second)).is_superset(&id_set(&late.event_ids)));
}

#[test]
fn filters_and_start_date_narrow_what_is_read() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    s3.seed(&CorpusSpec {
        organization_id: Some(ORG.into()),
        ..spec(
            &["111122223333", "444455556666"],
            &["us-east-1", "eu-west-1"],
            3,
            5,
        )
    });
    s3.seed(&CorpusSpec {
        seed: 3,
        ..spec(&["777788889999"], &["us-east-1"], 3, 5)
    });
    // A second day of deliveries in one folder.
    let next_day = s3.seed(&CorpusSpec {
        start: CorpusSpec::default().start + 86_400,
        seed: 4,
        ..spec(&["777788889999"], &["us-east-1"], 2, 5)
    });
    let values = |run: &Run, field: &str| -> HashSet<String> {
        run.records()
            .iter()
            .map(|r| r[field].as_str().unwrap_or("-").to_string())
            .collect()
    };
    let run = read(&env, &s3.config(&env, json!({"trail_logs": {"accounts": ["444455556666", "777788889999"], "regions": ["us-east-1"]}})), None);
    assert_eq!(
        values(&run, "logFileAccountId"),
        HashSet::from(["444455556666".into(), "777788889999".into()])
    );
    assert_eq!(
        values(&run, "logFileRegion"),
        HashSet::from(["us-east-1".into()])
    );
    let run = read(
        &env,
        &s3.config(&env, json!({"trail_logs": {"organization_ids": [ORG]}})),
        None,
    );
    assert_eq!(
        values(&run, "logFileOrganizationId"),
        HashSet::from([ORG.to_string()])
    );
    assert_eq!(values(&run, "logFileAccountId").len(), 2);
    let day = cloudtrail_emulator::records::iso8601(CorpusSpec::default().start + 86_400)[..10]
        .to_string();
    let run = read(
        &env,
        &s3.config(
            &env,
            json!({"trail_logs": {"start_date": day, "accounts": ["777788889999"]}}),
        ),
        None,
    );
    assert_same_ids(&id_set(&event_ids(&run)), &id_set(&corpus_ids(&next_day)));
}

#[test]
fn the_sdk_endpoint_variable_and_the_top_level_credentials_are_enough() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&spec(&["111122223333"], &["us-east-1"], 2, 10));
    let config = env.config(json!({
        "aws_key_id": KEY_ID, "aws_secret_key": SECRET,
        "trail_logs": {"bucket": BUCKET}
    }));
    let run = env.read_streams_env(
        &config,
        &[TRAIL_EVENTS],
        "incremental",
        None,
        &[("AWS_ENDPOINT_URL_S3", &s3.endpoint)],
    );
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_same_ids(&id_set(&event_ids(&run)), &id_set(&corpus_ids(&corpus)));
}

#[test]
fn check_and_read_name_what_to_fix_in_trail_logs() {
    // S3's own error codes (NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId) from both
    // servers: the emulator's must answer as S3 does for the connector to say the same.
    for s3 in [S3Server::start(), S3Server::start_emulated()] {
        check_and_read_name_what_to_fix(&s3);
    }
}

fn check_and_read_name_what_to_fix(s3: &S3Server) {
    let env = Env::new(Default::default());
    s3.seed(&spec(&["111122223333"], &["us-east-1"], 1, 3));
    let (status, message) = env
        .check(&s3.config(&env, json!({})), &[])
        .connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(
        message.contains("trail_events: s3://trail-logs/AWSLogs/ is readable"),
        "{message}"
    );

    for (extra, words) in [
        (
            json!({"trail_logs": {"bucket": "no-such-bucket"}}),
            "check trail_logs.bucket",
        ),
        (
            json!({"trail_logs": {"aws_secret_key": "wrong"}}),
            "aws_secret_key",
        ),
        (
            json!({"trail_logs": {"aws_key_id": "AKIAUNKNOWN000000000"}}),
            "trail_logs",
        ),
    ] {
        let config = s3.config(&env, extra.clone());
        let (status, message) = env.check(&config, &[]).connection_status();
        assert_eq!(status, "FAILED", "{extra}: {message}");
        assert!(message.contains(words), "{extra}: {message}");
        assert!(!message.contains(SECRET));
        let run = read(&env, &config, None);
        assert_eq!(run.code, Some(1), "{extra}: {}", run.stdout);
        let errors = run.errors();
        assert_eq!(
            errors[0]["failure_type"], "config_error",
            "{extra}: {}",
            run.stdout
        );
        assert_eq!(errors[0]["stream_descriptor"]["name"], TRAIL_EVENTS);
        assert!(!run.stdout.contains(SECRET) && !run.stdout.contains("wrong\""));
    }

    for (extra, words) in [
        (
            json!({"trail_logs": {"bucket": "s3://x/y"}}),
            "trail_logs.bucket",
        ),
        (
            json!({"trail_logs": {"accounts": ["12"]}}),
            "trail_logs.accounts",
        ),
        (
            json!({"trail_logs": {"aws_secret_key": null}}),
            "trail_logs.aws_secret_key is missing",
        ),
        (
            json!({"trail_logs": {"prefix": "x/AWSLogs"}}),
            "before AWSLogs",
        ),
        (
            json!({"trail_logs": {"start_date": "2025-02-30"}}),
            "trail_logs.start_date",
        ),
    ] {
        let (status, message) = env
            .check(&s3.config(&env, extra.clone()), &[])
            .connection_status();
        assert_eq!(status, "FAILED", "{extra}");
        assert!(message.contains(words), "{extra}: {message}");
    }
}

#[test]
fn kill_9_at_any_moment_then_resume_loses_nothing() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&spec(
        &["111122223333", "444455556666"],
        &["us-east-1", "eu-west-1"],
        250,
        60,
    ));
    let config = s3.config(&env, json!({}));
    let (mut seen, mut state, mut kills) = (vec![], None, 0);
    let mut rng = Rng::new(11);
    for run in 0.. {
        assert!(run < 400, "the syncs never completed");
        let delay = Duration::from_millis(20 + rng.below(600));
        let (ids, last, completed) = read_and_kill(
            &env,
            &config,
            &[TRAIL_EVENTS],
            "eventID",
            state.as_ref(),
            delay,
        );
        seen.extend(ids);
        if last.is_some() {
            state = last;
        }
        if completed {
            break;
        }
        kills += 1;
    }
    assert!(
        kills >= 5,
        "only {kills} kills: the corpus is read too fast to interrupt"
    );
    let expected = id_set(&corpus_ids(&corpus));
    let got = id_set(&seen);
    assert_same_ids(&got, &expected);
    eprintln!(
        "trail_events kill -9 x{kills}: {} records for {} events ({} re-emitted)",
        seen.len(),
        expected.len(),
        seen.len() - got.len()
    );
}

#[test]
fn the_bucket_is_read_even_when_cloudtrail_refuses_the_top_level_keys() {
    let env = Env::with_events(&["us-east-1"], 10, 3600, 0);
    let s3 = S3Server::start();
    let corpus = s3.seed(&spec(&["111122223333"], &["us-east-1"], 3, 10));
    let config = s3.config(&env, json!({"aws_secret_key": "wrong"}));
    let run = env.read_streams(
        &config,
        &["management_events", TRAIL_EVENTS],
        "incremental",
        None,
    );
    run.assert_protocol();
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.statuses("management_events").last().map(String::as_str),
        Some("INCOMPLETE")
    );
    assert_eq!(
        run.statuses(TRAIL_EVENTS),
        ["STARTED", "RUNNING", "COMPLETE"]
    );
    assert!(run.errors()[0]["message"]
        .as_str()
        .unwrap()
        .contains("aws_secret_key"));
    assert_same_ids(&id_set(&event_ids(&run)), &id_set(&corpus_ids(&corpus)));
}

#[test]
fn a_role_in_the_log_archive_account_reads_the_bucket() {
    // The emulator's STS hands out the keys s3s-fs accepts for this role only.
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&spec(&["111122223333"], &["us-east-1"], 3, 10));
    let role = "arn:aws:iam::210987654321:role/log-archive-reader";
    env.emulator
        .add_role_issuing(role, Some("archive-external-id"), KEY_ID, SECRET);
    let sts = [("AWS_ENDPOINT_URL_STS", env.endpoint.as_str())];
    let config = |external: &str| {
        s3.config(
            &env,
            json!({"trail_logs": {"aws_key_id": null, "aws_secret_key": null, "role_arn": role, "role_external_id": external}}),
        )
    };
    let good = config("archive-external-id");
    let (status, message) = env.check(&good, &sts).connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    let run = env.read_streams_env(&good, &[TRAIL_EVENTS], "incremental", None, &sts);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_same_ids(&id_set(&event_ids(&run)), &id_set(&corpus_ids(&corpus)));

    let (status, message) = env.check(&config("wrong"), &sts).connection_status();
    assert_eq!(status, "FAILED");
    assert!(
        message.contains(&format!("cannot assume role {role}")),
        "{message}"
    );
}

#[test]
fn downloads_cut_mid_body_are_fetched_again_without_repeating_a_record() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // Files of about 150 KB compressed: a cut after 60 KB lands inside a body.
    let corpus = s3.seed(&CorpusSpec {
        large_fraction: 0.0,
        ..spec(&["111122223333"], &["us-east-1", "eu-west-1"], 6, 1500)
    });
    let proxy = CuttingProxy::start(&s3.endpoint, 60_000, 5);
    let config = s3.config(
        &env,
        json!({"trail_logs": {"endpoint_url": proxy.endpoint}}),
    );
    let run = read(&env, &config, None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        proxy.cut.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "the proxy cut 5 downloads"
    );
    let ids = event_ids(&run);
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &id_set(&corpus_ids(&corpus)));
    let logs = run.logs();
    assert!(
        logs.iter()
            .all(|l| !l.contains("the rest of the file is skipped")),
        "{logs:?}"
    );
    let refetched = logs
        .iter()
        .filter(|l| l.contains("broke") && l.contains("fetching it again"))
        .count();
    assert_eq!(refetched, 5, "{logs:?}");
}

#[test]
fn files_whose_downloads_keep_breaking_stay_unread_for_the_next_sync() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&CorpusSpec {
        large_fraction: 0.0,
        ..spec(&["111122223333"], &["us-east-1"], 3, 1500)
    });
    // Every download is cut: the files cannot be read in this sync.
    let proxy = CuttingProxy::start(&s3.endpoint, 60_000, usize::MAX);
    let broken = s3.config(
        &env,
        json!({"trail_logs": {"endpoint_url": proxy.endpoint}}),
    );
    let first = read(&env, &broken, None);
    assert_eq!(first.code, Some(1), "{}", first.stdout);
    assert_eq!(
        first.statuses(TRAIL_EVENTS).last().map(String::as_str),
        Some("INCOMPLETE")
    );
    let errors = first.errors();
    assert_eq!(errors[0]["failure_type"], "transient_error", "{errors:?}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("the download broke 6 times"));
    // The next sync, with S3 reachable again, reads the rest and nothing twice.
    let second = read(&env, &s3.config(&env, json!({})), Some(&first.last_state()));
    assert_eq!(second.code, Some(0), "{}", second.stdout);
    let mut all = event_ids(&first);
    all.extend(event_ids(&second));
    assert_unique(&all);
    assert_same_ids(&id_set(&all), &id_set(&corpus_ids(&corpus)));
    assert!(
        !event_ids(&first).is_empty(),
        "the first sync wrote the records before each cut"
    );
}

#[test]
fn an_interrupted_full_refresh_resumes_from_its_own_state() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&spec(
        &["111122223333"],
        &["us-east-1", "eu-west-1"],
        60,
        300,
    ));
    let config = s3.config(&env, json!({}));
    let (before, state) = full_refresh_until_state(&env, &config, &[TRAIL_EVENTS], 4_000);
    let again = env.read_streams(
        &config,
        &[TRAIL_EVENTS],
        "full_refresh",
        Some(&state_file(TRAIL_EVENTS, &state)),
    );
    assert_eq!(again.code, Some(0), "{}", again.stdout);
    again.assert_protocol();
    let rerun = again.records();
    // A file the state counts as read, whole: at or below its folder's `after`, or `done`.
    let covered = |r: &Value| {
        let key = r["logFileKey"].as_str().unwrap();
        folder_cursors(&state).iter().any(|(folder, c)| {
            key.strip_prefix(folder.as_str()).is_some_and(|file| {
                c.after.as_deref().is_some_and(|a| file <= a) || c.done.iter().any(|d| d == file)
            })
        })
    };
    assert_resumed(
        &before,
        &rerun,
        "eventID",
        covered,
        &id_set(&corpus_ids(&corpus)),
    );
}

#[test]
fn one_unreadable_record_is_skipped_and_named_and_the_rest_of_its_file_is_read() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/11/24/111122223333_CloudTrail_us-east-1_20251124T1700Z_bad.json.gz";
    let deep = format!("{{\"d\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let huge = format!(
        "{{\"eventID\":\"huge\",\"p\":\"{}\"}}",
        "x".repeat(65 << 20)
    );
    let mut body = b"{\"Records\":[{\"eventID\":\"r0\"},{\"eventID\":\"\xff\"},".to_vec();
    body.extend_from_slice(deep.as_bytes());
    body.extend_from_slice(b",{\"eventID\":\"r3\"},");
    body.extend_from_slice(huge.as_bytes());
    body.extend_from_slice(b",{\"eventID\":tru},{\"eventID\":\"r6\"}]}");
    s3.put(key, &gzip(&body));
    let run = read(&env, &s3.config(&env, json!({})), None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(event_ids(&run), ["r0", "r3", "r6"]);
    let logs = run.logs();
    for (index, why) in [
        (1, "UTF-8"),
        (2, "nesting"),
        (4, "larger than"),
        (5, "not valid JSON"),
    ] {
        assert!(
            logs.iter().any(|l| l.contains(key)
                && l.contains(&format!("record {index} of Records"))
                && l.contains(why)),
            "no warning for record {index} ({why}):\n{}",
            logs.join("\n")
        );
    }
    assert!(
        logs.iter()
            .all(|l| !l.contains("the rest of the file is skipped")),
        "{}",
        logs.join("\n")
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("4 unreadable records skipped")),
        "{}",
        logs.join("\n")
    );
    let again = read(&env, &s3.config(&env, json!({})), Some(&run.last_state()));
    assert!(
        event_ids(&again).is_empty(),
        "the file is done once read to its end"
    );
}

/// The member names of a JSON object in the order written, repeats kept (a `Value` would drop
/// them).
struct Names(Vec<String>);

impl<'de> serde::Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                    names.push(k);
                }
                Ok(Names(names))
            }
        }
        d.deserialize_map(V)
    }
}

#[test]
fn a_record_never_names_a_member_twice_and_the_provenance_columns_win() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/11/24/111122223333_CloudTrail_us-east-1_20251124T1700Z_own.json.gz";
    let body = br#"{"Records":[
        {"eventID":"own","logFileKey":"forged","logFileBucket":"elsewhere","logFileRegion":null},
        {"eventID":"escaped","logFile\u004bey":"forged"},
        {"eventID":"twice","a":1,"a":2,"n":{"b":[1],"b":[2]}},
        {"eventID":"plain"}]}"#;
    s3.put(key, &gzip(body));
    let run = read(&env, &s3.config(&env, json!({})), None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(event_ids(&run), ["own", "escaped", "twice", "plain"]);
    #[derive(serde::Deserialize)]
    struct Line {
        record: Option<Rec>,
    }
    #[derive(serde::Deserialize)]
    struct Rec {
        data: Names,
    }
    for line in run.stdout.lines() {
        let Ok(Line { record: Some(r) }) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let mut names = r.data.0.clone();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), r.data.0.len(), "a name given twice: {line}");
        // Rebuilt in one streaming pass: a repeated name keeps its first value.
        assert!(
            !line.contains(r#""b":[2]"#) && !line.contains(r#""a":2"#),
            "the first value is kept: {line}"
        );
    }
    let records = run.records();
    let by_id = |id: &str| records.iter().find(|r| r["eventID"] == id).unwrap();
    for id in ["own", "escaped"] {
        assert_eq!(by_id(id)["logFileKey"], key, "the provenance column wins");
        assert_eq!(by_id(id)["logFileBucket"], BUCKET);
    }
    let changes = |id: &str| {
        run.of_type("RECORD")
            .into_iter()
            .find(|m| m["record"]["data"]["eventID"] == id)
            .unwrap()["record"]["meta"]["changes"]
            .clone()
    };
    let nulled = |field: &str| json!({"field": field, "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"});
    let own = changes("own");
    for field in ["logFileKey", "logFileBucket", "logFileRegion"] {
        assert!(own.as_array().unwrap().contains(&nulled(field)), "{own}");
    }
    assert_eq!(changes("escaped"), json!([nulled("logFileKey")]));
    assert_eq!(changes("plain"), Value::Null);
    assert!(
        run.logs().iter().all(|l| !l.contains("unexpected type")),
        "{:?}",
        run.logs()
    );
}

#[test]
fn a_trail_by_name_or_arn_finds_its_bucket_and_prefix() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // The emulator's trail "management-events" (home us-east-1, multi-region) logs to
    // s3://acme-cloudtrail-logs/mgmt/.
    std::fs::create_dir_all(s3.root.path().join("acme-cloudtrail-logs")).unwrap();
    let corpus = s3.seed(&CorpusSpec {
        bucket: "acme-cloudtrail-logs".into(),
        prefix: "mgmt".into(),
        ..spec(&["111122223333"], &["us-east-1"], 3, 10)
    });
    let by = |trail: &str, region: &str| {
        s3.config(
            &env,
            json!({"aws_region_name": region, "trail_logs": {"bucket": null, "trail": trail}}),
        )
    };
    let arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events";
    for config in [by("management-events", "us-east-1"), by(arn, "eu-west-1")] {
        let (status, message) = env.check(&config, &[]).connection_status();
        assert_eq!(status, "SUCCEEDED", "{message}");
        assert!(
            message.contains("resolved to s3://acme-cloudtrail-logs/mgmt/AWSLogs/"),
            "{message}"
        );
        let run = read(&env, &config, None);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        assert_same_ids(&id_set(&event_ids(&run)), &id_set(&corpus_ids(&corpus)));
        assert!(run
            .records()
            .iter()
            .all(|r| r["logFileBucket"] == "acme-cloudtrail-logs"));
    }
    let unknown = by("no-such-trail", "us-east-1");
    let (status, message) = env.check(&unknown, &[]).connection_status();
    assert_eq!(status, "FAILED");
    assert!(
        message.contains("trail_logs.trail: no trail no-such-trail"),
        "{message}"
    );
    let run = read(&env, &unknown, None);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.errors()[0]["failure_type"], "config_error");
    // Neither bucket nor trail: named at once.
    let neither = s3.config(&env, json!({"trail_logs": {"bucket": null}}));
    let (status, message) = env.check(&neither, &[]).connection_status();
    assert_eq!(status, "FAILED");
    assert!(message.contains("trail_logs needs bucket"), "{message}");
}

/// Issue 26, item 12: some copy tools store log files uncompressed but keep the `.json.gz`
/// name. The first bytes tell gzip (1f 8b) from JSON: such a file is read as JSON, said once
/// in a LOG line and counted in the summary, and read exactly once across syncs.
#[test]
fn item_12_a_plain_json_file_named_json_gz_is_read_as_json_exactly_once() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    let corpus = s3.seed(&spec(&["111122223333"], &["us-east-1"], 3, 10));
    let folder = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/11/24/";
    let key = |stamp: &str, tag: &str| {
        format!("{folder}111122223333_CloudTrail_us-east-1_20251124T{stamp}Z_{tag}.json.gz")
    };
    let plain = |ids: &[&str]| {
        let records: Vec<Value> = ids
            .iter()
            .map(|id| json!({"eventID": id, "eventTime": "2025-11-24T16:55:00Z", "eventName": "GetObject", "readOnly": true}))
            .collect();
        // Pretty-printed and led by a newline, as a tool writing JSON for people does.
        format!(
            "\n{}",
            serde_json::to_string_pretty(&json!({"Records": records})).unwrap()
        )
    };
    let (first_key, second_key) = (
        key("1700", "plainA0000000001"),
        key("1705", "plainB0000000002"),
    );
    s3.put(&first_key, plain(&["p1", "p2", "p3"]).as_bytes());
    s3.put(&second_key, plain(&["p4"]).as_bytes());
    let config = s3.config(&env, json!({}));

    let first = read(&env, &config, None);
    assert_eq!(first.code, Some(0), "{}", first.stdout);
    let mut expected = id_set(&corpus_ids(&corpus));
    expected.extend(["p1", "p2", "p3", "p4"].map(String::from));
    assert_same_ids(&id_set(&event_ids(&first)), &expected);
    let logs = first.logs();
    let said: Vec<&String> = logs.iter().filter(|l| l.contains("plain JSON")).collect();
    assert_eq!(
        said.len(),
        2,
        "said once, and counted in the summary: {said:?}"
    );
    // Files are read several at a time: either may be the first.
    assert!(
        said[0].contains(&first_key) || said[0].contains(&second_key),
        "{said:?}"
    );
    assert!(
        said[1].contains("2 files of plain JSON under a .json.gz name"),
        "{said:?}"
    );
    assert!(
        logs.iter()
            .filter(|l| l.contains(&first_key) || l.contains(&second_key))
            .all(|l| l.contains("read as JSON")),
        "no file is called broken: {logs:?}"
    );

    // A later delivery, plain too: read once; nothing of the first sync again.
    let third_key = key("1710", "plainC0000000003");
    s3.put(&third_key, plain(&["p5", "p6"]).as_bytes());
    let second = read(&env, &config, Some(&first.last_state()));
    assert_eq!(second.code, Some(0), "{}", second.stdout);
    assert_eq!(event_ids(&second), ["p5", "p6"]);
    let mut all = event_ids(&first);
    all.extend(event_ids(&second));
    assert_unique(&all);
    let third = read(&env, &config, Some(&second.last_state()));
    assert!(event_ids(&third).is_empty(), "{:?}", event_ids(&third));
}
