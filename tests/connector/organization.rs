//! Organization-wide reads (issue #13): every account through its member role, found by
//! ListAccounts or listed, exclusions, an account that refuses the role or LookupEvents failing
//! alone, per-account-region pacing, exactly-once across syncs, kill -9 resume and credentials
//! renewed before they expire.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use cloudtrail_emulator::{member_role_arn, EmulatorConfig, Faults, ACCOUNT};
use serde_json::{json, Value};

use crate::support::*;

const ROLE: &str = "cloudtrail-reader";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn member(i: u64) -> String {
    format!("{}", 200_000_000_000 + i)
}

fn org_env(members: usize, suspended: &[&str], events: usize) -> Env {
    org_env_over(members, suspended, events, 3 * 3600)
}

fn org_env_over(members: usize, suspended: &[&str], events: usize, span_secs: i64) -> Env {
    Env::new(EmulatorConfig {
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        events_per_region: events,
        span_secs,
        accounts: (1..=members as u64).map(member).collect(),
        suspended_accounts: suspended.iter().map(|s| s.to_string()).collect(),
        member_role_name: Some(ROLE.into()),
        ..EmulatorConfig::default()
    })
}

/// Every visible event's id with its account (from the emulator's `account/region` keys).
fn accounts_of_events(env: &Env) -> HashMap<String, String> {
    let now = cloudtrail_emulator::now();
    env.emulator
        .events()
        .into_iter()
        .flat_map(|(key, list)| {
            let account = key.split_once('/').map_or(ACCOUNT, |(a, _)| a).to_string();
            list.into_iter()
                .filter(move |e| e.visible_at <= now && !e.insight)
                .map(move |e| (e.event_id, account.clone()))
        })
        .collect()
}

fn expected_ids(env: &Env, accounts: &[String]) -> HashSet<String> {
    accounts_of_events(env)
        .into_iter()
        .filter(|(_, a)| accounts.contains(a))
        .map(|(id, _)| id)
        .collect()
}

fn org_config(env: &Env, organization: Value) -> PathBuf {
    env.config(json!({"regions": REGIONS, "organization": organization}))
}

/// STS and Organizations answer from the emulator too.
fn aws_env(env: &Env) -> [(&str, &str); 1] {
    [("AWS_ENDPOINT_URL", env.endpoint.as_str())]
}

fn read_org(env: &Env, config: &std::path::Path, streams: &[&str], state: Option<&Value>) -> Run {
    env.read_streams_env(config, streams, "incremental", state, &aws_env(env))
}

/// A start date before every generated event: no quiet 90 days to page through at a few
/// requests per second.
fn yesterday() -> String {
    cloudtrail_emulator::records::iso8601(now() - 86_400)[..10].to_string()
}

fn calls(env: &Env, action: &str) -> usize {
    env.emulator
        .requests()
        .iter()
        .filter(|r| r.action == action)
        .count()
}

/// The last state of `management_events`.
fn stream_state(run: &Run) -> Value {
    let last = run
        .states()
        .into_iter()
        .rfind(|m| m["state"]["stream"]["stream_descriptor"]["name"] == STREAM)
        .expect("a state of management_events");
    last["state"]["stream"]["stream_state"].clone()
}

