//! Throttling, 5xx and dropped connections: retried in one paced layer, never a failed sync.

use cloudtrail_emulator::Faults;
use serde_json::json;

use crate::support::*;

#[test]
fn the_two_requests_per_second_quota_is_used_fully_without_throttles() {
    let env = Env::with_events(&["us-east-1"], 1000, 600, 0);
    env.emulator.set_faults(Faults {
        throttle_rps: Some(2.0),
        ..Faults::default()
    });
    let yesterday = cloudtrail_emulator::records::iso8601(now() - 86_400)[..10].to_string();
    let config = env.config(json!({"requests_per_second": 2, "start_date": yesterday}));
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    assert_same_ids(&id_set(&run.ids()), &env.visible_ids(now()));
    let s = &env.emulator.stats()["us-east-1"];
    let rate = (s.ok - 1) as f64 / (s.last_ok_at.unwrap() - s.first_ok_at.unwrap());
    let throttled = s.throttled as f64 / s.requests as f64;
    eprintln!(
        "paced at 2/s: {} ok, {} throttled, {rate:.3} successful requests/s",
        s.ok, s.throttled
    );
    assert!(s.ok >= 20);
    assert!(rate >= 1.9, "sustained {rate:.3} requests/s");
    assert!(throttled <= 0.10, "{:.1}% throttled", throttled * 100.0);
}

#[test]
fn a_client_over_the_quota_is_throttled_but_completes() {
    let env = Env::with_events(&["us-east-1"], 600, 600, 0);
    env.emulator.set_faults(Faults {
        throttle_rps: Some(4.0),
        ..Faults::default()
    });
    let yesterday = cloudtrail_emulator::records::iso8601(now() - 86_400)[..10].to_string();
    let config = env.config(json!({"requests_per_second": 20, "start_date": yesterday}));
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let ids = run.ids();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &env.visible_ids(now()));
    assert!(
        env.emulator.stats()["us-east-1"].throttled > 0,
        "the test did hit throttling"
    );
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 1500, 3 * 3600, 0);
    env.emulator.set_faults(Faults {
        error_5xx_rate: 0.2,
        drop_rate: 0.1,
        ..Faults::default()
    });
    let config = env.config(json!({"regions": ["us-east-1", "eu-west-1"]}));
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    let ids = run.ids();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &env.visible_ids(now()));
    let stats = env.emulator.stats();
    assert!(stats.values().map(|s| s.errors + s.dropped).sum::<u64>() > 10);
}

#[test]
fn an_unreachable_region_fails_alone_while_the_others_complete() {
    let env = Env::with_events(&["us-east-1", "eu-west-1"], 800, 3 * 3600, 0);
    env.emulator.set_faults(Faults {
        unreachable_regions: vec!["eu-west-1".into()],
        ..Faults::default()
    });
    let config = env.config(json!({"regions": ["us-east-1", "eu-west-1"]}));
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(1));
    run.assert_protocol();
    assert_eq!(run.statuses(STREAM), ["STARTED", "RUNNING", "INCOMPLETE"]);
    let errors = run.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["failure_type"], "transient_error");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("eu-west-1"),
        "{}",
        errors[0]
    );
    // us-east-1 was read whole and its cursor saved; eu-west-1 has none, so the next sync reads it all.
    let us: std::collections::HashSet<String> = env.emulator.events()["us-east-1"]
        .iter()
        .map(|e| e.event_id.clone())
        .collect();
    assert_same_ids(&id_set(&run.ids()), &us);
    let state = run.last_state();
    let regions = &state[0]["stream"]["stream_state"]["regions"];
    assert!(
        regions.get("us-east-1").is_some() && regions.get("eu-west-1").is_none(),
        "{regions}"
    );
    env.emulator.set_faults(Faults::default());
    let next = env.read(&config, "incremental", Some(&state));
    assert_eq!(next.code, Some(0));
    let mut all = run.ids();
    all.extend(next.ids());
    assert_unique(&all);
    assert_same_ids(&id_set(&all), &env.visible_ids(now()));
}

