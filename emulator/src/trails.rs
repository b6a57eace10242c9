//! The emulator's trails: DescribeTrails (with shadow trails), GetTrailStatus, GetEventSelectors
//! and GetInsightSelectors over a realistic set — a multi-region trail with Insights, an
//! organization trail with advanced (data event) selectors, and a single-region trail whose
//! delivery fails.

use serde_json::{json, Value};

use crate::records::{iso8601, ACCOUNT};
use crate::store::ApiError;

#[derive(Debug, Clone)]
pub struct Trail {
    pub name: &'static str,
    pub home_region: &'static str,
    pub multi_region: bool,
    pub organization: bool,
    pub bucket: &'static str,
    pub prefix: Option<&'static str>,
    pub logging: bool,
    pub delivery_error: Option<&'static str>,
    pub insights: bool,
    pub advanced_selectors: bool,
}

impl Trail {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{ACCOUNT}:trail/{}",
            self.home_region, self.name
        )
    }
}

/// The trails of the emulated account.
pub fn trails() -> Vec<Trail> {
    vec![
        Trail {
            name: "management-events",
            home_region: "us-east-1",
            multi_region: true,
            organization: false,
            bucket: "acme-cloudtrail-logs",
            prefix: Some("mgmt"),
            logging: true,
            delivery_error: None,
            insights: true,
            advanced_selectors: false,
        },
        Trail {
            name: "organization-trail",
            home_region: "us-east-1",
            multi_region: true,
            organization: true,
            bucket: "acme-org-log-archive",
            prefix: None,
            logging: true,
            delivery_error: None,
            insights: false,
            advanced_selectors: true,
        },
        Trail {
            name: "eu-audit",
            home_region: "eu-west-1",
            multi_region: false,
            organization: false,
            bucket: "acme-eu-audit",
            prefix: Some("audit/eu"),
            logging: false,
            delivery_error: Some("AccessDenied"),
            insights: false,
            advanced_selectors: false,
        },
    ]
}

fn describe(t: &Trail) -> Value {
    let mut v = json!({
        "Name": t.name,
        "S3BucketName": t.bucket,
        "IncludeGlobalServiceEvents": t.multi_region,
        "IsMultiRegionTrail": t.multi_region,
        "HomeRegion": t.home_region,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": true,
        "HasCustomEventSelectors": t.advanced_selectors,
        "HasInsightSelectors": t.insights,
        "IsOrganizationTrail": t.organization,
    });
    if let Some(p) = t.prefix {
        v["S3KeyPrefix"] = json!(p);
    }
    if t.organization {
        v["KmsKeyId"] = json!(format!(
            "arn:aws:kms:us-east-1:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-000000000001"
        ));
        v["CloudWatchLogsLogGroupArn"] = json!(format!(
            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:org-trail:*"
        ));
    }
    v
}

/// Finds the trail a `Name`/`TrailName` designates when asked in `region`: an ARN anywhere, a
/// plain name only in the trail's home region (as AWS requires for shadow trails).
fn find(region: &str, name: &str) -> Result<Trail, ApiError> {
    trails()
        .into_iter()
        .find(|t| t.arn() == name || (t.name == name && t.home_region == region))
        .ok_or_else(|| ApiError {
            code: "TrailNotFoundException",
            message: format!("Unknown trail: {name} for the user: {ACCOUNT}"),
        })
}

fn name_param<'a>(body: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError {
            code: "InvalidTrailNameException",
            message: format!("{key} is required"),
        })
}

/// Answers one trail operation asked in `region`.
pub fn answer(
    operation: &str,
    region: &str,
    body: &Value,
    now: i64,
) -> Option<Result<String, ApiError>> {
    let result = match operation {
        "DescribeTrails" => {
            let shadows = body.get("includeShadowTrails").and_then(Value::as_bool).unwrap_or(true);
            // trailNameList: names of trails visible here, or ARNs of any trail.
            let names: Option<Vec<&str>> = body
                .get("trailNameList")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .map(|l| l.iter().filter_map(Value::as_str).collect());
            let list: Vec<Value> = trails()
                .iter()
                .filter(|t| match &names {
                    Some(names) => names.iter().any(|n| *n == t.arn() || *n == t.name),
                    None => true,
                })
                .filter(|t| t.home_region == region || (shadows && t.multi_region))
                .map(describe)
                .collect();
            Ok(json!({ "trailList": list }))
        }
        "GetTrailStatus" => name_param(body, "Name").and_then(|n| find(region, n)).map(|t| {
            let started = now - 90 * 86_400;
            let mut v = json!({
                "IsLogging": t.logging,
                "LatestDeliveryTime": (now - 300) as f64,
                "LatestDigestDeliveryTime": (now - 1800) as f64,
                "StartLoggingTime": started as f64,
                "TimeLoggingStarted": iso8601(started),
            });
            if !t.logging {
                v["StopLoggingTime"] = json!((now - 86_400) as f64);
            }
            if let Some(e) = t.delivery_error {
                v["LatestDeliveryError"] = json!(e);
                v["LatestDeliveryAttemptSucceeded"] = json!("");
            }
            v
        }),
        "GetEventSelectors" => name_param(body, "TrailName").and_then(|n| find(region, n)).map(|t| {
            if t.advanced_selectors {
                json!({"TrailARN": t.arn(), "AdvancedEventSelectors": [
                    {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
                    {"Name": "S3 data events", "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}
                ]})
            } else {
                json!({"TrailARN": t.arn(), "EventSelectors": [
                    {"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}
                ]})
            }
        }),
        "GetInsightSelectors" => name_param(body, "TrailName").and_then(|n| find(region, n)).and_then(|t| {
            if t.insights {
                Ok(json!({"TrailARN": t.arn(), "InsightSelectors": [
                    {"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]}))
            } else {
                Err(ApiError {
                    code: "InsightNotEnabledException",
                    message: format!("Trail {} does not have Insights enabled.", t.arn()),
                })
            }
        }),
        _ => return None,
    };
    Some(result.map(|v| v.to_string()))
}