#[test]
fn list_accounts_finds_the_active_accounts_and_each_is_read_through_its_role() {
    // 23 members + the management account: two pages of ListAccounts.
    let env = org_env(23, &["999999999999"], 20);
    let excluded = member(7);
    let config = org_config(
        &env,
        json!({"member_role_name": ROLE, "exclude_accounts": [excluded]}),
    );
    let run = read_org(&env, &config, &[STREAM, "trails"], Some(&json!([])));
    assert_eq!(run.code, Some(0), "{:?} {}", run.errors(), run.stderr);
    run.assert_protocol();
    let accounts: Vec<String> = std::iter::once(ACCOUNT.to_string())
        .chain((1..=23).map(member))
        .filter(|a| *a != excluded)
        .collect();
    let records: Vec<&Value> = run
        .records()
        .into_iter()
        .filter(|r| r["EventId"].is_string())
        .collect();
    let ids: Vec<String> = records
        .iter()
        .map(|r| r["EventId"].as_str().unwrap().to_string())
        .collect();
    assert_unique(&ids);
    assert_same_ids(&id_set(&ids), &expected_ids(&env, &accounts));
    // Each record's account is the one whose history holds it.
    let owner = accounts_of_events(&env);
    for r in &records {
        assert_eq!(
            r["RecipientAccountId"].as_str(),
            Some(owner[r["EventId"].as_str().unwrap()].as_str()),
            "{r}"
        );
    }
    let state = stream_state(&run);
    let cursors = state["accounts"].as_object().unwrap();
    assert_eq!(cursors.len(), accounts.len(), "{state}");
    assert!(cursors.values().all(|c| c.as_object().unwrap().len() == 2));
    assert!(!cursors.contains_key(&excluded) && !cursors.contains_key("999999999999"));
    assert_eq!(calls(&env, "ListAccounts"), 2, "paged");
    // One AssumeRole per account, however many regions and streams use it.
    assert_eq!(calls(&env, "AssumeRole"), accounts.len());
    // trails: every account's trails, under its own id.
    let trail_accounts: HashSet<&str> = run
        .records()
        .iter()
        .filter_map(|r| r["TrailArn"].as_str())
        .filter_map(|arn| arn.split(':').nth(4))
        .collect();
    assert_eq!(trail_accounts.len(), accounts.len());
}

#[test]
fn an_account_that_refuses_the_role_or_lookup_events_fails_alone() {
    let env = org_env(4, &[], 60);
    let (untrusted, denying, scp) = (member(2), member(3), member(4));
    env.emulator.remove_role(&member_role_arn(&untrusted, ROLE));
    env.emulator
        .add_role_denying(&member_role_arn(&denying, ROLE), &["LookupEvents"]);
    // A service control policy denying one region of an account.
    env.emulator
        .add_role_denying(&member_role_arn(&scp, ROLE), &["LookupEvents@eu-west-1"]);
    let listed = [
        ACCOUNT.to_string(),
        member(1),
        untrusted.clone(),
        denying.clone(),
        scp.clone(),
    ];
    let config = org_config(&env, json!({"member_role_name": ROLE, "accounts": listed}));

    let check = env.check(&config, &aws_env(&env));
    let (status, message) = check.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(message.contains("2 of 5 accounts readable"), "{message}");
    assert!(
        message.contains(&format!("account {scp}, eu-west-1")),
        "{message}"
    );
    assert!(
        message.contains(&untrusted) && message.contains(&denying),
        "{message}"
    );

    let run = read_org(&env, &config, &[STREAM], Some(&json!([])));
    assert_eq!(run.code, Some(1));
    run.assert_protocol();
    let ids = run.ids();
    assert_unique(&ids);
    let scp_us: HashSet<String> = env.emulator.events()[&format!("{scp}/us-east-1")]
        .iter()
        .map(|e| e.event_id.clone())
        .collect();
    let mut expected = expected_ids(&env, &[ACCOUNT.to_string(), member(1)]);
    expected.extend(scp_us);
    assert_same_ids(&id_set(&ids), &expected);
    let errors = run.errors();
    let trust = errors
        .iter()
        .find(|e| e["message"].as_str().unwrap().contains(&untrusted))
        .expect("a TRACE error names the account whose role cannot be assumed");
    assert_eq!(trust["failure_type"], "config_error");
    assert!(
        trust["message"].as_str().unwrap().contains("trust policy"),
        "{trust}"
    );
    let denied: Vec<&&Value> = errors
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains(&denying))
        .collect();
    assert_eq!(denied.len(), 2, "one per region: {errors:?}");
    assert!(denied[0]["message"]
        .as_str()
        .unwrap()
        .contains("cloudtrail:LookupEvents"));
    // The readable accounts completed and are checkpointed.
    let state = stream_state(&run);
    for account in [ACCOUNT.to_string(), member(1)] {
        for region in REGIONS {
            assert!(
                state["accounts"][&account][region]["read_through"].as_i64() >= Some(now() - 5),
                "{state}"
            );
        }
    }
    assert!(state["accounts"].get(&untrusted).is_none());
    // The region the SCP denies fails alone, named; the account's other region is read.
    let in_region: Vec<&&Value> = errors
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains(&scp))
        .collect();
    assert_eq!(in_region.len(), 1, "{errors:?}");
    let text = in_region[0]["message"].as_str().unwrap();
    assert!(
        text.contains("eu-west-1") && text.contains("service control policy"),
        "{text}"
    );
    assert!(state["accounts"][&scp]["us-east-1"]["read_through"].as_i64() >= Some(now() - 5));
    assert!(
        state["accounts"][&scp].get("eu-west-1").is_none(),
        "{state}"
    );
    assert_eq!(calls(&env, "ListAccounts"), 0);
}

