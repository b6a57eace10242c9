//! The `trails` stream: an inventory of every trail visible from the configured regions
//! (DescribeTrails with shadow trails), each joined with its status, event selectors and Insights
//! selectors — where its logs go, and what it records.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::Trail;
use schemars::JsonSchema;
use serde::Serialize;

use super::checkpoint::Checkpointer;
use super::saved_state::NoState;
use super::{catalog_entry, ReadContext, ReadFuture, ReadReport, Stream};
use crate::aws::call::RetryBudget;
use crate::aws::{Quota, RegionClient};
use crate::emit::{Emitter, LogLevel, RecordBatch};
use crate::error::{AwsFailure, Error};
use crate::protocol::AirbyteStream;
use crate::schema::schema_for;
use crate::time::now_millis;

pub const NAME: &str = "trails";

/// The inventory stream: full refresh only (PyAirbyte asks for incremental; it is read whole
/// anyway), so it keeps no state and is not resumable.
pub struct Trails;

pub static TRAILS: Trails = Trails;

impl Stream for Trails {
    type State = NoState;

    fn name(&self) -> &'static str {
        NAME
    }

    fn catalog_entry(&self) -> AirbyteStream {
        catalog_entry(NAME, schema_for::<TrailRecord>(), "TrailArn", None, false)
    }

    fn read(
        &'static self,
        context: Arc<ReadContext>,
        state: NoState,
        mut checkpointer: Checkpointer,
    ) -> ReadFuture {
        Box::pin(async move {
            let connection = match context.cloudtrail().await {
                Ok(c) => c,
                Err(e) => return ReadReport::failed(e),
            };
            let (n, mut errors) = read(&connection.clients, &context.emitter).await;
            errors.extend(
                connection
                    .unreadable
                    .iter()
                    .map(|e| e.clone().for_stream(NAME)),
            );
            // Full refresh: the state only marks the stream as synced, as the protocol expects.
            checkpointer.write(&state);
            ReadReport {
                summary: Some(format!("{NAME}: {n} trails")),
                errors,
            }
        })
    }
}

/// One CloudTrail trail, as seen from the configured regions.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct TrailRecord {
    /// The trail's ARN (the primary key).
    pub trail_arn: String,
    pub name: Option<String>,
    /// The region the trail was created in.
    pub home_region: Option<String>,
    /// The configured regions that see the trail (its home region, and others as a shadow of a
    /// multi-region trail).
    pub visible_from_regions: Vec<String>,
    pub is_multi_region_trail: Option<bool>,
    pub is_organization_trail: Option<bool>,
    pub include_global_service_events: Option<bool>,
    /// The bucket the trail delivers its log files to.
    pub s3_bucket_name: Option<String>,
    /// The key prefix before `AWSLogs/` in that bucket.
    pub s3_key_prefix: Option<String>,
    /// Where the log files are: `s3://bucket/[prefix/]AWSLogs/` (what `trail_logs` reads).
    pub log_files_location: Option<String>,
    pub log_file_validation_enabled: Option<bool>,
    pub kms_key_id: Option<String>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub sns_topic_arn: Option<String>,
    pub has_custom_event_selectors: Option<bool>,
    pub has_insight_selectors: Option<bool>,
    /// From GetTrailStatus: whether the trail is recording now.
    pub is_logging: Option<bool>,
    /// Epoch seconds of the last log file delivered to S3.
    pub latest_delivery_time: Option<f64>,
    /// The error of the last failed delivery to S3 (e.g. AccessDenied on the bucket).
    pub latest_delivery_error: Option<String>,
    pub latest_digest_delivery_time: Option<f64>,
    pub latest_digest_delivery_error: Option<String>,
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
    pub start_logging_time: Option<f64>,
    pub stop_logging_time: Option<f64>,
    /// Basic event selectors (GetEventSelectors).
    pub event_selectors: Option<Vec<EventSelectorRecord>>,
    /// Advanced event selectors (GetEventSelectors).
    pub advanced_event_selectors: Option<Vec<AdvancedSelectorRecord>>,
    /// Whether Insights are enabled on the trail (GetInsightSelectors).
    pub insights_enabled: Option<bool>,
    /// The Insights types enabled, e.g. ApiCallRateInsight.
    pub insight_types: Option<Vec<String>>,
    /// What could not be read for this trail and why (e.g. a missing permission); empty when
    /// the record is complete.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelectorRecord {
    pub read_write_type: Option<String>,
    pub include_management_events: Option<bool>,
    pub data_resources: Vec<DataResourceRecord>,
    pub exclude_management_event_sources: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DataResourceRecord {
    pub r#type: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedSelectorRecord {
    pub name: Option<String>,
    pub field_selectors: Vec<FieldSelectorRecord>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FieldSelectorRecord {
    pub field: String,
    pub equals: Vec<String>,
    pub starts_with: Vec<String>,
    pub ends_with: Vec<String>,
    pub not_equals: Vec<String>,
    pub not_starts_with: Vec<String>,
    pub not_ends_with: Vec<String>,
}

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(DateTime::as_secs_f64)
}

