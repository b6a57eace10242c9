//! Every event folder kind a trail delivers, through the real binary against s3s-fs:
//! `CloudTrail-NetworkActivity/` into `trail_events`, `CloudTrail-Insight/` into
//! `trail_insight_events`, `CloudTrail-Aggregated/` into `trail_aggregated_events`; both
//! file-name forms; exactly once across syncs with late files; kill -9 resume.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use cloudtrail_emulator::kinds::{kind_file, Kind};
use cloudtrail_emulator::records::Rng;
use cloudtrail_emulator::trail_logs::{CorpusSpec, CorpusSummary};
use serde_json::{json, Value};

use crate::s3::*;
use crate::support::*;

const INSIGHTS: &str = "trail_insight_events";
const AGGREGATED: &str = "trail_aggregated_events";
const STREAMS: [&str; 3] = [TRAIL_EVENTS, INSIGHTS, AGGREGATED];
const ORG: &str = "o-a1b2c3d4e5";

fn kinds_spec(seed: u64) -> CorpusSpec {
    CorpusSpec {
        organization_id: Some(ORG.into()),
        kind_files_per_prefix: 4,
        seed,
        ..spec(
            &["111122223333", "444455556666"],
            &["us-east-1", "eu-west-1"],
            3,
            10,
        )
    }
}

/// The ids of a run's records, per stream.
fn ids_by_stream(run: &Run) -> BTreeMap<String, Vec<String>> {
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in run.of_type("RECORD") {
        let stream = m["record"]["stream"].as_str().unwrap();
        let field = if stream == AGGREGATED {
            "eventId"
        } else {
            "eventID"
        };
        ids.entry(stream.to_string()).or_default().push(
            m["record"]["data"][field]
                .as_str()
                .unwrap_or_else(|| panic!("{stream} record without {field}: {m}"))
                .to_string(),
        );
    }
    ids
}

/// Every stream's last state, as a state file.
fn states(run: &Run) -> Value {
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for s in run.states() {
        let name = s["state"]["stream"]["stream_descriptor"]["name"]
            .as_str()
            .unwrap();
        last.insert(name.to_string(), s["state"].clone());
    }
    Value::Array(last.into_values().collect())
}

fn ids_of(files: &[(String, Vec<String>)]) -> HashSet<String> {
    files
        .iter()
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect()
}

fn expected(corpus: &CorpusSummary) -> BTreeMap<String, HashSet<String>> {
    BTreeMap::from([
        (TRAIL_EVENTS.to_string(), ids_of(&corpus.files)),
        (INSIGHTS.to_string(), ids_of(&corpus.insight_files)),
        (AGGREGATED.to_string(), ids_of(&corpus.aggregated_files)),
    ])
}

fn read(env: &Env, config: &std::path::Path, state: Option<&Value>) -> Run {
    let run = env.read_streams(config, &STREAMS, "incremental", state);
    run.assert_protocol();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    run
}

