//! Log and digest files that land in S3 late, through the real binary against the emulator's S3
//! server (whose clock a test moves, and whose objects land when a test says): minutes, hours,
//! days and beyond the horizon late, with the sweep due every sync or not yet due, an upload in
//! flight at the watermark, kill -9 during a sweep, a replaced object, a late digest.

use std::collections::HashSet;
use std::time::Duration;

use cloudtrail_emulator::records::Rng;
use cloudtrail_emulator::trail_logs::{log_file, object_path, CorpusSpec, LogFile};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn read(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    let run = env.read_streams(config, &[TRAIL_EVENTS], "incremental", state);
    run.assert_protocol();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    run
}

/// A bucket of on-time deliveries of the last half hour, read by a first sync; returns the
/// server, the first sync's state and the landing-time watermark it reached (S3's clock).
fn first_sync(env: &Env, config: &Value) -> (S3Server, std::path::PathBuf, Value, i64) {
    let s3 = S3Server::start_emulated();
    let corpus = s3.seed(&CorpusSpec {
        start: now() - 6 * 300,
        ..spec(&[ACCOUNT], &[REGION], 6, 10)
    });
    let config = s3.config(env, config.clone());
    let first = read(env, &config, None);
    assert_same_ids(&id_set(&event_ids(&first)), &id_set(&corpus_ids(&corpus)));
    let state = first.last_state();
    let swept = watermark(&state);
    (s3, config, state, swept)
}

/// The sweep watermark of a `trail_*` state whose folders share it.
fn watermark(state: &Value) -> i64 {
    let s = &state[0]["stream"]["stream_state"];
    assert_eq!(s["version"], 3, "{s}");
    s["swept"]
        .as_i64()
        .unwrap_or_else(|| panic!("no sweep watermark: {s}"))
}

/// A log file of `REGION` named at `named`.
fn file_named(rng: &mut Rng, named: i64) -> LogFile {
    log_file(rng, "", None, ACCOUNT, REGION, named, 12, 0.0)
}

fn logs_naming(run: &Run, key: &str) -> Vec<String> {
    run.logs().into_iter().filter(|l| l.contains(key)).collect()
}

#[test]
fn files_landing_minutes_hours_and_days_late_are_read_once_and_beyond_the_horizon_not() {
    let env = Env::new(Default::default());
    let (s3, config, state, swept) =
        first_sync(&env, &json!({"trail_logs": {"late_file_sweep_minutes": 0}}));
    // Each lands just after the first sync's watermark, this late after the time in its name.
    let landed = swept + 60;
    let mut rng = Rng::new(5);
    let files: Vec<(i64, LogFile)> = [20 * 60, 2 * HOUR, 3 * DAY, 10 * DAY]
        .into_iter()
        .map(|late| (late, file_named(&mut rng, landed - late)))
        .collect();
    for (_, f) in &files {
        s3.put_landed(&f.key, &f.body, landed);
    }
    s3.set_clock(HOUR);
    let second = read(&env, &config, Some(&state));
    let mut expected: HashSet<String> = HashSet::new();
    for (_, f) in &files[..3] {
        expected.extend(f.event_ids.iter().cloned());
    }
    let got = event_ids(&second);
    assert_unique(&got);
    assert_same_ids(&id_set(&got), &expected);
    // The sweep says which files it read, and how late they were; the 20-minute file is an
    // on-time read (within the lookback) and is not named.
    assert!(logs_naming(&second, &files[0].1.key).is_empty());
    for (late, f) in &files[1..3] {
        let said = logs_naming(&second, &f.key);
        assert_eq!(said.len(), 1, "{:?}", second.logs());
        let words = if *late < 2 * DAY { "2 hours" } else { "3 days" };
        assert!(
            said[0].contains(words) && said[0].contains("late-file sweep"),
            "{said:?}"
        );
    }
    assert!(second
        .logs()
        .iter()
        .any(|l| l.contains("late-file sweep of 1 folders")));
    let read_late = "MB of JSON; 2 late files read by the late-file sweep";
    assert!(
        second.logs().iter().any(|l| l.contains(read_late)),
        "{:?}",
        second.logs()
    );
    s3.set_clock(2 * HOUR);
    let third = read(&env, &config, Some(&second.last_state()));
    assert_eq!(
        event_ids(&third),
        Vec::<String>::new(),
        "nothing is read twice"
    );
    assert!(watermark(&third.last_state()) > watermark(&second.last_state()));
}