fn strings(v: &[String]) -> Vec<String> {
    v.to_vec()
}

impl TrailRecord {
    fn from_trail(t: &Trail, arn: String) -> TrailRecord {
        let location = t.s3_bucket_name().map(|b| match t.s3_key_prefix() {
            Some(p) if !p.is_empty() => format!("s3://{b}/{}/AWSLogs/", p.trim_end_matches('/')),
            _ => format!("s3://{b}/AWSLogs/"),
        });
        TrailRecord {
            trail_arn: arn,
            name: t.name().map(String::from),
            home_region: t.home_region().map(String::from),
            visible_from_regions: vec![],
            is_multi_region_trail: t.is_multi_region_trail(),
            is_organization_trail: t.is_organization_trail(),
            include_global_service_events: t.include_global_service_events(),
            s3_bucket_name: t.s3_bucket_name().map(String::from),
            s3_key_prefix: t.s3_key_prefix().map(String::from),
            log_files_location: location,
            log_file_validation_enabled: t.log_file_validation_enabled(),
            kms_key_id: t.kms_key_id().map(String::from),
            cloud_watch_logs_log_group_arn: t.cloud_watch_logs_log_group_arn().map(String::from),
            sns_topic_arn: t.sns_topic_arn().map(String::from),
            has_custom_event_selectors: t.has_custom_event_selectors(),
            has_insight_selectors: t.has_insight_selectors(),
            is_logging: None,
            latest_delivery_time: None,
            latest_delivery_error: None,
            latest_digest_delivery_time: None,
            latest_digest_delivery_error: None,
            latest_cloud_watch_logs_delivery_error: None,
            start_logging_time: None,
            stop_logging_time: None,
            event_selectors: None,
            advanced_event_selectors: None,
            insights_enabled: None,
            insight_types: None,
            unreadable: vec![],
        }
    }
}

