//! The CloudTrail record generator: realistic, deterministic CloudTrail records (the JSON that
//! LookupEvents returns as `CloudTrailEvent` and trails deliver to S3), shared by every data source
//! of the emulator and by any corpus generator.

use serde_json::{json, Value};
use time::UtcDateTime;

/// A small, fast, seedable generator (splitmix64): the data must be reproducible from a seed and
/// the emulator must not need a crate for it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random version-4 style UUID, as CloudTrail uses for `eventID` and `requestID`.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// The LookupEvents view of one event (the columns AWS extracts) beside the full record text.
#[derive(Debug, Clone)]
pub struct GeneratedEvent {
    pub event_id: String,
    pub event_time: i64,
    pub event_name: String,
    pub event_source: String,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    pub read_only: bool,
    pub resources: Vec<(String, String)>,
    /// The CloudTrail record as JSON text, exactly what `CloudTrailEvent` carries.
    pub cloudtrail_event: String,
}

/// (eventSource, eventName, readOnly, resource type) combinations seen in real management events.
const CALLS: &[(&str, &str, bool, &str)] = &[
    (
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        "AWS::EC2::Instance",
    ),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        false,
        "AWS::EC2::Instance",
    ),
    (
        "ec2.amazonaws.com",
        "CreateTags",
        false,
        "AWS::EC2::Instance",
    ),
    ("s3.amazonaws.com", "ListBuckets", true, "AWS::S3::Bucket"),
    ("s3.amazonaws.com", "CreateBucket", false, "AWS::S3::Bucket"),
    ("iam.amazonaws.com", "GetRole", true, "AWS::IAM::Role"),
    (
        "iam.amazonaws.com",
        "AttachRolePolicy",
        false,
        "AWS::IAM::Role",
    ),
    ("sts.amazonaws.com", "AssumeRole", true, "AWS::IAM::Role"),
    ("kms.amazonaws.com", "Decrypt", true, "AWS::KMS::Key"),
    (
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        true,
        "AWS::Lambda::Function",
    ),
    (
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        true,
        "AWS::CloudTrail::Trail",
    ),
    (
        "signin.amazonaws.com",
        "ConsoleLogin",
        false,
        "AWS::IAM::User",
    ),
];

const USER_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0",
    "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.11.6",
    "AWS Internal",
    "console.amazonaws.com",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
];

const USERS: &[&str] = &["alice", "bob", "deploy-bot", "carol.admin", "ci-runner"];
/// The emulated account, in records and in the ARNs of answers.
pub const ACCOUNT: &str = "123456789012";

/// Generates one management event at `event_time` (epoch seconds) in `region`.
pub fn management_event(rng: &mut Rng, region: &str, event_time: i64) -> GeneratedEvent {
    management_event_of(rng, ACCOUNT, region, event_time)
}

/// Generates one management event of `account` (12 digits) at `event_time` in `region`.
pub fn management_event_of(
    rng: &mut Rng,
    account: &str,
    region: &str,
    event_time: i64,
) -> GeneratedEvent {
    let (source, name, read_only, resource_type) = *rng.pick(CALLS);
    let event_id = rng.uuid();
    let request_id = rng.uuid();
    let user = *rng.pick(USERS);
    let access_key = format!("ASIA{:016X}", rng.next_u64());
    let kind = rng.below(10);
    let (identity, username) = match kind {
        0..=4 => (
            json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{:016X}:{user}", rng.next_u64()),
                "arn": format!("arn:aws:sts::{account}:assumed-role/Admin/{user}"),
                "accountId": account,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAEXAMPLEROLEID0001",
                        "arn": format!("arn:aws:iam::{account}:role/Admin"),
                        "accountId": account,
                        "userName": "Admin"
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": iso8601(event_time - 600), "mfaAuthenticated": "false"}
                }
            }),
            Some(user.to_string()),
        ),
        5..=7 => (
            json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{:016X}", rng.next_u64()),
                "arn": format!("arn:aws:iam::{account}:user/{user}"),
                "accountId": account,
                "accessKeyId": access_key,
                "userName": user
            }),
            Some(user.to_string()),
        ),
        8 => (
            json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"}),
            None,
        ),
        _ => (
            json!({
                "type": "Root",
                "principalId": account,
                "arn": format!("arn:aws:iam::{account}:root"),
                "accountId": account,
                "accessKeyId": access_key
            }),
            Some("root".to_string()),
        ),
    };
    let resource_name = format!(
        "{}-{:06x}",
        resource_type
            .rsplit("::")
            .next()
            .unwrap_or("r")
            .to_lowercase(),
        rng.below(0xffffff)
    );
    // Polymorphic on purpose: requestParameters is an object, null or a string across events,
    // which is what breaks typed schemas in the wild.
    let request_parameters = match rng.below(6) {
        0 => Value::Null,
        1 => Value::String(format!("name={resource_name}")),
        _ => json!({
            "resourceName": resource_name,
            "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "platform"}]}}]},
            "maxResults": 1000
        }),
    };
    let failed = rng.below(12) == 0;
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": iso8601(event_time),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": format!("{}.{}.{}.{}", 10 + rng.below(200), rng.below(256), rng.below(256), 1 + rng.below(254)),
        "userAgent": rng.pick(USER_AGENTS),
        "requestParameters": request_parameters,
        "responseElements": if read_only || failed { Value::Null } else { json!({"requestId": request_id, "_return": true}) },
        "requestID": request_id,
        "eventID": event_id,
        "readOnly": read_only,
        "resources": [{"accountId": account, "type": resource_type, "ARN": format!("arn:aws:{}:{region}:{account}:{resource_name}", source.split('.').next().unwrap_or("svc"))}],
        "eventType": if name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap_or("svc"))}
    });
    if failed {
        record["errorCode"] = json!("AccessDenied");
        record["errorMessage"] = json!(format!(
            "User: arn:aws:iam::{account}:user/{user} is not authorized to perform: {name}"
        ));
    }
    GeneratedEvent {
        event_id,
        event_time,
        event_name: name.to_string(),
        event_source: source.to_string(),
        username,
        access_key_id: Some(access_key),
        read_only,
        resources: vec![(resource_type.to_string(), resource_name)],
        cloudtrail_event: record.to_string(),
    }
}