#[test]
fn a_late_file_waits_for_the_sweep_that_is_due_and_is_read_by_it_once() {
    let env = Env::new(Default::default());
    // The default interval: a sweep a day.
    let (s3, config, state, swept) = first_sync(&env, &json!({}));
    let mut rng = Rng::new(6);
    let late = file_named(&mut rng, swept + 60 - 2 * HOUR);
    s3.put_landed(&late.key, &late.body, swept + 60);
    // Named after where the next listing of its folder starts, so that listing meets it, and
    // landed 40 minutes after its name: late, the sweep's.
    let met = file_named(&mut rng, swept - 5 * 60);
    s3.put_landed(&met.key, &met.body, swept + 35 * 60);
    s3.set_clock(HOUR);
    let second = read(&env, &config, Some(&state));
    assert_eq!(
        event_ids(&second),
        Vec::<String>::new(),
        "no sweep is due yet"
    );
    let left =
        "0 late files read by the late-file sweep, 1 more landed late and are left to the next one";
    assert!(
        second.logs().iter().any(|l| l.contains(left)),
        "the sync says what it left to the sweep: {:?}",
        second.logs()
    );
    s3.set_clock(25 * HOUR);
    let third = read(&env, &config, Some(&second.last_state()));
    let mut both = id_set(&late.event_ids);
    both.extend(met.event_ids.iter().cloned());
    assert_same_ids(&id_set(&event_ids(&third)), &both);
    s3.set_clock(50 * HOUR);
    let fourth = read(&env, &config, Some(&third.last_state()));
    assert_eq!(event_ids(&fourth), Vec::<String>::new());
}

#[test]
fn an_upload_in_flight_at_the_watermark_is_read_by_the_next_sweep() {
    let env = Env::new(Default::default());
    let (s3, config, state, _) =
        first_sync(&env, &json!({"trail_logs": {"late_file_sweep_minutes": 0}}));
    s3.set_clock(HOUR);
    let s3_now = now() + HOUR;
    let mut rng = Rng::new(7);
    // Landed before the watermark (S3's clock minus the margin for uploads in flight), and
    // just before S3's clock: within the margin, its upload may not be listed yet.
    let before = file_named(&mut rng, s3_now - 10 * 60 - 2 * HOUR);
    let in_flight = file_named(&mut rng, s3_now - 30 - 2 * HOUR);
    s3.put_landed(&before.key, &before.body, s3_now - 10 * 60);
    s3.put_landed(&in_flight.key, &in_flight.body, s3_now - 30);
    let second = read(&env, &config, Some(&state));
    assert_same_ids(&id_set(&event_ids(&second)), &id_set(&before.event_ids));
    s3.set_clock(2 * HOUR);
    let third = read(&env, &config, Some(&second.last_state()));
    assert_same_ids(&id_set(&event_ids(&third)), &id_set(&in_flight.event_ids));
}

#[test]
fn a_sweep_killed_at_any_moment_resumes_without_loss() {
    let env = Env::new(Default::default());
    let (s3, config, state, swept) =
        first_sync(&env, &json!({"trail_logs": {"late_file_sweep_minutes": 0}}));
    let mut rng = Rng::new(8);
    let mut expected = HashSet::new();
    for n in 0..480 {
        let f = log_file(
            &mut rng,
            "",
            None,
            ACCOUNT,
            REGION,
            swept - 2 * DAY + n * 150,
            150,
            0.0,
        );
        s3.put_landed(&f.key, &f.body, swept + 60);
        expected.extend(f.event_ids);
    }
    s3.set_clock(HOUR);
    let (mut seen, mut state, mut kills) = (Vec::new(), Some(state), 0);
    for run in 0.. {
        assert!(run < 200, "the syncs never completed");
        let delay = Duration::from_millis(5 + rng.below(60));
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
        // A resumed sweep keeps its window: S3's clock moving on changes nothing it reads.
        s3.set_clock(HOUR + 60 * run as i64);
    }
    assert!(
        kills >= 2,
        "only {kills} kills: the sweep is read too fast to interrupt"
    );
    assert_same_ids(&id_set(&seen), &expected);
    // Only what a kill cut between two states comes again.
    assert!(
        seen.len() < expected.len() + kills * 2000,
        "{} records for {} events after {kills} kills",
        seen.len(),
        expected.len()
    );
    s3.set_clock(5 * HOUR);
    let after = read(&env, &config, state.as_ref());
    assert_eq!(event_ids(&after), Vec::<String>::new());
}