#[test]
fn consecutive_syncs_read_every_account_exactly_once_continuing_a_single_account_state() {
    let env = org_env(2, &[], 200);
    // A sync of the base account alone, as before organizations.
    let single = env.config(json!({"regions": REGIONS}));
    let first = env.read(&single, "incremental", Some(&json!([])));
    assert_eq!(first.code, Some(0));
    let base = expected_ids(&env, &[ACCOUNT.to_string()]);
    assert_same_ids(&id_set(&first.ids()), &base);

    let config = org_config(&env, json!({"member_role_name": ROLE}));
    let second = read_org(&env, &config, &[STREAM], Some(&first.last_state()));
    assert_eq!(second.code, Some(0), "{:?}", second.errors());
    second.assert_protocol();
    let members = expected_ids(&env, &[member(1), member(2)]);
    assert_same_ids(&id_set(&second.ids()), &members);

    // Two seconds on: the new events' second is after the last one the second sync read
    // (its horizon), however fast it ran.
    std::thread::sleep(Duration::from_millis(2100));
    let t = now() - 1;
    for account in [ACCOUNT.to_string(), member(2)] {
        env.emulator.add_events(
            serde_json::from_value(json!({"region": "eu-west-1", "account": account,
                "events": (0..40).map(|_| json!({"time": t})).collect::<Vec<_>>()}))
            .unwrap(),
        );
    }
    let third = read_org(&env, &config, &[STREAM], Some(&second.last_state()));
    assert_eq!(third.code, Some(0));
    assert_eq!(third.ids().len(), 80);
    let mut all = first.ids();
    all.extend(second.ids());
    all.extend(third.ids());
    assert_unique(&all);
    let everyone = [ACCOUNT.to_string(), member(1), member(2)];
    assert_same_ids(&id_set(&all), &expected_ids(&env, &everyone));
}

#[test]
fn a_sync_killed_mid_way_resumes_without_losing_or_repeating_what_its_state_covers() {
    // Events from the start date on, so the first (one-hour) window of every account-region
    // has some and closes soon, the next ones take seconds.
    let midnight = (now() / 86_400 - 1) * 86_400;
    let env = org_env_over(2, &[], 1200, now() - midnight);
    let config = env.config(
        json!({"regions": REGIONS, "requests_per_second": 8, "start_date": yesterday(),
        "organization": {"member_role_name": ROLE}}),
    );
    let args = env.read_args(&config, &[STREAM], "incremental", Some(&json!([])));
    let (before, state) = kill_after_progress(&env, &args, midnight);
    let cursors = state[0]["stream"]["stream_state"]["accounts"].clone();
    let second = read_org(&env, &config, &[STREAM], Some(&state));
    assert_eq!(second.code, Some(0), "{:?}", second.errors());
    let covered = |r: &Value| {
        let account = r["RecipientAccountId"].as_str().unwrap();
        let region = r["AwsRegion"].as_str().unwrap();
        let cursor = cursors[account][region]["read_through"].as_i64();
        cursor.is_some_and(|c| r["EventTime"].as_f64().unwrap() as i64 <= c)
    };
    let rerun = second.records();
    assert!(
        before.iter().any(&covered),
        "the state covers nothing: {cursors}"
    );
    let again: Vec<&&Value> = rerun.iter().filter(|r| covered(r)).collect();
    assert!(
        again.is_empty(),
        "{} covered records came again",
        again.len()
    );
    let union: HashSet<String> = before
        .iter()
        .chain(rerun.iter().copied())
        .map(|r| r["EventId"].as_str().unwrap().to_string())
        .collect();
    let everyone = [ACCOUNT.to_string(), member(1), member(2)];
    assert_same_ids(&union, &expected_ids(&env, &everyone));
}

