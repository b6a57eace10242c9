//! The other folders a trail delivers beside `CloudTrail/`: network activity events
//! (`CloudTrail-NetworkActivity/`), Insights events (`CloudTrail-Insight/`) and aggregated data
//! events (`CloudTrail-Aggregated/`), with realistic records of each kind and both file-name
//! forms (`<acct>_CloudTrail_<region>_…` and `<acct>_CloudTrail-<Kind>_<region>_…`).

use serde_json::{json, Value};

use crate::records::{iso8601, utc, Rng};
use crate::trail_logs::{records_file, region_folder, trail_record, LogFile};

/// A folder kind beside `CloudTrail/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NetworkActivity,
    Insight,
    Aggregated,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::NetworkActivity, Kind::Insight, Kind::Aggregated];

    /// The folder name under the account.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::NetworkActivity => "CloudTrail-NetworkActivity",
            Kind::Insight => "CloudTrail-Insight",
            Kind::Aggregated => "CloudTrail-Aggregated",
        }
    }

    /// The field that identifies a record of this kind.
    pub fn id_field(self) -> &'static str {
        match self {
            Kind::Aggregated => "eventId",
            _ => "eventID",
        }
    }
}

/// The key of a file of `kind`; `kind_token` names the kind in the file name too
/// (`CloudTrail-Insight_…`), else the documented `CloudTrail_…` form.
#[allow(clippy::too_many_arguments)]
pub fn kind_file_key(
    rng: &mut Rng,
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    kind: Kind,
    kind_token: bool,
    delivery: i64,
) -> String {
    let t = utc(delivery);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    let suffix: String = (0..16)
        .map(|_| *rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") as char)
        .collect();
    let token = if kind_token {
        kind.folder()
    } else {
        "CloudTrail"
    };
    format!(
        "{}{y:04}/{m:02}/{d:02}/{account}_{token}_{region}_{y:04}{m:02}{d:02}T{:02}{:02}Z_{suffix}.json.gz",
        region_folder(prefix, org, account, kind.folder(), region),
        t.hour(),
        t.minute()
    )
}

const VPC_CALLS: &[(&str, &str)] = &[
    ("kms.amazonaws.com", "Decrypt"),
    ("s3.amazonaws.com", "GetObject"),
    ("secretsmanager.amazonaws.com", "GetSecretValue"),
    ("cloudtrail.amazonaws.com", "LookupEvents"),
];

/// A network activity event: a call through a VPC endpoint, allowed or denied by its policy.
pub fn network_record(rng: &mut Rng, account: &str, region: &str, time: i64) -> (String, String) {
    let (id, text) = trail_record(rng, account, region, time, 0.0);
    let mut record: Value = serde_json::from_str(&text).unwrap_or_default();
    let (source, name) = *rng.pick(VPC_CALLS);
    let vpce = format!("vpce-{:017x}", rng.next_u64() >> 4);
    record["eventVersion"] = json!("1.09");
    record["eventSource"] = json!(source);
    record["eventName"] = json!(name);
    record["eventType"] = json!("AwsVpceEvent");
    record["eventCategory"] = json!("NetworkActivity");
    record["managementEvent"] = json!(false);
    record["vpcEndpointId"] = json!(vpce);
    record["vpcEndpointAccountId"] = json!(account);
    record["requestParameters"] = Value::Null;
    record["responseElements"] = Value::Null;
    if rng.below(4) == 0 {
        record["errorCode"] = json!("VpceAccessDenied");
        record["errorMessage"] = json!(format!(
            "The request was denied due to a VPC endpoint policy"
        ));
    }
    (id, record.to_string())
}

/// An Insights event (`Start` or `End` of an unusual call or error rate).
pub fn insight_record(rng: &mut Rng, account: &str, region: &str, time: i64) -> (String, String) {
    let id = rng.uuid();
    let (source, name) = *rng.pick(&[
        ("ec2.amazonaws.com", "RunInstances"),
        ("iam.amazonaws.com", "CreateAccessKey"),
        ("s3.amazonaws.com", "PutBucketPolicy"),
    ]);
    let error = rng.below(3) == 0;
    let mut details = json!({
        "state": if rng.below(2) == 0 { "Start" } else { "End" },
        "eventSource": source,
        "eventName": name,
        "insightType": if error { "ApiErrorRateInsight" } else { "ApiCallRateInsight" },
        "insightContext": {
            "statistics": {
                "baseline": {"average": rng.unit() / 10.0},
                "insight": {"average": 1.0 + rng.unit() * 20.0},
                "insightDuration": 1 + rng.below(30),
                "baselineDuration": 10_080
            },
            "attributions": [
                {"attribute": "userIdentityArn",
                 "insight": [{"value": format!("arn:aws:iam::{account}:role/worker"), "average": 4.0}],
                 "baseline": [{"value": format!("arn:aws:iam::{account}:role/worker"), "average": 0.02}]},
                {"attribute": "userAgent", "insight": [{"value": "aws-cli/2.15", "average": 4.0}], "baseline": []}
            ]
        }
    });
    if error {
        details["errorCode"] = json!("AccessDenied");
    }
    let record = json!({
        "eventVersion": "1.08",
        "eventTime": iso8601(time),
        "awsRegion": region,
        "eventID": id,
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": account,
        "sharedEventID": rng.uuid(),
        "insightDetails": details,
        "eventCategory": "Insight"
    });
    (id, record.to_string())
}

/// An aggregated event: a 5-minute summary of data events by one template's dimension.
pub fn aggregated_record(
    rng: &mut Rng,
    account: &str,
    region: &str,
    time: i64,
) -> (String, String) {
    let id = rng.uuid();
    let start = time - time.rem_euclid(300);
    let (template, dimension, value) = match rng.below(3) {
        0 => ("API_ACTIVITY", "eventName", json!("GetObject")),
        1 => (
            "RESOURCE_ACCESS",
            "resourceARN",
            json!(format!("arn:aws:s3:::data-{account}-{region}")),
        ),
        _ => (
            "USER_ACTIONS",
            "userIdentity",
            json!({"arn": format!("arn:aws:iam::{account}:role/etl"), "type": "AssumedRole"}),
        ),
    };
    let calls = 1 + rng.below(5_000);
    let record = json!({
        "eventVersion": "1.0",
        "accountId": account,
        "eventId": id,
        "eventCategory": "Aggregated",
        "eventType": "AwsAggregatedEvent",
        "awsRegion": region,
        "eventSource": "s3.amazonaws.com",
        "timeWindow": {
            "windowStart": iso8601(start),
            "windowEnd": iso8601(start + 300),
            "windowSize": "PT5M"
        },
        "summary": {
            "templateName": template,
            "primaryDimension": {"dimension": dimension, "value": value, "statistics": {"count": calls}},
            "details": [
                {"dimension": "sourceIPAddress", "statistics": [{"value": "10.0.0.12", "count": calls / 2 + 1}]},
                {"dimension": "errorCode", "statistics": [{"value": "AccessDenied", "count": calls / 10}]}
            ]
        }
    });
    (id, record.to_string())
}

/// One file of `kind` delivered at `delivery`, holding `events` records of the 15 minutes
/// before it.
#[allow(clippy::too_many_arguments)]
pub fn kind_file(
    rng: &mut Rng,
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    kind: Kind,
    kind_token: bool,
    delivery: i64,
    events: usize,
) -> LogFile {
    let key = kind_file_key(
        rng, prefix, org, account, region, kind, kind_token, delivery,
    );
    records_file(rng, key, delivery, events, |rng, time| match kind {
        Kind::NetworkActivity => network_record(rng, account, region, time),
        Kind::Insight => insight_record(rng, account, region, time),
        Kind::Aggregated => aggregated_record(rng, account, region, time),
    })
}
