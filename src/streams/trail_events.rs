//! The `trail_events` stream: every event of a trail's `CloudTrail/` log folders in S3. Its
//! record is a CloudTrail record under its native field names, stable fields typed, polymorphic
//! ones as any JSON, plus where it was read from. Only the record's schema is used at run time:
//! records pass through as the bytes they arrived in, checked against this schema.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::Value;

use super::trail_logs::scan::Shape;
use super::trail_logs::{self, LogStream, TrailState};
use super::{catalog_entry, ReadContext, ReadReport, Stream, StreamRead};
use crate::protocol::{AirbyteStream, SyncMode};
use crate::schema::schema_for;

pub const NAME: &str = "trail_events";

pub struct TrailEvents;

pub static TRAIL_EVENTS: TrailEvents = TrailEvents;

pub fn schema() -> Value {
    schema_for::<TrailEvent>()
}

/// The stream as the log-folder reader needs it; the shape is derived from the schema once.
fn log_stream() -> &'static LogStream {
    static STREAM: OnceLock<LogStream> = OnceLock::new();
    STREAM.get_or_init(|| LogStream {
        name: NAME,
        shape: Arc::new(Shape::from_schema(&schema()).reserving(&trail_logs::PROVENANCE_COLUMNS)),
    })
}

impl Stream for TrailEvents {
    fn name(&self) -> &'static str {
        NAME
    }

    fn catalog_entry(&self) -> AirbyteStream {
        catalog_entry(NAME, schema(), "eventID", Some("logFileKey"), true)
    }

    fn prepare(
        &'static self,
        context: &Arc<ReadContext>,
        mode: SyncMode,
        saved: Option<&Value>,
    ) -> Result<StreamRead, String> {
        let state = saved.map(TrailState::from_json).transpose()?;
        let state = match (mode, state) {
            (SyncMode::Incremental, Some(s)) => TrailState {
                full_refresh: false,
                ..s
            },
            // Only an interrupted full refresh's own state is resumed.
            (SyncMode::FullRefresh, Some(s)) if s.full_refresh => s,
            (mode, _) => TrailState {
                full_refresh: mode == SyncMode::FullRefresh,
                ..TrailState::default()
            },
        };
        let context = context.clone();
        Ok(Box::pin(async move {
            let (logs, bucket) = match context.bucket().await {
                Ok(b) => b,
                Err(e) => return ReadReport::failed(e),
            };
            match trail_logs::read(log_stream(), bucket, logs, state, &context.emitter).await {
                Ok(read) => ReadReport {
                    summary: Some(format!(
                        "{NAME}: {} records from {} files ({} MB of JSON); {} files skipped, {} unreadable records skipped",
                        read.records,
                        read.files,
                        read.uncompressed_bytes / 1_000_000,
                        read.skipped_files,
                        read.skipped_records
                    )),
                    errors: vec![],
                },
                Err(errors) => ReadReport {
                    summary: None,
                    errors,
                },
            }
        }))
    }
}

/// A value kept as the JSON it is, whatever its shape (object, string, null…).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct AnyJson(serde_json::Value);

impl JsonSchema for AnyJson {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "AnyJson".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({})
    }
}

/// A timestamp as CloudTrail writes it (`2024-05-01T12:00:00Z`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct Timestamp(String);

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"})
    }
}

