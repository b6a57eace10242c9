//! The `trail_insight_events` stream: every Insights event a trail delivered to its
//! `CloudTrail-Insight/` folders in S3 (unusual call or error rates, each insight a `Start` and
//! an `End` record), under the record's native field names, plus where it was read from.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::trail_logs::{EventFolderStream, LogFileColumns};
use crate::schema::{schema_for, NestedJson, Timestamp};

pub const NAME: &str = "trail_insight_events";

pub static TRAIL_INSIGHT_EVENTS: EventFolderStream = EventFolderStream {
    name: NAME,
    kinds: &["CloudTrail-Insight"],
    schema,
    primary_key: "eventID",
    filtered: false,
    log: OnceLock::new(),
};

pub fn schema() -> Value {
    schema_for::<TrailInsightEvent>()
}

/// One CloudTrail Insights event from a trail's log files, with the file it came from.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct TrailInsightEvent {
    /// Version of the record format (e.g. "1.08").
    pub event_version: Option<String>,
    /// When the insight started or ended (UTC).
    pub event_time: Option<Timestamp>,
    pub aws_region: Option<String>,
    /// The event's id: the key.
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    /// `AwsCloudTrailInsight`.
    pub event_type: Option<String>,
    pub recipient_account_id: Option<String>,
    /// The same on the `Start` and the `End` record of one insight.
    #[serde(rename = "sharedEventID")]
    pub shared_event_id: Option<String>,
    /// `Insight`.
    pub event_category: Option<String>,
    /// What was unusual, and how much.
    pub insight_details: Option<InsightDetails>,
    #[serde(flatten)]
    pub log_file: LogFileColumns,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct InsightDetails {
    /// `Start` or `End`.
    pub state: Option<String>,
    /// The service whose API the insight is about.
    pub event_source: Option<String>,
    /// The API the insight is about.
    pub event_name: Option<String>,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: Option<String>,
    /// The error code, for an `ApiErrorRateInsight`.
    pub error_code: Option<String>,
    pub insight_context: Option<InsightContext>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct InsightContext {
    pub statistics: Option<InsightStatistics>,
    /// Who and what contributed (user identity, user agent, error code), as any JSON.
    #[serde(default)]
    pub attributions: NestedJson,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct InsightStatistics {
    /// The usual rate (calls or errors per minute).
    pub baseline: Option<Average>,
    /// The rate during the insight.
    pub insight: Option<Average>,
    /// Minutes the insight lasted (on `End`).
    pub insight_duration: Option<f64>,
    /// Minutes of history the baseline covers.
    pub baseline_duration: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct Average {
    pub average: Option<f64>,
}
