//! `insight_events`: LookupEvents with EventCategory=insight, beside management events, with the
//! same incremental guarantees and only the filters Insights accept.

use cloudtrail_emulator::EmulatorConfig;
use serde_json::{json, Value};

use crate::support::*;

const INSIGHTS: &str = "insight_events";

fn env() -> Env {
    Env::new(EmulatorConfig {
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        events_per_region: 300,
        span_secs: 6 * 3600,
        insights_per_region: 10,
        insight_regions: vec!["us-east-1".into()],
        ..EmulatorConfig::default()
    })
}

fn read_both(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    env.read_streams(config, &[STREAM, INSIGHTS], "incremental", state)
}

fn of_stream<'a>(run: &'a Run, stream: &str) -> Vec<&'a Value> {
    run.of_type("RECORD")
        .into_iter()
        .filter(|m| m["record"]["stream"] == stream)
        .map(|m| &m["record"]["data"])
        .collect()
}

fn insight_ids(env: &Env) -> std::collections::HashSet<String> {
    env.emulator
        .events()
        .values()
        .flatten()
        .filter(|e| e.insight)
        .map(|e| e.event_id.clone())
        .collect()
}

#[test]
fn insight_events_are_read_flattened_beside_management_events() {
    let env = env();
    let config = env.config(json!({"regions": ["us-east-1", "eu-west-1"]}));
    let run = read_both(&env, &config, None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    assert_eq!(run.statuses(INSIGHTS), ["STARTED", "RUNNING", "COMPLETE"]);
    let insights = of_stream(&run, INSIGHTS);
    assert_eq!(insights.len(), 20);
    let ids: Vec<String> = insights
        .iter()
        .map(|r| r["EventId"].as_str().unwrap().to_string())
        .collect();
    assert_same_ids(&id_set(&ids), &insight_ids(&env));
    assert_eq!(
        of_stream(&run, STREAM).len(),
        600,
        "management events hold no insight"
    );
    for r in &insights {
        let record: Value = serde_json::from_str(r["CloudTrailEvent"].as_str().unwrap()).unwrap();
        let details = &record["insightDetails"];
        assert_eq!(r["InsightType"], details["insightType"]);
        assert_eq!(r["InsightState"], details["state"]);
        assert_eq!(
            r["BaselineAverage"],
            details["insightContext"]["statistics"]["baseline"]["average"]
        );
        assert_eq!(
            r["InsightAverage"],
            details["insightContext"]["statistics"]["insight"]["average"]
        );
        assert_eq!(r["SharedEventId"], record["sharedEventID"]);
        assert_eq!(r["AwsRegion"], "us-east-1");
        assert_eq!(r["EventCategory"], "Insight");
        if details["insightType"] == "ApiErrorRateInsight" {
            assert_eq!(r["InsightErrorCode"], "AccessDenied");
        }
    }
    // Each stream has its own state, with every region's cursor.
    let states: Vec<&Value> = run.states();
    for stream in [STREAM, INSIGHTS] {
        let last = states
            .iter()
            .rev()
            .find(|s| s["state"]["stream"]["stream_descriptor"]["name"] == stream)
            .unwrap();
        let regions = &last["state"]["stream"]["stream_state"]["regions"];
        assert!(
            regions.get("us-east-1").is_some() && regions.get("eu-west-1").is_some(),
            "{stream}: {regions}"
        );
    }
}

#[test]
fn insight_syncs_are_incremental_without_duplicates() {
    let env = env();
    let config = env.config(json!({}));
    let first = read_both(&env, &config, None);
    let state: Vec<Value> = first.states().iter().map(|m| m["state"].clone()).collect();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t = now();
    env.add(
        "us-east-1",
        vec![json!({"time": t, "insight": true}), json!({"time": t})],
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = read_both(&env, &config, Some(&Value::Array(state)));
    assert_eq!(second.code, Some(0));
    assert_eq!(of_stream(&second, INSIGHTS).len(), 1);
    assert_eq!(of_stream(&second, STREAM).len(), 1);
    let mut ids: Vec<String> = of_stream(&first, INSIGHTS)
        .iter()
        .chain(of_stream(&second, INSIGHTS).iter())
        .map(|r| r["EventId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn only_filters_insights_accept_are_sent_for_them() {
    let env = env();
    let by_user = env.config(json!({"lookup_attributes_filter": {"attribute_key": "Username", "attribute_value": "alice"}}));
    let run = read_both(&env, &by_user, None);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    assert_eq!(of_stream(&run, INSIGHTS).len(), 20, "read unfiltered");
    assert!(of_stream(&run, STREAM)
        .iter()
        .all(|r| r["Username"] == "alice"));
    assert!(
        run.logs()
            .iter()
            .any(|l| l.contains("insight_events") && l.contains("does not apply")),
        "{:?}",
        run.logs()
    );

    let one = of_stream(&run, INSIGHTS)[0]["EventName"]
        .as_str()
        .unwrap()
        .to_string();
    let by_name = env.config(
        json!({"lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": one}}),
    );
    let run = read_both(&env, &by_name, None);
    let insights = of_stream(&run, INSIGHTS);
    assert!(!insights.is_empty() && insights.iter().all(|r| r["EventName"] == one.as_str()));
}
