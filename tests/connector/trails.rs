//! `trails`: every trail visible from the configured regions, once, with status and selectors;
//! a trail whose details cannot be read still appears with the gap named.

use serde_json::{json, Value};

use crate::support::*;

fn read_trails(env: &Env, config: &std::path::Path, mode: &str) -> Run {
    env.read_streams(config, &["trails"], mode, None)
}

fn by_name<'a>(records: &[&'a Value], name: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["Name"] == name)
        .copied()
        .unwrap_or_else(|| panic!("no trail {name}"))
}

#[test]
fn every_trail_once_with_status_selectors_and_where_its_logs_go() {
    let env = Env::new(Default::default());
    let config = env.config(json!({"regions": ["us-east-1", "eu-west-1", "ap-southeast-2"]}));
    // PyAirbyte asks for incremental on every stream: a full-refresh stream must just work.
    let run = read_trails(&env, &config, "incremental");
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    run.assert_protocol();
    assert_eq!(run.statuses("trails"), ["STARTED", "RUNNING", "COMPLETE"]);
    let records = run.records();
    let arns: Vec<String> = records
        .iter()
        .map(|r| r["TrailArn"].as_str().unwrap().to_string())
        .collect();
    assert_unique(&arns);
    assert_eq!(records.len(), 3);

    let mgmt = by_name(&records, "management-events");
    assert_eq!(mgmt["HomeRegion"], "us-east-1");
    assert_eq!(mgmt["IsMultiRegionTrail"], true);
    assert_eq!(
        mgmt["VisibleFromRegions"],
        json!(["us-east-1", "eu-west-1", "ap-southeast-2"]),
        "a shadow elsewhere"
    );
    assert_eq!(
        mgmt["LogFilesLocation"],
        "s3://acme-cloudtrail-logs/mgmt/AWSLogs/"
    );
    assert_eq!(mgmt["IsLogging"], true);
    assert_eq!(mgmt["InsightsEnabled"], true);
    assert_eq!(
        mgmt["InsightTypes"],
        json!(["ApiCallRateInsight", "ApiErrorRateInsight"])
    );
    assert_eq!(mgmt["EventSelectors"][0]["ReadWriteType"], "All");
    assert_eq!(mgmt["Unreadable"], json!([]));

    let org = by_name(&records, "organization-trail");
    assert_eq!(org["IsOrganizationTrail"], true);
    assert_eq!(org["InsightsEnabled"], false, "no Insights on this trail");
    assert_eq!(
        org["AdvancedEventSelectors"][1]["FieldSelectors"][1]["Equals"],
        json!(["AWS::S3::Object"])
    );
    assert_eq!(
        org["LogFilesLocation"],
        "s3://acme-org-log-archive/AWSLogs/"
    );

    let eu = by_name(&records, "eu-audit");
    assert_eq!(
        eu["VisibleFromRegions"],
        json!(["eu-west-1"]),
        "single-region: no shadow"
    );
    assert_eq!(eu["IsLogging"], false);
    assert_eq!(eu["LatestDeliveryError"], "AccessDenied");
    assert!(eu["StopLoggingTime"].as_f64().is_some());
}

#[test]
fn a_trail_whose_details_are_denied_still_appears() {
    let env = Env::new(Default::default());
    env.emulator.add_credentials(
        "AKIASELECTORLESS",
        "s",
        None,
        &["GetEventSelectors", "GetTrailStatus"],
    );
    let config = env.config(json!({"aws_key_id": "AKIASELECTORLESS", "aws_secret_key": "s"}));
    let run = read_trails(&env, &config, "full_refresh");
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let records = run.records();
    assert_eq!(records.len(), 2, "the two trails visible from us-east-1");
    for r in &records {
        let gaps: Vec<&str> = r["Unreadable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(
            gaps.iter()
                .any(|g| g.contains("cloudtrail:GetEventSelectors")),
            "{gaps:?}"
        );
        assert!(r.get("EventSelectors").is_none_or(Value::is_null));
        assert!(
            r["S3BucketName"].is_string(),
            "what DescribeTrails said is kept"
        );
    }
    assert!(
        run.logs().iter().any(|l| l.contains("GetTrailStatus")),
        "{:?}",
        run.logs()
    );

    env.emulator
        .add_credentials("AKIANODESCRIBE", "s", None, &["DescribeTrails"]);
    let config = env.config(json!({"aws_key_id": "AKIANODESCRIBE", "aws_secret_key": "s"}));
    let run = read_trails(&env, &config, "full_refresh");
    assert_eq!(run.code, Some(1));
    assert_eq!(run.statuses("trails"), ["STARTED", "RUNNING", "INCOMPLETE"]);
    assert_eq!(run.errors()[0]["failure_type"], "config_error");
    assert!(run.errors()[0]["message"]
        .as_str()
        .unwrap()
        .contains("cloudtrail:DescribeTrails"));
}
