//! `trail_digests` through the real binary: digests signed by the emulator's keys (served by its
//! `ListPublicKeys`) in s3s-fs, each planted fault reported on exactly its digest and nothing
//! on untouched ones, the chain checked across syncs from the state, kill -9 resume, `check`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use cloudtrail_emulator::digests::DigestFaults;
use cloudtrail_emulator::records::Rng;
use cloudtrail_emulator::trail_logs::{object_path, CorpusSpec, CorpusSummary};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const TRAIL_DIGESTS: &str = "trail_digests";

/// Five digests per folder: four hours of deliveries, then an empty hour. A plain (not
/// organization) layout: s3s-fs keeps user metadata in a file named after the base64 of the
/// key, and an organization digest's key makes that name longer than a file name may be.
fn digest_spec(accounts: &[&str], regions: &[&str], faults: DigestFaults) -> CorpusSpec {
    CorpusSpec {
        delivery_interval_secs: 720,
        digests: true,
        digest_faults: faults,
        digests_and_insights: true,
        ..spec(accounts, regions, 20, 8)
    }
}

fn read(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    let run = env.read_streams(config, &[TRAIL_DIGESTS], "incremental", state);
    run.assert_protocol();
    run
}

/// The records of a run by digest key.
fn by_key(run: &Run) -> BTreeMap<String, Value> {
    run.records()
        .into_iter()
        .map(|r| (r["digestS3Object"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn problems(r: &Value) -> Vec<String> {
    r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// A digest with nothing wrong: signed, chained (or starting), every file valid.
fn assert_clean(key: &str, r: &Value) {
    assert_eq!(r["signatureValid"], true, "{key}: {r}");
    assert!(problems(r).is_empty(), "{key}: {:?}", problems(r));
    assert_ne!(r["chainValid"], false, "{key}");
    for f in r["logFiles"].as_array().unwrap() {
        assert_eq!(f["status"], "valid", "{key}: {f}");
        assert_eq!(f["actualHashValue"], f["hashValue"]);
    }
}

#[test]
fn every_planted_fault_is_reported_on_its_digest_and_nothing_else() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&digest_spec(
        &["111122223333", "444455556666"],
        &["us-east-1", "eu-west-1"],
        DigestFaults {
            modified_log: true,
            deleted_log: true,
            bad_signature: true,
            broken_chain: true,
            backfill: true,
            expired_key: true,
        },
    ));
    let config = s3.config(&env, json!({}));
    let run = read(&env, &config, None);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        run.statuses(TRAIL_DIGESTS),
        ["STARTED", "RUNNING", "COMPLETE"]
    );
    let records = by_key(&run);
    let mut expected: Vec<&String> = corpus.digests.iter().collect();
    expected.sort();
    assert_eq!(records.keys().collect::<Vec<_>>(), expected);
    assert_eq!(run.records().len(), records.len(), "a digest came twice");

    let fault = |name: &str| {
        corpus
            .planted
            .iter()
            .find(|p| p.fault == name)
            .unwrap_or_else(|| panic!("{name} planted"))
    };
    let first_folder: Vec<&String> = corpus
        .digests
        .iter()
        .filter(|k| {
            k.contains("/111122223333/CloudTrail-Digest/us-east-1/") && !k.contains("backfill")
        })
        .collect();
    assert_eq!(first_folder.len(), 5, "{first_folder:?}");

    // Digest 0: one file modified, one deleted, nothing else.
    let modified = fault("modified");
    let missing = fault("missing");
    assert_eq!(&modified.digest_key, first_folder[0]);
    let r = &records[first_folder[0]];
    assert_eq!(r["signatureValid"], true);
    assert_eq!(
        r["chainValid"],
        Value::Null,
        "the first digest starts the chain"
    );
    let status = |r: &Value, key: &str| {
        r["logFiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["s3Object"] == key)
            .map(|f| f["status"].clone())
    };
    let modified_key = modified.log_key.as_deref().unwrap();
    let missing_key = missing.log_key.as_deref().unwrap();
    assert_eq!(status(r, modified_key), Some(json!("modified")));
    assert_eq!(status(r, missing_key), Some(json!("missing")));
    let p = problems(r);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter()
            .any(|p| p.contains(modified_key) && p.contains("modified after delivery")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.contains(missing_key) && p.contains("missing")),
        "{p:?}"
    );
    let modified_file = r["logFiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["s3Object"] == modified_key)
        .unwrap();
    assert_ne!(modified_file["actualHashValue"], modified_file["hashValue"]);
    assert_eq!(
        r["logFiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "valid")
            .count(),
        r["logFiles"].as_array().unwrap().len() - 2
    );

    // Digest 1: its signature was altered, so digest 2 no longer chains to what S3 holds; what
    // it lists is not read (only a signed digest steers downloads).
    assert_eq!(&fault("bad_signature").digest_key, first_folder[1]);
    let r = &records[first_folder[1]];
    assert_eq!(r["signatureValid"], false);
    assert_eq!(r["chainValid"], true);
    let p = problems(r);
    assert!(
        p.len() == 2
            && p[0].contains("signature does not verify")
            && p[1].contains("log files it lists are not read"),
        "{p:?}"
    );
    let unread = r["logFiles"].as_array().unwrap();
    assert!(!unread.is_empty());
    assert!(unread
        .iter()
        .all(|f| f["status"] == "unreadable" && f["actualHashValue"].is_null()));
    let r = &records[first_folder[2]];
    assert_eq!(r["signatureValid"], true);
    assert_eq!(r["chainValid"], false);
    let p = problems(r);
    assert!(
        p.len() == 1 && p[0].contains("previousDigestSignature"),
        "{p:?}"
    );

    // Digest 3: signed, but chained to a signature that is not digest 2's.
    assert_eq!(&fault("broken_chain").digest_key, first_folder[3]);
    let r = &records[first_folder[3]];
    assert_eq!(r["signatureValid"], true);
    assert_eq!(r["chainValid"], false);
    assert!(
        problems(r)[0].contains("the chain is broken"),
        "{:?}",
        problems(r)
    );

    // Digest 4 (an hour without files): signed with a key that had expired, which
    // ListPublicKeys no longer gives for that time.
    assert_eq!(&fault("expired_key").digest_key, first_folder[4]);
    let r = &records[first_folder[4]];
    assert_eq!(r["logFiles"], json!([]));
    assert_eq!(r["newestEventTime"], Value::Null);
    assert_eq!(r["signatureValid"], false);
    assert_eq!(r["chainValid"], true);
    let p = problems(r);
    assert!(
        p.len() == 1 && p[0].contains("not signed by CloudTrail"),
        "{p:?}"
    );

    // The backfill digest: its own chain, listing the file the hourly one left out.
    let backfill = fault("backfill");
    let r = &records[&backfill.digest_key];
    assert_eq!(r["backfill"], true);
    assert_eq!(r["chainValid"], Value::Null);
    assert_clean(&backfill.digest_key, r);
    let extra = backfill.log_key.as_deref().unwrap();
    assert_eq!(status(r, extra), Some(json!("valid")));
    assert_eq!(status(&records[first_folder[0]], extra), None);

    // Every other folder is untouched: nothing reported.
    let touched: HashSet<&String> = first_folder
        .iter()
        .copied()
        .chain([&backfill.digest_key])
        .collect();
    let others: Vec<(&String, &Value)> = records
        .iter()
        .filter(|(k, _)| !touched.contains(k))
        .collect();
    assert_eq!(others.len(), 15);
    for (key, r) in &others {
        assert_clean(key, r);
        assert_eq!(r["logFileOrganizationId"], Value::Null);
        assert!(key.contains(&format!(
            "/{}/CloudTrail-Digest/{}/",
            r["logFileAccountId"].as_str().unwrap(),
            r["logFileRegion"].as_str().unwrap()
        )));
    }
    assert!(
        others
            .iter()
            .filter(|(_, r)| r["chainValid"] == true)
            .count()
            == 12
    );
    assert_eq!(
        others
            .iter()
            .map(|(_, r)| r["logFiles"].as_array().unwrap().len())
            .sum::<usize>(),
        60,
        "each untouched folder's 20 files are listed once"
    );

    // Nothing new: a second sync reads no digest again.
    let again = read(&env, &config, Some(&run.last_state()));
    assert_eq!(again.code, Some(0), "{}", again.stdout);
    assert!(again.records().is_empty(), "{}", again.stdout);
}

/// Moves objects out of the bucket (their metadata stays) and back.
struct Hidden {
    moved: Vec<(std::path::PathBuf, std::path::PathBuf)>,
}

impl Hidden {
    fn hide(s3: &S3Server, keys: &[&String], aside: &std::path::Path) -> Hidden {
        let moved = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let from = object_path(s3.root.path(), BUCKET, k);
                let to = aside.join(i.to_string());
                std::fs::rename(&from, &to).unwrap();
                (from, to)
            })
            .collect();
        Hidden { moved }
    }

    fn restore(self) {
        for (from, to) in self.moved {
            std::fs::rename(to, from).unwrap();
        }
    }
}

#[test]
fn the_chain_is_checked_across_syncs_from_the_state_and_late_digests_are_read() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // Four hours of digests up to an hour ago, read with a lookback of ten: the late digest
    // appears within the lookback of its time.
    let corpus: CorpusSummary = s3.seed(&CorpusSpec {
        start: now() - 5 * 3600,
        ..digest_spec(
            &["111122223333"],
            &["us-east-1", "eu-west-1"],
            DigestFaults::default(),
        )
    });
    let config = s3.config(
        &env,
        json!({"trail_logs": {"late_file_lookback_minutes": 600}}),
    );
    let folder = |region: &str| -> Vec<&String> {
        corpus
            .digests
            .iter()
            .filter(|k| k.contains(&format!("/CloudTrail-Digest/{region}/")))
            .collect()
    };
    let (east, west) = (folder("us-east-1"), folder("eu-west-1"));
    // The last two hours are not delivered yet, and one west digest comes late.
    let aside = tempfile::tempdir().unwrap();
    let later: Vec<&String> = east[3..]
        .iter()
        .chain(&west[3..])
        .chain([&west[1]])
        .copied()
        .collect();
    let hidden = Hidden::hide(&s3, &later, aside.path());
    let first = read(&env, &config, None);
    assert_eq!(first.code, Some(0), "{}", first.stdout);
    let records = by_key(&first);
    assert_eq!(records.len(), 5);
    // What the first sync could see of west[2]'s predecessor: nothing yet.
    assert_eq!(records[west[2]]["chainValid"], false);
    hidden.restore();
    // The digest the next one chains to is gone: only the state can prove the link now.
    std::fs::remove_file(object_path(s3.root.path(), BUCKET, east[2])).unwrap();
    let second = read(&env, &config, Some(&first.last_state()));
    assert_eq!(second.code, Some(0), "{}", second.stdout);
    let records = by_key(&second);
    let mut expected = later.clone();
    expected.sort();
    assert_eq!(
        records.keys().collect::<Vec<_>>(),
        expected,
        "the late digest (an hour before the last one read) is read, nothing twice"
    );
    for (key, r) in &records {
        assert_clean(key, r);
        assert_eq!(r["chainValid"], true, "{key}");
    }
    // Without the state the same digest is checked against S3, where its predecessor is gone.
    let fresh = read(&env, &config, None);
    let r = &by_key(&fresh)[east[3]];
    assert_eq!(r["chainValid"], false);
    assert!(problems(r)[0].contains("is missing"), "{:?}", problems(r));
}

#[test]
fn kill_9_then_resume_checks_every_digest() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // Long enough that a resumed sync is still running at its first state (states come after
    // 16 times their size of records), so more than one sync is cut short.
    let corpus = s3.seed(&CorpusSpec {
        events_per_file: 40,
        files_per_prefix: 80,
        ..digest_spec(
            &["111122223333", "444455556666", "777788889999"],
            &["us-east-1", "eu-west-1", "ap-south-1"],
            DigestFaults::default(),
        )
    });
    let config = s3.config(&env, json!({}));
    let (mut seen, mut state, mut kills) = (vec![], None, 0);
    let mut rng = Rng::new(7);
    for run in 0.. {
        assert!(run < 400, "the syncs never completed");
        // The kill waits for the run's first state too (about 250 ms in).
        let delay = Duration::from_millis(rng.below(400));
        let (keys, last, completed) = read_and_kill(
            &env,
            &config,
            &[TRAIL_DIGESTS],
            "digestS3Object",
            state.as_ref(),
            delay,
        );
        seen.extend(keys);
        if last.is_some() {
            state = last;
        }
        if completed {
            break;
        }
        kills += 1;
    }
    assert!(kills >= 2, "only {kills} kills: nothing was interrupted");
    let got: HashSet<String> = seen.iter().cloned().collect();
    let expected: HashSet<String> = corpus.digests.iter().cloned().collect();
    assert_eq!(got, expected);
    eprintln!(
        "trail_digests kill -9 x{kills}: {} records for {} digests",
        seen.len(),
        expected.len()
    );
}

