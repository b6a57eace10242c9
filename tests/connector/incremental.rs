//! Incremental correctness: nothing lost, nothing duplicated between syncs, late events within
//! the delay picked up, resumption after kill -9, and the previous connector's states continued.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

#[test]
fn consecutive_syncs_emit_every_event_exactly_once() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 2000, 6 * 3600, 0);
    let config = env.config(json!({"regions": ["us-east-1", "eu-west-1"]}));
    let first = env.read(&config, "incremental", Some(&json!([])));
    assert_eq!(first.code, Some(0));
    first.assert_protocol();
    let cursor = |region: &str| {
        first.states().last().unwrap()["state"]["stream"]["stream_state"]["regions"][region]
            ["read_through"]
            .as_i64()
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(1100));
    // New events after the first sync, all after its cursors (with max_event_delay 0 an older
    // one would be "late" beyond the delay): many share the second right after the cursor.
    let t = now() - 1;
    let after = |region: &str, i: i64| json!({"time": cursor(region) + 1 + i % (t - cursor(region)).max(1)});
    env.add(
        "us-east-1",
        (0..120)
            .map(|_| json!({"time": cursor("us-east-1") + 1}))
            .collect(),
    );
    env.add(
        "us-east-1",
        (0..30).map(|i| after("us-east-1", i)).collect(),
    );
    env.add(
        "eu-west-1",
        (0..30).map(|i| after("eu-west-1", i)).collect(),
    );
    let second = env.read(&config, "incremental", Some(&first.last_state()));
    assert_eq!(second.code, Some(0));
    second.assert_protocol();
    let third = env.read(&config, "incremental", Some(&second.last_state()));
    let mut all = first.ids();
    all.extend(second.ids());
    all.extend(third.ids());
    assert_unique(&all);
    assert_same_ids(&id_set(&all), &env.visible_ids(now()));
    assert_eq!(second.ids().len(), 180);
}

#[test]
fn events_that_become_visible_late_within_the_delay_are_read() {
    // A naive connector with its cursor at "now" reads A, moves past B's time, and loses B when it
    // appears; reading up to max_event_delay before now does not.
    let env = Env::new(Default::default());
    let config = env.config(json!({"max_event_delay_minutes": 1, "start_date": null}));
    let t0 = now();
    let exactly_delay_old = env.add("us-east-1", vec![json!({"time": t0 - 60})]);
    let first = env.read(&config, "incremental", None);
    assert_eq!(first.code, Some(0));
    assert!(
        first.ids().contains(&exactly_delay_old[0].event_id),
        "an event exactly max_event_delay old is read"
    );
    let a = env.add("us-east-1", vec![json!({"time": t0 - 30})]);
    let b = env.add(
        "us-east-1",
        vec![json!({"time": t0 - 40, "visible_at": (t0 + 15) as f64})],
    );
    let mid = env.read(&config, "incremental", Some(&first.last_state()));
    assert!(
        mid.ids().is_empty(),
        "nothing younger than the delay is read yet"
    );
    while now() < t0 + 32 {
        std::thread::sleep(Duration::from_millis(500));
    }
    let second = env.read(&config, "incremental", Some(&mid.last_state()));
    let ids: HashSet<String> = second.ids().into_iter().collect();
    assert!(
        ids.contains(&a[0].event_id) && ids.contains(&b[0].event_id),
        "{ids:?}"
    );
    let mut all = first.ids();
    all.extend(mid.ids());
    all.extend(second.ids());
    assert_unique(&all);
}

#[test]
fn the_previous_connectors_states_are_continued() {
    let env = Env::with_events(&["us-east-1"], 600, 3 * 3600, 0);
    let config = env.config(json!({"max_event_delay_minutes": 0}));
    let events = &env.emulator.events()["us-east-1"];
    let cut = events[300].event_time;
    let expected: HashSet<String> = events
        .iter()
        .filter(|e| e.event_time >= cut)
        .map(|e| e.event_id.clone())
        .collect();
    let forms = [
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": {"EventTime": cut as f64}}}]),
        json!({STREAM: {"EventTime": cut}}),
    ];
    for state in forms {
        let run = env.read(&config, "incremental", Some(&state));
        assert_eq!(run.code, Some(0), "{state}");
        run.assert_protocol();
        assert_same_ids(&id_set(&run.ids()), &expected);
    }
    let future = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": {"EventTime": 9999999999.0}}}]);
    let run = env.read(&config, "incremental", Some(&future));
    assert_eq!(run.code, Some(0));
    assert!(run.records().is_empty());
    assert!(!run.states().is_empty());
}