/// One CloudTrail event from a trail's log files in S3, with the file it came from.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct TrailEvent {
    /// Version of the record format (e.g. "1.10").
    pub event_version: Option<String>,
    /// Who made the request.
    pub user_identity: Option<UserIdentity>,
    /// When the request was made (UTC).
    pub event_time: Option<Timestamp>,
    /// The service called, e.g. `s3.amazonaws.com`.
    pub event_source: Option<String>,
    /// The action, e.g. `GetObject`.
    pub event_name: Option<String>,
    /// The region the request was made in.
    pub aws_region: Option<String>,
    /// The caller's IP address, or the calling service's name.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Set when the request failed.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The request's parameters, as any JSON (its shape depends on the call).
    pub request_parameters: Option<AnyJson>,
    /// The response, as any JSON (its shape depends on the call).
    pub response_elements: Option<AnyJson>,
    /// Data the service added, as any JSON.
    pub additional_event_data: Option<AnyJson>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    /// The event's unique id.
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    pub read_only: Option<bool>,
    /// The resources the request touched.
    pub resources: Option<Vec<Resource>>,
    /// AwsApiCall, AwsServiceEvent, AwsConsoleAction, AwsConsoleSignIn, AwsVpceEvent…
    pub event_type: Option<String>,
    pub api_version: Option<String>,
    pub management_event: Option<bool>,
    /// The account that received the event.
    pub recipient_account_id: Option<String>,
    /// Shared by the copies of one event delivered to several accounts.
    #[serde(rename = "sharedEventID")]
    pub shared_event_id: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    pub vpc_endpoint_account_id: Option<String>,
    /// Details of a service event, as any JSON.
    pub service_event_details: Option<AnyJson>,
    /// Management, Data, NetworkActivity or Insight.
    pub event_category: Option<String>,
    pub tls_details: Option<TlsDetails>,
    /// Whether console credentials were used ("true"/"false"), as written.
    pub session_credential_from_console: Option<AnyJson>,
    /// Outposts and edge devices, as any JSON.
    pub edge_device_details: Option<AnyJson>,
    /// Why and how a late or corrected event was delivered, as any JSON.
    pub addendum: Option<AnyJson>,
    /// Insights details, as any JSON.
    pub insight_details: Option<AnyJson>,

    /// The bucket the log file was read from.
    pub log_file_bucket: String,
    /// The log file's S3 key.
    pub log_file_key: String,
    /// The account of the log file's path.
    pub log_file_account_id: String,
    /// The region of the log file's path.
    pub log_file_region: String,
    /// The organization of the path, for an organization trail.
    pub log_file_organization_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct UserIdentity {
    /// Root, IAMUser, AssumedRole, Role, FederatedUser, AWSAccount, AWSService, IdentityCenterUser…
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    /// The AWS service that made the request.
    pub invoked_by: Option<String>,
    pub identity_provider: Option<String>,
    pub credential_id: Option<String>,
    pub session_context: Option<SessionContext>,
    /// As any JSON.
    pub on_behalf_of: Option<AnyJson>,
    /// As any JSON.
    pub in_scope_of: Option<AnyJson>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    /// As any JSON.
    pub web_id_federation_data: Option<AnyJson>,
    pub attributes: Option<SessionAttributes>,
    pub source_identity: Option<String>,
    pub ec2_role_delivery: Option<String>,
    /// As any JSON.
    pub assumed_root: Option<AnyJson>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct SessionIssuer {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct SessionAttributes {
    /// "true" or "false", as written.
    pub mfa_authenticated: Option<String>,
    pub creation_date: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct Resource {
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct TlsDetails {
    pub tls_version: Option<String>,
    pub cipher_suite: Option<String>,
    pub client_provided_host_header: Option<String>,
    pub key_exchange: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::trail_logs::{provenance, LogFolder};

    #[test]
    fn the_schema_has_the_native_names_and_no_names_differing_by_case() {
        let s = schema();
        fn walk(v: &Value, path: &str) {
            if let Some(props) = v.get("properties").and_then(Value::as_object) {
                let mut lower: Vec<String> = props.keys().map(|k| k.to_lowercase()).collect();
                lower.sort();
                let n = lower.len();
                lower.dedup();
                assert_eq!(lower.len(), n, "names differing by case under {path}");
                for (k, p) in props {
                    walk(p, &format!("{path}.{k}"));
                }
            }
            if let Some(items) = v.get("items") {
                walk(items, path);
            }
        }
        walk(&s, "");
        for name in [
            "eventTime",
            "eventID",
            "userIdentity",
            "requestParameters",
            "sourceIPAddress",
            "logFileKey",
        ] {
            assert!(s["properties"].get(name).is_some(), "{name}");
        }
        assert_eq!(s["properties"]["requestParameters"].get("type"), None);
        assert_eq!(s["properties"]["eventTime"]["format"], "date-time");
        assert!(matches!(*log_stream().shape, Shape::Object(_)));
    }

    #[test]
    fn generated_records_fit_the_record_type_exactly() {
        let mut rng = cloudtrail_emulator::records::Rng::new(9);
        for i in 0..300 {
            let (_, text) = cloudtrail_emulator::trail_logs::trail_record(
                &mut rng,
                "111122223333",
                "eu-west-1",
                1_764_000_000 + i,
                0.05,
            );
            let mut v: Value = serde_json::from_str(&text).unwrap();
            let obj = v.as_object_mut().unwrap();
            for (k, val) in provenance(
                "b",
                &LogFolder {
                    path: "AWSLogs/111122223333/CloudTrail/eu-west-1/".into(),
                    organization_id: None,
                    account: "111122223333".into(),
                    region: "eu-west-1".into(),
                },
                "k",
            )
            .as_object()
            .unwrap()
            {
                obj.insert(k.clone(), val.clone());
            }
            // deny_unknown_fields: every generated field is a schema column.
            serde_json::from_value::<TrailEvent>(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
            assert_eq!(log_stream().shape.coerce(&mut v), 0, "{v}");
        }
    }
}