#[test]
fn check_says_whether_digests_exist_and_keys_can_be_listed() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    s3.seed(&digest_spec(
        &["111122223333"],
        &["us-east-1"],
        DigestFaults::default(),
    ));
    let run = env.check(&s3.config(&env, json!({})), &[]);
    let (status, message) = run.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(
        message.contains("trail_digests: digests found under"),
        "{message}"
    );
    assert!(message.contains("ListPublicKeys is allowed"), "{message}");

    // Keys that may not list the public keys: check says so; a read cannot prove any signature
    // and fails as a config error, writing no verdict it could not reach.
    env.emulator
        .add_credentials("AKIANOPUBLICKEYS", "secret-npk", None, &["ListPublicKeys"]);
    let denied = s3.config(
        &env,
        json!({"aws_key_id": "AKIANOPUBLICKEYS", "aws_secret_key": "secret-npk"}),
    );
    let (status, message) = env.check(&denied, &[]).connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(message.contains("ListPublicKeys is DENIED"), "{message}");
    let run = read(&env, &denied, None);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.records().is_empty(), "{}", run.stdout);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "said once: {errors:?}");
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("cloudtrail:ListPublicKeys"),
        "{}",
        errors[0]
    );

    let plain = S3Server::start();
    plain.seed(&CorpusSpec {
        digests_and_insights: false,
        ..spec(&["111122223333"], &["us-east-1"], 2, 2)
    });
    let run = env.check(&plain.config(&env, json!({})), &[]);
    let (status, message) = run.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(message.contains("log file validation is off"), "{message}");
}