/// Runs `args` with the emulator as every endpoint and SIGKILLs it once a state has moved a
/// cursor past `start` and 100 records followed it (in the middle of windows); returns the
/// records and the last state before the kill.
fn kill_after_progress(env: &Env, args: &[String], start: i64) -> (Vec<Value>, Value) {
    use std::io::{BufRead, BufReader};
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = command(&args, &aws_env(env))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (mut records, mut state, mut since) = (vec![], None, 0);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let mut m: Value = serde_json::from_str(&line.unwrap()).unwrap();
        match m["type"].as_str() {
            Some("RECORD") => {
                records.push(m["record"]["data"].take());
                since += 1;
            }
            Some("STATE") => {
                let cursors = m["state"]["stream"]["stream_state"]["accounts"].to_string();
                if state.is_some() || cursors.contains(&format!("{}", start + 3599)) {
                    state = Some(json!([m["state"]]));
                    since = 0;
                }
            }
            _ => {}
        }
        if state.is_some() && since >= 100 {
            break;
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the sync finished before the kill");
    (records, state.expect("a state with progress"))
}

#[test]
fn every_account_region_has_its_own_pacer_at_the_quota() {
    // 3 accounts x 2 regions, each throttled by the emulator at 2 requests/s: read one after
    // another they would take three times as long as together.
    let env = org_env(2, &[], 300);
    env.emulator.set_faults(Faults {
        throttle_rps: Some(2.0),
        ..Faults::default()
    });
    let config = env.config(
        json!({"regions": REGIONS, "requests_per_second": 2, "start_date": yesterday(),
        "organization": {"member_role_name": ROLE}}),
    );
    let run = read_org(&env, &config, &[STREAM], None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let everyone = [ACCOUNT.to_string(), member(1), member(2)];
    assert_same_ids(&id_set(&run.ids()), &expected_ids(&env, &everyone));
    let stats = env.emulator.stats();
    assert_eq!(stats.len(), 6, "{:?}", stats.keys());
    let (mut latest_start, mut earliest_end) = (f64::MIN, f64::MAX);
    for (key, s) in &stats {
        let (first, last) = (s.first_ok_at.unwrap(), s.last_ok_at.unwrap());
        let rate = (s.ok - 1) as f64 / (last - first);
        eprintln!(
            "{key}: {} ok, {} throttled, {rate:.2} requests/s",
            s.ok, s.throttled
        );
        assert!(s.ok >= 6, "{key}: {s:?}");
        assert!(s.throttled <= 1, "{key}: {s:?}");
        assert!(rate <= 2.2, "{key} exceeds its quota: {rate:.2}/s");
        latest_start = latest_start.max(first);
        earliest_end = earliest_end.min(last);
    }
    assert!(
        latest_start < earliest_end,
        "the account-regions were read one after another, not together"
    );
}

#[test]
fn member_credentials_are_renewed_before_they_expire() {
    let env = org_env(1, &[], 400);
    env.emulator.set_credential_secs(2.0);
    let config = env.config(
        json!({"regions": ["us-east-1"], "requests_per_second": 3, "start_date": yesterday(),
        "organization": {"member_role_name": ROLE, "accounts": [member(1)]}}),
    );
    let run = read_org(&env, &config, &[STREAM], None);
    assert_eq!(run.code, Some(0), "{:?} {:?}", run.errors(), run.logs());
    assert!(
        !run.stdout.contains("ExpiredToken"),
        "a call was signed with expired keys"
    );
    let key = format!("{}/us-east-1", member(1));
    let expected: HashSet<String> = env.emulator.events()[&key]
        .iter()
        .map(|e| e.event_id.clone())
        .collect();
    assert_same_ids(&id_set(&run.ids()), &expected);
    assert!(
        calls(&env, "AssumeRole") >= 2,
        "the credentials were not renewed: {} AssumeRole",
        calls(&env, "AssumeRole")
    );
}