#[test]
fn a_throttling_storm_is_ridden_out() {
    let env = Env::with_events(&["us-east-1"], 500, 3600, 0);
    env.emulator.set_faults(Faults {
        throttle_storm_secs: 30.0,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    let run = env.read(&env.config(json!({})), "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    assert!(started.elapsed() >= std::time::Duration::from_secs(30));
    let ids = run.ids();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &env.visible_ids(now()));
    assert!(env.emulator.stats()["us-east-1"].throttled > 3);
}

#[test]
fn an_expired_next_token_restarts_the_window_without_duplicates() {
    let env = Env::with_events(&["us-east-1"], 1200, 3600, 0);
    env.emulator.set_faults(Faults {
        expire_next_tokens: 2,
        ..Faults::default()
    });
    let run = env.read(&env.config(json!({})), "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    let ids = run.ids();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &env.visible_ids(now()));
    assert_eq!(
        run.logs()
            .iter()
            .filter(|l| l.contains("NextToken expired"))
            .count(),
        2
    );
}

#[test]
fn garbled_answers_and_an_answer_slower_than_the_timeout_are_retried() {
    let env = Env::with_events(&["us-east-1"], 600, 3600, 0);
    env.emulator.set_faults(Faults {
        garble_next_bodies: 3,
        slow_next_calls: 1,
        slow_call_ms: 35_000,
        ..Faults::default()
    });
    let run = env.read(&env.config(json!({})), "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let ids = run.ids();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &env.visible_ids(now()));
    let logs = run.logs().join("\n");
    assert!(
        logs.contains("no answer from") && logs.contains("unreadable answer"),
        "{logs}"
    );
}

/// A wait for the quota of several seconds is shown the platform's way: RUNNING with a
/// RATE_LIMITED reason whose `quota_reset` lies ahead, then the records resume.
#[test]
fn a_long_throttled_wait_is_reported_as_rate_limited() {
    let env = Env::with_events(&["us-east-1"], 200, 600, 0);
    // Long enough for the sixth attempt, whatever the jitter (its pause, 4 to 8 s, is over the
    // 3 s that make a wait RATE_LIMITED): the backoffs before it add up to at most 7.75 s.
    env.emulator.set_faults(Faults {
        throttle_storm_secs: 12.0,
        ..Faults::default()
    });
    let config = env.config(json!({}));
    let started = now() * 1000;
    let run = env.read(&config, "incremental", None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    let limited: Vec<&serde_json::Value> = run
        .of_type("TRACE")
        .into_iter()
        .filter(|t| t["trace"]["type"] == "STREAM_STATUS")
        .map(|t| &t["trace"]["stream_status"])
        .filter(|s| s["reasons"][0]["type"] == "RATE_LIMITED")
        .collect();
    assert!(!limited.is_empty(), "no RATE_LIMITED status");
    for s in &limited {
        assert_eq!(s["status"], "RUNNING");
        assert_eq!(s["stream_descriptor"]["name"], STREAM);
        let reset = s["reasons"][0]["rate_limited"]["quota_reset"]
            .as_i64()
            .unwrap();
        assert!(reset > started, "{s}");
    }
    assert_same_ids(&id_set(&run.ids()), &env.visible_ids(now()));
    assert_eq!(
        run.statuses(STREAM).last().map(String::as_str),
        Some("COMPLETE")
    );
}

/// Warnings are written when they happen, not when a buffer fills: a sync killed while it
/// retries still shows why it was retrying (issue 14, item 7).
#[test]
fn retry_warnings_reach_stdout_before_a_kill() {
    use std::io::Read;
    let env = Env::with_events(&["us-east-1"], 100, 3600, 0);
    env.emulator.set_faults(Faults {
        error_5xx_rate: 1.0,
        ..Faults::default()
    });
    let config = env.config(json!({}));
    let args = env.read_args(&config, &[STREAM], "incremental", None);
    let mut child = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Backoffs of about 0.25, 0.5, 1 and 2 s: three retries or more within 4 s.
    std::thread::sleep(std::time::Duration::from_secs(4));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let warnings = out
        .lines()
        .filter(|l| l.contains("\"LOG\"") && l.contains("retrying in"))
        .count();
    assert!(
        warnings >= 3,
        "{warnings} retry warnings before the kill:\n{out}"
    );
}

/// An endpoint that hands back the NextToken it was given would page forever: the region fails
/// at once as transient, naming why, with its state left before the window (issue 14, item 3);
/// the next sync reads the rest, repeating only the page of the window that never closed.
#[test]
fn a_next_token_that_repeats_ends_the_listing_instead_of_looping() {
    // Dense enough that every window needs a NextToken.
    let env = Env::with_events(&["us-east-1"], 3_000, 3600, 0);
    env.emulator.set_faults(Faults {
        repeat_next_token: true,
        ..Faults::default()
    });
    let config = env.config(json!({}));
    let started = std::time::Instant::now();
    let first = env.read(&config, "incremental", None);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(first.code, Some(1), "{}", first.stdout);
    first.assert_protocol();
    let errors = first.errors();
    assert_eq!(errors[0]["failure_type"], "transient_error", "{errors:?}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("us-east-1") && message.contains("never end"),
        "{message}"
    );
    env.emulator.set_faults(Faults::default());
    let state = first.states().last().map(|_| first.last_state());
    let second = env.read(&config, "incremental", state.as_ref());
    assert_eq!(second.code, Some(0), "{:?}", second.errors());
    // Only the page written before the token repeated comes again: its window never closed.
    let again = id_set(&first.ids())
        .intersection(&id_set(&second.ids()))
        .count();
    assert!(again <= 50, "{again} records came twice");
    assert_unique(&second.ids());
    let mut all = id_set(&first.ids());
    all.extend(second.ids());
    assert_same_ids(&all, &env.visible_ids(now()));
}