/// Reads the inventory of every region (of every account); returns the number of records and
/// the failures. DescribeTrails failing in a region (of an account) fails the stream after the
/// others are read; a trail whose status or selectors cannot be read is still emitted, with the
/// gap named in `Unreadable` and a LOG warning.
pub async fn read(clients: &[RegionClient], emitter: &Emitter) -> (u64, Vec<Error>) {
    let mut trails: BTreeMap<String, (TrailRecord, usize)> = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let request = client.client.describe_trails().include_shadow_trails(true);
        let out = match client
            .call("DescribeTrails", Quota::Control, RetryBudget::SYNC, || {
                request.clone().send()
            })
            .await
        {
            Ok(out) => out,
            Err(f) => {
                errors.push(Error::aws(f).for_stream(NAME));
                continue;
            }
        };
        for t in out.trail_list() {
            let Some(arn) = t.trail_arn() else { continue };
            let home = t.home_region().unwrap_or_default();
            let entry = trails
                .entry(arn.to_string())
                .or_insert_with(|| (TrailRecord::from_trail(t, arn.to_string()), i));
            // An organization trail is seen from every member account: each region once.
            if !entry.0.visible_from_regions.contains(&client.region) {
                entry.0.visible_from_regions.push(client.region.clone());
            }
            // Ask the trail's home region (in the account that owns it) when it is configured:
            // it knows the trail first-hand.
            let owner = arn.split(':').nth(4);
            if client.region == home && client.account.as_deref().is_none_or(|a| Some(a) == owner) {
                entry.1 = i;
            }
        }
    }
    let mut count = 0;
    for (arn, (mut record, i)) in trails {
        let client = &clients[i];
        let mut gap = |f: AwsFailure| {
            let text = format!("{}: {f}", f.call);
            emitter.log(LogLevel::Warn, &format!("{NAME}: {arn}: {text}"));
            record.unreadable.push(text);
        };

        let request = client.client.get_trail_status().name(&arn);
        match client
            .call("GetTrailStatus", Quota::Control, RetryBudget::SYNC, || {
                request.clone().send()
            })
            .await
        {
            Ok(s) => {
                record.is_logging = s.is_logging();
                record.latest_delivery_time = secs(s.latest_delivery_time());
                record.latest_delivery_error = s.latest_delivery_error().map(String::from);
                record.latest_digest_delivery_time = secs(s.latest_digest_delivery_time());
                record.latest_digest_delivery_error =
                    s.latest_digest_delivery_error().map(String::from);
                record.latest_cloud_watch_logs_delivery_error =
                    s.latest_cloud_watch_logs_delivery_error().map(String::from);
                record.start_logging_time = secs(s.start_logging_time());
                record.stop_logging_time = secs(s.stop_logging_time());
            }
            Err(f) => gap(f),
        }

        let request = client.client.get_event_selectors().trail_name(&arn);
        match client
            .call(
                "GetEventSelectors",
                Quota::Control,
                RetryBudget::SYNC,
                || request.clone().send(),
            )
            .await
        {
            Ok(s) => {
                record.event_selectors = Some(
                    s.event_selectors()
                        .iter()
                        .map(|e| EventSelectorRecord {
                            read_write_type: e.read_write_type().map(|r| r.as_str().to_string()),
                            include_management_events: e.include_management_events(),
                            data_resources: e
                                .data_resources()
                                .iter()
                                .map(|d| DataResourceRecord {
                                    r#type: d.r#type().map(String::from),
                                    values: strings(d.values()),
                                })
                                .collect(),
                            exclude_management_event_sources: strings(
                                e.exclude_management_event_sources(),
                            ),
                        })
                        .collect(),
                );
                record.advanced_event_selectors = Some(
                    s.advanced_event_selectors()
                        .iter()
                        .map(|a| AdvancedSelectorRecord {
                            name: a.name().map(String::from),
                            field_selectors: a
                                .field_selectors()
                                .iter()
                                .map(|f| FieldSelectorRecord {
                                    field: f.field().to_string(),
                                    equals: strings(f.equals()),
                                    starts_with: strings(f.starts_with()),
                                    ends_with: strings(f.ends_with()),
                                    not_equals: strings(f.not_equals()),
                                    not_starts_with: strings(f.not_starts_with()),
                                    not_ends_with: strings(f.not_ends_with()),
                                })
                                .collect(),
                        })
                        .collect(),
                );
            }
            Err(f) => gap(f),
        }

        let request = client.client.get_insight_selectors().trail_name(&arn);
        match client
            .call(
                "GetInsightSelectors",
                Quota::Control,
                RetryBudget::SYNC,
                || request.clone().send(),
            )
            .await
        {
            Ok(s) => {
                record.insights_enabled = Some(true);
                record.insight_types = Some(
                    s.insight_selectors()
                        .iter()
                        .filter_map(|i| i.insight_type().map(|t| t.as_str().to_string()))
                        .collect(),
                );
            }
            Err(f) if f.code.as_deref() == Some("InsightNotEnabledException") => {
                record.insights_enabled = Some(false);
                record.insight_types = Some(vec![]);
            }
            Err(f) => gap(f),
        }

        let mut batch = RecordBatch::new(NAME);
        if let Err(e) = batch.push(&record, now_millis()) {
            errors.push(Error::Internal(e.to_string()));
            break;
        }
        emitter.records(&mut batch);
        count += 1;
    }
    (count, errors)
}