#[test]
fn each_folder_kind_goes_to_its_stream_once_in_either_name_form_and_late_files_too() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    // Delivered up to a few minutes ago: the late file appears within the lookback of its time.
    let base = CorpusSpec {
        start: now() - 3 * 300 - 180,
        ..kinds_spec(4)
    };
    let corpus = s3.seed(&base);
    let config = s3.config(
        &env,
        json!({"trail_logs": {"late_file_lookback_minutes": 30}}),
    );
    let first = read(&env, &config, None);
    for stream in STREAMS {
        assert_eq!(first.statuses(stream), ["STARTED", "RUNNING", "COMPLETE"]);
    }
    let got = ids_by_stream(&first);
    for (stream, want) in expected(&corpus) {
        let ids = &got[&stream];
        assert_unique(ids);
        assert_same_ids(&id_set(ids), &want);
    }

    let records = first.records();
    // Network activity events are trail_events', from their own folder.
    let network: Vec<&&Value> = records
        .iter()
        .filter(|r| r["eventCategory"] == "NetworkActivity")
        .collect();
    assert!(!network.is_empty());
    for r in &network {
        assert_eq!(r["eventType"], "AwsVpceEvent");
        assert!(r["vpcEndpointId"].as_str().unwrap().starts_with("vpce-"));
        assert!(r["logFileKey"]
            .as_str()
            .unwrap()
            .contains("/CloudTrail-NetworkActivity/"));
    }
    // Both name forms were read from each kind's folder.
    for folder in [
        "CloudTrail-NetworkActivity",
        "CloudTrail-Insight",
        "CloudTrail-Aggregated",
    ] {
        let keys: HashSet<&str> = records
            .iter()
            .filter_map(|r| r["logFileKey"].as_str())
            .filter(|k| k.contains(&format!("/{folder}/")))
            .collect();
        assert!(
            keys.iter().any(|k| k.contains(&format!("_{folder}_"))),
            "{folder}"
        );
        assert!(keys.iter().any(|k| k.contains("_CloudTrail_")), "{folder}");
    }
    let insight = records
        .iter()
        .find(|r| r["eventType"] == "AwsCloudTrailInsight")
        .unwrap();
    assert!(["Start", "End"].contains(&insight["insightDetails"]["state"].as_str().unwrap()));
    assert!(
        insight["insightDetails"]["insightContext"]["statistics"]["insight"]["average"].is_number()
    );
    assert_eq!(insight["logFileOrganizationId"], ORG);
    let aggregated = records
        .iter()
        .find(|r| r["eventType"] == "AwsAggregatedEvent")
        .unwrap();
    assert_eq!(aggregated["timeWindow"]["windowSize"], "PT5M");
    assert!(aggregated["summary"]["primaryDimension"].is_object());
    assert_eq!(aggregated["recipientAccountId"], Value::Null);
    assert!(records.iter().all(|r| r.get("digestStartTime").is_none()));

    // Nothing new: nothing read. Then a late file (inside the lookback) and a new one per kind.
    let second = read(&env, &config, Some(&states(&first)));
    assert!(second.records().is_empty(), "{}", second.stdout);
    let newest = base.start + 3 * 300;
    let mut rng = Rng::new(99);
    let mut added: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (kind, stream) in [
        (Kind::NetworkActivity, TRAIL_EVENTS),
        (Kind::Insight, INSIGHTS),
        (Kind::Aggregated, AGGREGATED),
    ] {
        // The name form this folder's files have.
        let token = corpus
            .insight_files
            .iter()
            .chain(&corpus.aggregated_files)
            .chain(&corpus.files)
            .any(|(k, _)| {
                k.contains(&format!("/444455556666/{}/eu-west-1/", kind.folder()))
                    && k.contains(&format!("_{}_", kind.folder()))
            });
        for delivery in [newest - 10 * 60, newest + 3600] {
            let file = kind_file(
                &mut rng,
                "",
                Some(ORG),
                "444455556666",
                "eu-west-1",
                kind,
                token,
                delivery,
                3,
            );
            s3.put(&file.key, &file.body);
            added
                .entry(stream.to_string())
                .or_default()
                .extend(file.event_ids);
        }
    }
    let third = read(&env, &config, Some(&states(&second)));
    let got = ids_by_stream(&third);
    for (stream, want) in &added {
        assert_same_ids(&id_set(&got[stream]), want);
    }
    let fourth = read(&env, &config, Some(&states(&third)));
    assert!(fourth.records().is_empty(), "{}", fourth.stdout);
}

