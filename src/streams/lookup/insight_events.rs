//! The `insight_events` record: a CloudTrail Insights event from LookupEvents
//! (`EventCategory=insight`), its `insightDetails` flattened beside the raw `CloudTrailEvent`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Serialize;

use super::columns::LookupColumns;
use super::record::Column;

pub const NAME: &str = "insight_events";

/// A CloudTrail Insights event: unusual API call or error rates, with their baseline.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct InsightEvent<'a> {
    /// The columns LookupEvents gives every event (`EventName`, `EventSource`: the API the
    /// insight is about; `EventTime`: when it started or ended, the cursor).
    #[serde(flatten)]
    pub lookup: LookupColumns<'a>,

    /// `insightDetails.insightType`: ApiCallRateInsight or ApiErrorRateInsight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_type: Option<Cow<'a, str>>,
    /// `insightDetails.state`: Start or End.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_state: Option<Cow<'a, str>>,
    /// `insightDetails.errorCode`: the error whose rate is unusual (ApiErrorRateInsight).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_error_code: Option<Cow<'a, str>>,
    /// `insightContext.statistics.baseline.average`: usual calls (or errors) per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_average: Option<f64>,
    /// `insightContext.statistics.insight.average`: calls (or errors) per minute during the insight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_average: Option<f64>,
    /// `insightContext.statistics.baselineDuration`, minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_duration: Option<f64>,
    /// `insightContext.statistics.insightDuration`, minutes (on End events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_duration: Option<f64>,
    /// `sharedEventID`: the same for the Start and End events of one insight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<Cow<'a, str>>,
    /// `awsRegion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<Cow<'a, str>>,
    /// `recipientAccountId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `eventType`: AwsCloudTrailInsight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Cow<'a, str>>,
    /// `eventCategory`: Insight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_category: Option<Cow<'a, str>>,
    /// `eventVersion`, as written in the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_version: Option<Cow<'a, str>>,
}

/// Where `InsightEvent`'s flattened columns are in the record, in its order.
pub static COLUMNS: &[Column] = &[
    Column::text("InsightType", &["insightDetails", "insightType"]),
    Column::text("InsightState", &["insightDetails", "state"]),
    Column::text("InsightErrorCode", &["insightDetails", "errorCode"]),
    Column::number(
        "BaselineAverage",
        &[
            "insightDetails",
            "insightContext",
            "statistics",
            "baseline",
            "average",
        ],
    ),
    Column::number(
        "InsightAverage",
        &[
            "insightDetails",
            "insightContext",
            "statistics",
            "insight",
            "average",
        ],
    ),
    Column::number(
        "BaselineDuration",
        &[
            "insightDetails",
            "insightContext",
            "statistics",
            "baselineDuration",
        ],
    ),
    Column::number(
        "InsightDuration",
        &[
            "insightDetails",
            "insightContext",
            "statistics",
            "insightDuration",
        ],
    ),
    Column::text("SharedEventId", &["sharedEventID"]),
    Column::text("AwsRegion", &["awsRegion"]),
    Column::text("RecipientAccountId", &["recipientAccountId"]),
    Column::text("EventType", &["eventType"]),
    Column::text("EventCategory", &["eventCategory"]),
    Column::text("EventVersion", &["eventVersion"]),
];