#[test]
fn full_refresh_ignores_the_state() {
    let env = Env::with_events(&["us-east-1"], 100, 3600, 0);
    let config = env.config(json!({}));
    let first = env.read(&config, "incremental", None);
    let again = env.read(&config, "full_refresh", Some(&first.last_state()));
    assert_same_ids(&id_set(&again.ids()), &id_set(&first.ids()));
}

#[test]
fn kill_9_at_any_moment_then_resume_loses_nothing() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 30_000, 48 * 3600, 0);
    // Slow enough (25 requests/s) that kills land inside windows of both regions.
    let config =
        env.config(json!({"regions": ["us-east-1", "eu-west-1"], "requests_per_second": 25}));
    let mut state: Option<Value> = None;
    let mut seen: Vec<String> = vec![];
    let mut kills = 0;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut i = 0;
    while kills < 50 {
        i += 1;
        assert!(
            i <= 100,
            "only {kills} kills in 100 runs: the syncs ended before the kills"
        );
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(30 + rng % 900);
        let (ids, last, completed) =
            read_and_kill(&env, &config, &[STREAM], "EventId", state.as_ref(), delay);
        seen.extend(ids);
        if last.is_some() {
            state = last;
        }
        kills += usize::from(!completed);
        // Activity goes on between syncs: new events, stamped after every cursor so far.
        let t = now() + 1;
        env.add(
            if i % 2 == 0 { "us-east-1" } else { "eu-west-1" },
            (0..5).map(|_| json!({"time": t})).collect(),
        );
    }
    std::thread::sleep(Duration::from_millis(1100));
    let last = env.read(&config, "incremental", state.as_ref());
    assert_eq!(last.code, Some(0));
    seen.extend(last.ids());
    let seen_set = id_set(&seen);
    let expected = env.visible_ids(now());
    let lost = expected.difference(&seen_set).count();
    assert_eq!(lost, 0, "{lost} events lost after {kills} kills");
    eprintln!(
        "kill -9 x{kills}: {} records for {} events ({} re-emitted after restarts)",
        seen.len(),
        expected.len(),
        seen.len() - seen_set.len()
    );
}

#[test]
fn a_dense_burst_after_a_quiet_stretch_is_checkpointed_often() {
    // Windows grow long over the quiet hours; the burst must not become one checkpoint-less window.
    let env = Env::new(Default::default());
    let burst_end = now() - 600;
    env.add(
        "us-east-1",
        (0..20_000)
            .map(|i| json!({"time": burst_end - i % 1800}))
            .collect(),
    );
    env.add(
        "us-east-1",
        (0..10)
            .map(|i| json!({"time": burst_end - 30_000 - i * 1000}))
            .collect(),
    );
    let yesterday = cloudtrail_emulator::records::iso8601(now() - 86_400)[..10].to_string();
    let run = env.read(
        &env.config(json!({"start_date": yesterday})),
        "incremental",
        None,
    );
    assert_eq!(run.code, Some(0));
    run.assert_protocol();
    let ids = run.ids();
    assert_unique(&ids);
    assert_eq!(ids.len(), 20_010);
    let biggest = run
        .states()
        .iter()
        .map(|s| s["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
        .fold(0.0, f64::max);
    // A split window's upper part (5,000) is checkpointed with the first window below it; states
    // also wait out the checkpoint pace (250 ms at least), in which a fast reader writes a few
    // thousand more. Never the whole burst in one.
    assert!(
        biggest <= 15_000.0,
        "a checkpoint covered {biggest} records"
    );
    assert!(run.states().len() >= 3);
}

/// The platform passes an interrupted full refresh's last state to the retry of that attempt:
/// the retry continues from it instead of writing everything again into the same generation;
/// only the windows in flight come again.
#[test]
fn an_interrupted_full_refresh_resumes_from_its_own_state() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 6_000, 48 * 3600, 0);
    let config =
        env.config(json!({"regions": ["us-east-1", "eu-west-1"], "requests_per_second": 50}));
    let (before, state) = full_refresh_until_state(&env, &config, &[STREAM], 2_000);
    let again = env.read(&config, "full_refresh", Some(&state_file(STREAM, &state)));
    assert_eq!(again.code, Some(0), "{:?}", again.errors());
    again.assert_protocol();
    let rerun = again.records();
    let covered = |r: &Value| {
        let through = &state["regions"][r["AwsRegion"].as_str().unwrap()]["read_through"];
        through
            .as_f64()
            .is_some_and(|t| r["EventTime"].as_f64().unwrap() <= t)
    };
    assert_resumed(&before, &rerun, "EventId", covered, &env.visible_ids(now()));
}