#[test]
fn kill_9_then_resume_reads_every_aggregated_and_insight_event() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    let corpus = s3.seed(&CorpusSpec {
        kind_files_per_prefix: 100,
        files_per_prefix: 0,
        events_per_file: 200,
        ..kinds_spec(5)
    });
    let config = s3.config(&env, json!({}));
    for (stream, field, files) in [
        (AGGREGATED, "eventId", &corpus.aggregated_files),
        (INSIGHTS, "eventID", &corpus.insight_files),
    ] {
        let (mut seen, mut state, mut kills) = (vec![], None, 0);
        let mut rng = Rng::new(13);
        for run in 0.. {
            assert!(run < 400, "the syncs never completed");
            // The kill waits for the run's first state too (about 250 ms in).
            let delay = Duration::from_millis(rng.below(300));
            let (ids, last, completed) =
                read_and_kill(&env, &config, &[stream], field, state.as_ref(), delay);
            seen.extend(ids);
            if last.is_some() {
                state = last;
            }
            if completed {
                break;
            }
            kills += 1;
        }
        assert!(kills >= 1, "{stream}: never interrupted");
        assert_same_ids(&id_set(&seen), &ids_of(files));
        eprintln!(
            "{stream} kill -9 x{kills}: {} records for {} events",
            seen.len(),
            ids_of(files).len()
        );
    }
}

#[test]
fn event_filters_write_exactly_the_events_asked_for() {
    let env = Env::new(Default::default());
    let s3 = S3Server::start();
    s3.seed(&CorpusSpec {
        kind_files_per_prefix: 3,
        ..spec(&["111122223333"], &["us-east-1", "eu-west-1"], 6, 30)
    });
    let all = env.read_streams(
        &s3.config(&env, json!({})),
        &[TRAIL_EVENTS],
        "full_refresh",
        None,
    );
    assert_eq!(all.code, Some(0), "{}", all.stdout);
    let records: Vec<Value> = all.records().into_iter().cloned().collect();
    let ids = |run: &Run| id_set(&event_ids(run));
    let pick = |keep: &dyn Fn(&Value) -> bool| -> HashSet<String> {
        records
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["eventID"].as_str().unwrap().to_string())
            .collect()
    };
    let filtered = |filters: Value| {
        let run = env.read_streams(
            &s3.config(&env, json!({ "trail_logs": filters })),
            &[TRAIL_EVENTS],
            "full_refresh",
            None,
        );
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        run
    };
    fn s(r: &Value, k: &str) -> Option<String> {
        r[k].as_str().map(String::from)
    }
    type Keep = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(Value, Keep)> = vec![
        (
            json!({"event_sources": ["s3.amazonaws.com", "lambda.amazonaws.com"]}),
            Box::new(|r: &Value| {
                matches!(
                    s(r, "eventSource").as_deref(),
                    Some("s3.amazonaws.com" | "lambda.amazonaws.com")
                )
            }),
        ),
        (
            json!({"exclude_event_sources": ["s3.amazonaws.com"], "exclude_read_only": true}),
            Box::new(|r: &Value| {
                s(r, "eventSource").as_deref() != Some("s3.amazonaws.com") && r["readOnly"] != true
            }),
        ),
        (
            json!({"event_names": ["GetObject", "Decrypt"], "exclude_event_names": ["Decrypt"]}),
            Box::new(|r: &Value| s(r, "eventName").as_deref() == Some("GetObject")),
        ),
        (
            json!({"event_categories": ["NetworkActivity", "Data"]}),
            Box::new(|r: &Value| {
                matches!(
                    s(r, "eventCategory").as_deref(),
                    Some("NetworkActivity" | "Data")
                )
            }),
        ),
    ];
    for (filters, keep) in cases {
        let want = pick(&*keep);
        assert!(
            !want.is_empty() && want.len() < records.len(),
            "{filters}: a filter that proves nothing"
        );
        let run = filtered(filters.clone());
        assert_same_ids(&ids(&run), &want);
        let dropped = records.len() - want.len();
        assert!(
            run.logs()
                .iter()
                .any(|l| l.contains(&format!("{dropped} filtered out"))),
            "{filters}: {:?}",
            run.logs()
        );
    }
    // A category that is not one of the three is refused, naming the field.
    let bad = env.check(
        &s3.config(
            &env,
            json!({"trail_logs": {"event_categories": ["Insight"]}}),
        ),
        &[],
    );
    let (status, message) = bad.connection_status();
    assert_eq!(status, "FAILED");
    assert!(message.contains("event_categories"), "{message}");
}
