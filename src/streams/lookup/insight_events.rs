//! The `insight_events` record: a CloudTrail Insights event from LookupEvents
//! (`EventCategory=insight`), its `insightDetails` flattened beside the raw `CloudTrailEvent`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::columns::LookupColumns;
use super::lenient::{parse_record, Lenient, Number, Text, UnparsableRecord};
use super::page::PageEvent;

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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InsightRecord<'a> {
    #[serde(borrow, default)]
    aws_region: Text<'a>,
    #[serde(borrow, default)]
    recipient_account_id: Text<'a>,
    #[serde(borrow, default, rename = "sharedEventID")]
    shared_event_id: Text<'a>,
    #[serde(borrow, default)]
    event_type: Text<'a>,
    #[serde(borrow, default)]
    event_category: Text<'a>,
    #[serde(borrow, default)]
    event_version: Text<'a>,
    #[serde(borrow, default)]
    insight_details: Lenient<InsightDetails<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InsightDetails<'a> {
    #[serde(borrow, default)]
    insight_type: Text<'a>,
    #[serde(borrow, default)]
    state: Text<'a>,
    #[serde(borrow, default)]
    error_code: Text<'a>,
    #[serde(default)]
    insight_context: Lenient<InsightContext>,
}

#[derive(Debug, Default, Deserialize)]
struct InsightContext {
    #[serde(default)]
    statistics: Lenient<Statistics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statistics {
    #[serde(default)]
    baseline: Lenient<Average>,
    #[serde(default)]
    insight: Lenient<Average>,
    #[serde(default)]
    baseline_duration: Number,
    #[serde(default)]
    insight_duration: Number,
}

#[derive(Debug, Default, Deserialize)]
struct Average {
    #[serde(default)]
    average: Number,
}

impl<'a> InsightEvent<'a> {
    /// Builds the record of one LookupEvents Insights event; the flattened columns stay null,
    /// and the record still goes out, when `CloudTrailEvent` is not a JSON object.
    /// `text` is the content of `CloudTrailEvent` (unescaped).
    pub fn from_event(
        e: &'a PageEvent<'_>,
        text: Option<&'a str>,
    ) -> (Self, Option<UnparsableRecord>) {
        let (r, problem) = parse_record::<InsightRecord<'a>>(text);
        let details = r.insight_details.0;
        let stats = details.insight_context.0.statistics.0;
        let record = InsightEvent {
            lookup: LookupColumns::from_event(e),
            insight_type: details.insight_type.0,
            insight_state: details.state.0,
            insight_error_code: details.error_code.0,
            baseline_average: stats.baseline.0.average.0,
            insight_average: stats.insight.0.average.0,
            baseline_duration: stats.baseline_duration.0,
            insight_duration: stats.insight_duration.0,
            shared_event_id: r.shared_event_id.0,
            aws_region: r.aws_region.0,
            recipient_account_id: r.recipient_account_id.0,
            event_type: r.event_type.0,
            event_category: r.event_category.0,
            event_version: r.event_version.0,
        };
        (record, problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::lookup::page::Page;
    use serde_json::json;

    #[test]
    fn flattens_insight_details() {
        let record = json!({
            "eventVersion": "1.08", "awsRegion": "us-east-1", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight",
            "sharedEventID": "s-1", "recipientAccountId": "123",
            "insightDetails": {"state": "End", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
                "insightType": "ApiErrorRateInsight", "errorCode": "AccessDenied",
                "insightContext": {"statistics": {"baseline": {"average": 0.0088}, "insight": {"average": 0.6},
                    "insightDuration": 3, "baselineDuration": 11636}}}
        })
        .to_string();
        let body = json!({"Events": [{"EventId": "i-1", "EventName": "RunInstances",
            "EventTime": 1_700_000_000.0, "CloudTrailEvent": record}]})
        .to_string();
        let page = Page::parse(body.as_bytes()).unwrap();
        let e = &page.events()[0];
        let mut scratch = String::new();
        let text = e.cloud_trail_event.map(|j| j.text_in(&mut scratch));
        let (r, problem) = InsightEvent::from_event(e, text);
        assert!(problem.is_none());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["InsightType"], "ApiErrorRateInsight");
        assert_eq!(v["InsightState"], "End");
        assert_eq!(v["InsightErrorCode"], "AccessDenied");
        assert_eq!(v["BaselineAverage"], 0.0088);
        assert_eq!(v["InsightAverage"], 0.6);
        assert_eq!(v["InsightDuration"], 3.0);
        assert_eq!(v["BaselineDuration"], 11636.0);
        assert_eq!(v["SharedEventId"], "s-1");
    }
}
