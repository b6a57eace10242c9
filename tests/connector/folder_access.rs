//! Issue 26, item 8: an account folder of the trail's bucket that the credentials may not list
//! (ListBucket denied under its prefix, as an IAM policy with an `s3:prefix` condition does)
//! fails alone, like a region LookupEvents cannot read: the other accounts' folders are read and
//! checkpointed, the stream ends INCOMPLETE with a TRACE error naming the folder, the call and
//! the permission, and `check` names the folder too. A denial at the root stays a config_error
//! for the whole stream.

use std::collections::HashSet;

use cloudtrail_emulator::s3::S3Action;
use cloudtrail_emulator::trail_logs::{CorpusSpec, CorpusSummary};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const TRAIL_DIGESTS: &str = "trail_digests";
const READABLE: &str = "111111111111";
const DENIED: &str = "222222222222";
const DENIED_FOLDER: &str = "AWSLogs/222222222222/";

/// Two accounts in two regions, with signed digests (a plain layout: the emulated server keeps
/// user metadata in a file named after the key, which an organization key makes too long).
fn seed(s3: &S3Server) -> CorpusSummary {
    s3.seed(&CorpusSpec {
        delivery_interval_secs: 720,
        digests: true,
        digests_and_insights: true,
        ..spec(&[READABLE, DENIED], &["us-east-1", "eu-west-1"], 6, 8)
    })
}

/// The event ids of the corpus's files under `account`'s folder.
fn ids_of(corpus: &CorpusSummary, account: &str) -> HashSet<String> {
    corpus
        .files
        .iter()
        .filter(|(key, _)| key.starts_with(&format!("AWSLogs/{account}/")))
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect()
}

/// The state file a next sync is given: each stream's last STATE.
fn last_states(run: &Run) -> Value {
    let mut by_stream: Vec<(String, Value)> = Vec::new();
    for s in run.states() {
        let name = s["state"]["stream"]["stream_descriptor"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        by_stream.retain(|(n, _)| *n != name);
        by_stream.push((name, s["state"].clone()));
    }
    Value::Array(by_stream.into_iter().map(|(_, s)| s).collect())
}

/// The folder paths a stream's last STATE holds cursors for.
fn state_folders(run: &Run, stream: &str) -> Vec<String> {
    let state = run
        .states()
        .into_iter()
        .rev()
        .find(|s| s["state"]["stream"]["stream_descriptor"]["name"] == stream)
        .unwrap_or_else(|| panic!("no STATE of {stream}:\n{}", run.stdout))["state"]["stream"]
        ["stream_state"]
        .clone();
    folder_cursors(&state).into_keys().collect()
}

fn errors_of<'a>(run: &'a Run, stream: &str) -> Vec<&'a Value> {
    run.errors()
        .into_iter()
        .filter(|e| e["stream_descriptor"]["name"] == stream)
        .collect()
}

#[test]
fn item_8_an_account_folder_denied_listing_fails_alone_and_the_others_are_read_and_checkpointed() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    let corpus = seed(&s3);
    s3.deny(S3Action::ListBucket, DENIED_FOLDER);
    let config = s3.config(&env, json!({}));

    let check = env.check(&config, &[]);
    let (status, message) = check.connection_status();
    assert_eq!(
        status, "SUCCEEDED",
        "the other account is readable: {message}"
    );
    eprintln!("check: {message}");
    for named in [DENIED_FOLDER, "s3:ListBucket", "NOT readable"] {
        assert!(message.contains(named), "check names {named}: {message}");
    }

    let run = env.read_streams(&config, &[TRAIL_EVENTS, TRAIL_DIGESTS], "incremental", None);
    run.assert_protocol();
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    for stream in [TRAIL_EVENTS, TRAIL_DIGESTS] {
        assert_eq!(
            run.statuses(stream),
            ["STARTED", "RUNNING", "INCOMPLETE"],
            "{stream}"
        );
        let errors = errors_of(&run, stream);
        assert_eq!(
            errors.len(),
            1,
            "{stream}: one error, the folder's: {errors:?}"
        );
        assert_eq!(errors[0]["failure_type"], "config_error");
        let message = errors[0]["message"].as_str().unwrap();
        eprintln!("{stream}: {message}");
        for named in [DENIED_FOLDER, "s3:ListBucket", "ListObjectsV2"] {
            assert!(message.contains(named), "{stream} names {named}: {message}");
        }
        // The readable account's folders are checkpointed, the denied one's are not.
        let folders = state_folders(&run, stream);
        assert!(
            folders.iter().any(|f| f.contains(READABLE)),
            "{stream}: {folders:?}"
        );
        assert!(
            folders.iter().all(|f| !f.contains(DENIED)),
            "{stream}: {folders:?}"
        );
    }
    let ids = event_ids(&run);
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &ids_of(&corpus, READABLE));
    // What was read is said, as for a sync without failures.
    let summary = format!("{TRAIL_EVENTS}: {} records from", ids.len());
    assert!(
        run.logs().iter().any(|l| l.starts_with(&summary)),
        "{:?}",
        run.logs()
    );
    let digests: Vec<&Value> = run
        .records()
        .into_iter()
        .filter(|r| r.get("digestS3Object").is_some())
        .collect();
    assert!(!digests.is_empty());
    assert!(digests
        .iter()
        .all(|d| d["digestS3Object"].as_str().unwrap().contains(READABLE)));

    // Once the permission is granted, the next sync reads the denied account and nothing twice.
    s3.allow_all();
    let next = env.read_streams(
        &config,
        &[TRAIL_EVENTS, TRAIL_DIGESTS],
        "incremental",
        Some(&last_states(&run)),
    );
    next.assert_protocol();
    assert_eq!(next.code, Some(0), "{:?}", next.errors());
    let mut all = ids;
    all.extend(event_ids(&next));
    assert_unique(&all);
    assert_same_ids(&id_set(&event_ids(&next)), &ids_of(&corpus, DENIED));
}

#[test]
fn item_8_a_denied_root_still_fails_the_whole_stream_as_a_config_error() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    seed(&s3);
    s3.deny(S3Action::ListBucket, "AWSLogs/");
    let config = s3.config(&env, json!({}));

    let check = env.check(&config, &[]);
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED", "{message}");
    assert!(message.contains("s3:ListBucket"), "{message}");

    let run = env.read_streams(&config, &[TRAIL_EVENTS], "incremental", None);
    run.assert_protocol();
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.statuses(TRAIL_EVENTS),
        ["STARTED", "RUNNING", "INCOMPLETE"]
    );
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(run.states().is_empty(), "{}", run.stdout);
    assert!(event_ids(&run).is_empty());
}

#[test]
fn item_8_every_account_folder_denied_is_a_config_error_without_a_state() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    seed(&s3);
    s3.deny(S3Action::ListBucket, "AWSLogs/1");
    s3.deny(S3Action::ListBucket, "AWSLogs/2");
    let config = s3.config(&env, json!({}));

    let (status, message) = env.check(&config, &[]).connection_status();
    assert_eq!(status, "FAILED", "{message}");
    for named in ["AWSLogs/111111111111/", DENIED_FOLDER, "s3:ListBucket"] {
        assert!(message.contains(named), "check names {named}: {message}");
    }
    let run = env.read_streams(&config, &[TRAIL_EVENTS], "incremental", None);
    run.assert_protocol();
    assert_eq!(run.code, Some(1));
    let errors = run.errors();
    assert_eq!(errors.len(), 2, "one per account folder: {errors:?}");
    assert!(errors.iter().all(|e| e["failure_type"] == "config_error"));
    assert!(run.states().is_empty(), "{}", run.stdout);
}