/// Generates the Start and End events of one CloudTrail Insight in `region`: an unusual rate of
/// calls (or of errors) to one API from `start` for `minutes`.
pub fn insight_pair(rng: &mut Rng, region: &str, start: i64, minutes: i64) -> [GeneratedEvent; 2] {
    let (source, name, _, _) = *rng.pick(CALLS);
    let errors = rng.below(3) == 0;
    let shared = rng.uuid();
    let baseline = (rng.below(1000) as f64) / 10_000.0 + 0.001;
    let insight = baseline * (20.0 + rng.below(200) as f64);
    let baseline_minutes = 7 * 24 * 60 + rng.below(7 * 24 * 60) as i64;
    let make = |rng: &mut Rng, state: &str, time: i64| {
        let event_id = rng.uuid();
        let mut statistics = json!({
            "baseline": {"average": baseline},
            "insight": {"average": insight},
            "baselineDuration": baseline_minutes
        });
        if state == "End" {
            statistics["insightDuration"] = json!(minutes);
        }
        let mut details = json!({
            "state": state,
            "eventSource": source,
            "eventName": name,
            "insightType": if errors { "ApiErrorRateInsight" } else { "ApiCallRateInsight" },
            "insightContext": {
                "statistics": statistics,
                "attributions": [{
                    "attribute": "userIdentityArn",
                    "insight": [{"value": format!("arn:aws:iam::{ACCOUNT}:role/Admin"), "average": insight}],
                    "baseline": [{"value": format!("arn:aws:iam::{ACCOUNT}:role/Admin"), "average": baseline}]
                }]
            }
        });
        if errors {
            details["errorCode"] = json!("AccessDenied");
        }
        let record = json!({
            "eventVersion": "1.08",
            "eventTime": iso8601(time),
            "awsRegion": region,
            "eventID": event_id,
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": ACCOUNT,
            "sharedEventID": shared,
            "insightDetails": details,
            "eventCategory": "Insight"
        });
        GeneratedEvent {
            event_id,
            event_time: time,
            event_name: name.to_string(),
            event_source: source.to_string(),
            username: None,
            access_key_id: None,
            read_only: false,
            resources: vec![],
            cloudtrail_event: record.to_string(),
        }
    };
    [
        make(rng, "Start", start),
        make(rng, "End", start + minutes * 60),
    ]
}

/// The UTC calendar time of epoch seconds, held to the years `time` represents (±9999), which
/// no generated record comes near.
pub fn utc(epoch_secs: i64) -> UtcDateTime {
    let lo = UtcDateTime::MIN.unix_timestamp();
    let hi = UtcDateTime::MAX.unix_timestamp();
    UtcDateTime::from_unix_timestamp(epoch_secs.clamp(lo, hi)).unwrap_or(UtcDateTime::UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds, as CloudTrail writes `eventTime`.
pub fn iso8601(epoch_secs: i64) -> String {
    let t = utc(epoch_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Proleptic Gregorian date of a day number counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let date = utc(days.saturating_mul(86_400)).date();
    (
        date.year().into(),
        u8::from(date.month()).into(),
        date.day().into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_like_cloudtrail() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_623_346_856), "2021-06-10T17:40:56Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(i64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn day_numbers_are_gregorian_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
    }

    #[test]
    fn records_are_valid_json_with_the_lookup_columns() {
        let mut rng = Rng::new(7);
        for i in 0..200 {
            let e = management_event(&mut rng, "eu-west-1", 1_700_000_000 + i);
            let v: Value = serde_json::from_str(&e.cloudtrail_event).unwrap();
            assert_eq!(v["eventID"], e.event_id.as_str());
            assert_eq!(v["awsRegion"], "eu-west-1");
            assert_eq!(v["eventName"], e.event_name.as_str());
        }
    }
}