#[test]
fn a_replaced_object_is_read_again_and_the_log_says_so() {
    let env = Env::new(Default::default());
    let (s3, config, state, swept) = first_sync(
        &env,
        &json!({"trail_logs": {"late_file_sweep_minutes": 0, "late_file_lookback_minutes": 5}}),
    );
    // The oldest file of the folder, replaced now with other content (a re-upload).
    let old_key = first_key(&s3);
    let mut rng = Rng::new(9);
    let new = file_named(&mut rng, now());
    s3.put_landed(&old_key, &new.body, swept + 60);
    s3.set_clock(HOUR);
    let second = read(&env, &config, Some(&state));
    assert_same_ids(&id_set(&event_ids(&second)), &id_set(&new.event_ids));
    let said = logs_naming(&second, &old_key);
    assert!(
        said.len() == 1 && said[0].contains("replaced after delivery"),
        "{:?}",
        second.logs()
    );
}

/// The first event file's key of the bucket.
fn first_key(s3: &S3Server) -> String {
    let mut keys = Vec::new();
    for entry in walk(&s3.root.path().join(BUCKET)) {
        if entry.ends_with(".json.gz") && entry.contains("/CloudTrail/") {
            keys.push(entry);
        }
    }
    keys.sort();
    keys.into_iter().next().expect("a log file")
}

/// Every file under `dir`, as keys relative to it.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn a_digest_that_lands_late_is_read_by_the_sweep() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start_emulated();
    let corpus = s3.seed(&CorpusSpec {
        start: now() - 4 * HOUR,
        delivery_interval_secs: 720,
        digests: true,
        ..spec(&[ACCOUNT], &[REGION], 20, 8)
    });
    // The last digest is withheld until after the first sync, then lands 3 days late.
    let late_key = corpus.digests.last().unwrap().clone();
    let body_path = object_path(s3.root.path(), BUCKET, &late_key);
    let meta_path = cloudtrail_emulator::s3::metadata_path(s3.root.path(), BUCKET, &late_key);
    let (body, meta) = (
        std::fs::read(&body_path).unwrap(),
        std::fs::read(&meta_path).unwrap(),
    );
    std::fs::remove_file(&body_path).unwrap();
    std::fs::remove_file(&meta_path).unwrap();
    let config = s3.config(&env, json!({"trail_logs": {"late_file_sweep_minutes": 0}}));
    let digests = |state: Option<&Value>| {
        let run = env.read_streams(&config, &["trail_digests"], "incremental", state);
        run.assert_protocol();
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        run
    };
    let first = digests(None);
    let keys = |run: &Run| -> Vec<String> {
        run.records()
            .iter()
            .map(|r| r["digestS3Object"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys(&first).len(), corpus.digests.len() - 1);
    let swept = watermark(&first.last_state());
    let named = cloudtrail_emulator::trail_logs::named_time(&late_key).unwrap();
    s3.put_landed(&late_key, &body, named + 3 * DAY);
    std::fs::write(&meta_path, meta).unwrap();
    assert!(
        named + 3 * DAY > swept,
        "the digest lands after the first watermark"
    );
    s3.set_clock(named + 3 * DAY + HOUR - now());
    let second = digests(Some(&first.last_state()));
    assert_eq!(keys(&second), vec![late_key.clone()]);
    assert_eq!(
        logs_naming(&second, &late_key).len(),
        1,
        "{:?}",
        second.logs()
    );
    s3.set_clock(named + 3 * DAY + 2 * HOUR - now());
    let third = digests(Some(&second.last_state()));
    assert_eq!(keys(&third), Vec::<String>::new());
}
