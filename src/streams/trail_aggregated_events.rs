//! The `trail_aggregated_events` stream: every aggregated data event a trail delivered to its
//! `CloudTrail-Aggregated/` folders in S3 (5-minute summaries of data events by the templates
//! API_ACTIVITY, RESOURCE_ACCESS, USER_ACTIONS), under the record's native field names (note
//! `eventId`), plus where it was read from.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::trail_logs::{EventFolderStream, LogFileColumns};
use crate::schema::{schema_for, NestedJson, Timestamp};

pub const NAME: &str = "trail_aggregated_events";

pub static TRAIL_AGGREGATED_EVENTS: EventFolderStream = EventFolderStream {
    name: NAME,
    kinds: &["CloudTrail-Aggregated"],
    schema,
    primary_key: "eventId",
    filtered: false,
    log: OnceLock::new(),
};

pub fn schema() -> Value {
    schema_for::<TrailAggregatedEvent>()
}

/// One aggregated event from a trail's log files, with the file it came from.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct TrailAggregatedEvent {
    /// Version of the record format (e.g. "1.0").
    pub event_version: Option<String>,
    /// The account that received the summarised events.
    pub account_id: Option<String>,
    /// The event's id: the key (`eventId`, not `eventID`, in these records).
    pub event_id: Option<String>,
    /// `Aggregated`.
    pub event_category: Option<String>,
    /// `AwsAggregatedEvent`.
    pub event_type: Option<String>,
    /// The region of the summarised events.
    pub aws_region: Option<String>,
    /// The service whose data events are summarised.
    pub event_source: Option<String>,
    /// The interval summarised.
    pub time_window: Option<TimeWindow>,
    /// The summary: by the template's primary dimension, with further dimensions.
    pub summary: Option<AggregateSummary>,
    #[serde(flatten)]
    pub log_file: LogFileColumns,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct TimeWindow {
    /// Start of the window, inclusive (UTC).
    pub window_start: Option<Timestamp>,
    /// End of the window, exclusive (UTC).
    pub window_end: Option<Timestamp>,
    /// ISO 8601 duration, e.g. `PT5M`.
    pub window_size: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct AggregateSummary {
    /// `API_ACTIVITY`, `RESOURCE_ACCESS` or `USER_ACTIONS`, when given.
    pub template_name: Option<String>,
    /// The main dimension (`eventName`, `resourceARN`, `userIdentity`) with its value and
    /// statistics, as any JSON.
    #[serde(default)]
    pub primary_dimension: NestedJson,
    /// Further dimensions (user agent, source IP, error codes…), as any JSON.
    #[serde(default)]
    pub details: NestedJson,
}
