//! `trail_events` over an organization of hundreds of account-region folders, through the real
//! binary against the emulator's S3 server (which counts LISTs): every event once across syncs,
//! about one LIST per folder, a state of a few tens of bytes per idle folder, and a state of the
//! previous form (written by the release before the compact one) continued without loss.

use cloudtrail_emulator::records::Rng;
use cloudtrail_emulator::trail_logs::{log_file, CorpusSpec};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const ORG: &str = "o-a1b2c3d4e5";

fn read(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    let run = env.read_streams(config, &[TRAIL_EVENTS], "incremental", state);
    run.assert_protocol();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    run
}

/// The stream state of a run's last STATE.
fn stream_state(run: &Run) -> Value {
    run.last_state()[0]["stream"]["stream_state"].clone()
}

fn org_spec(accounts: usize, regions: &[&str], files: usize) -> CorpusSpec {
    let accounts: Vec<String> = (1..=accounts)
        .map(|i| format!("{}", 100_000_000_000u64 + i as u64))
        .collect();
    let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
    CorpusSpec {
        organization_id: Some(ORG.into()),
        ..spec(&accounts, regions, files, 3)
    }
}

const REGIONS: [&str; 15] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];

#[test]
fn hundreds_of_folders_cost_one_list_each_and_a_short_state_and_every_event_is_read_once() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    let accounts = 20;
    let corpus = s3.seed(&org_spec(accounts, &REGIONS, 3));
    let folders = accounts * REGIONS.len();
    let config = s3.config(&env, json!({}));
    // The root, the organization, and each account's two event-folder kinds.
    let discovery = 2 + 2 * accounts as u64;

    let lists = s3.lists();
    let first = read(&env, &config, None);
    let first_lists = s3.lists() - lists;
    let ids = event_ids(&first);
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &id_set(&corpus_ids(&corpus)));
    assert_eq!(
        first_lists,
        discovery + folders as u64,
        "one LIST per folder"
    );
    let state = stream_state(&first);
    let cursors = folder_cursors(&state);
    assert_eq!(cursors.len(), folders);
    // Files delivered long ago: every folder is idle, its cursor its last key's tail alone.
    for (path, c) in &cursors {
        assert!(c.written.is_string(), "{path}: {}", c.written);
        let last = corpus
            .files
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(path.as_str()))
            .max()
            .unwrap();
        assert_eq!(c.after.as_deref(), Some(last), "{path}");
    }
    let bytes = state.to_string().len();
    // `"CloudTrail/<region>/":"<stamp>_<random>"` and the account's path once: 17,000 such
    // folders stay near 1 MB.
    assert!(
        bytes < 70 * folders,
        "{bytes} bytes of state for {folders} folders"
    );

    let lists = s3.lists();
    let idle = read(&env, &config, Some(&first.last_state()));
    assert!(event_ids(&idle).is_empty(), "{}", idle.stdout);
    assert_eq!(s3.lists() - lists, discovery + folders as u64);
    // Nothing new: the same cursors (only the listing time moves on).
    assert!(stream_state(&idle)["folders"] == state["folders"]);

    // New files in a few folders, one of them late by the corpus' clock and recent by the
    // connector's: stamped now, after the folder's last key.
    let mut rng = Rng::new(21);
    let mut added = Vec::new();
    for (account, region) in [
        ("100000000001", "us-east-1"),
        ("100000000007", "eu-north-1"),
    ] {
        let file = log_file(&mut rng, "", Some(ORG), account, region, now(), 4, 0.0);
        s3.put(&file.key, &file.body);
        added.extend(file.event_ids);
    }
    let third = read(&env, &config, Some(&idle.last_state()));
    assert_same_ids(&id_set(&event_ids(&third)), &id_set(&added));
    let fourth = read(&env, &config, Some(&third.last_state()));
    assert!(event_ids(&fourth).is_empty(), "{}", fourth.stdout);
}

/// The state the previous release wrote for `org_spec(2, &REGIONS[..3], 4)` (every path and key
/// whole, `done` holding the keys within the lookback of `after`), read by that binary from
/// that corpus.
const PREVIOUS_STATE: &str = include_str!("fixtures/trail_events_state_v1.json");

#[test]
fn a_state_of_the_previous_form_is_continued_without_loss_or_repeat() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    s3.seed(&org_spec(2, &REGIONS[..3], 4));
    let previous: Value = serde_json::from_str(PREVIOUS_STATE).unwrap();
    assert!(previous.get("version").is_none());
    assert_eq!(previous["folders"].as_object().unwrap().len(), 6);
    // A file delivered late, inside the previous form's lookback (4 minutes before the
    // folder's last one), and a new one.
    let mut rng = Rng::new(5);
    let (account, region) = ("100000000002", REGIONS[0]);
    let newest = CorpusSpec::default().start + 3 * 300;
    let late = log_file(
        &mut rng,
        "",
        Some(ORG),
        account,
        region,
        newest - 4 * 60,
        3,
        0.0,
    );
    let new = log_file(
        &mut rng,
        "",
        Some(ORG),
        account,
        region,
        newest + 3600,
        3,
        0.0,
    );
    s3.put(&late.key, &late.body);
    s3.put(&new.key, &new.body);
    let config = s3.config(&env, json!({}));
    let run = read(&env, &config, Some(&state_file(TRAIL_EVENTS, &previous)));
    let mut want = id_set(&late.event_ids);
    want.extend(new.event_ids.iter().cloned());
    assert_same_ids(&id_set(&event_ids(&run)), &want);
    let state = stream_state(&run);
    assert_eq!(state["version"], 3);
    assert_eq!(folder_cursors(&state).len(), 6);
    let again = read(&env, &config, Some(&run.last_state()));
    assert!(event_ids(&again).is_empty(), "{}", again.stdout);
}
