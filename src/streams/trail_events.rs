//! The `trail_events` stream: every event of a trail's `CloudTrail/` (management and data
//! events) and `CloudTrail-NetworkActivity/` log folders in S3. Its
//! record is a CloudTrail record under its native field names, stable fields typed, polymorphic
//! ones as any JSON (see `AnyJson`), plus where it was read from. Only the record's schema is used at run time:
//! records pass through as the bytes they arrived in, checked against this schema.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::trail_logs::{EventFolderStream, LogFileColumns};
use crate::schema::{schema_for, AnyJson, NestedJson, Timestamp};

pub const NAME: &str = "trail_events";

pub static TRAIL_EVENTS: EventFolderStream = EventFolderStream {
    name: NAME,
    kinds: &["CloudTrail", "CloudTrail-NetworkActivity"],
    schema,
    primary_key: "eventID",
    filtered: true,
    log: OnceLock::new(),
};

pub fn schema() -> Value {
    schema_for::<TrailEvent>()
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
    #[serde(default)]
    pub request_parameters: AnyJson,
    /// The response, as any JSON (its shape depends on the call).
    #[serde(default)]
    pub response_elements: AnyJson,
    /// Data the service added, as any JSON.
    #[serde(default)]
    pub additional_event_data: AnyJson,
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
    #[serde(default)]
    pub service_event_details: AnyJson,
    /// Management, Data, NetworkActivity or Insight.
    pub event_category: Option<String>,
    pub tls_details: Option<TlsDetails>,
    /// Whether console credentials were used ("true"/"false"), as written.
    #[serde(default)]
    pub session_credential_from_console: AnyJson,
    /// Outposts and edge devices, as any JSON.
    #[serde(default)]
    pub edge_device_details: AnyJson,
    /// Why and how a late or corrected event was delivered, as any JSON.
    #[serde(default)]
    pub addendum: AnyJson,
    /// Insights details, as any JSON.
    #[serde(default)]
    pub insight_details: AnyJson,

    #[serde(flatten)]
    pub log_file: LogFileColumns,
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
    #[serde(default)]
    pub on_behalf_of: NestedJson,
    /// As any JSON.
    #[serde(default)]
    pub in_scope_of: NestedJson,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("additionalProperties" = true))]
#[allow(dead_code)]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    /// As any JSON.
    #[serde(default)]
    pub web_id_federation_data: NestedJson,
    pub attributes: Option<SessionAttributes>,
    pub source_identity: Option<String>,
    pub ec2_role_delivery: Option<String>,
    /// As any JSON.
    #[serde(default)]
    pub assumed_root: NestedJson,
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
    use crate::streams::trail_logs::scan::Shape;
    use crate::streams::trail_logs::{provenance, LogFolder};
    use serde_json::json;

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
        assert!(matches!(*TRAIL_EVENTS.log_stream().shape, Shape::Object(_)));
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
            assert_eq!(TRAIL_EVENTS.log_stream().shape.coerce(&mut v), 0, "{v}");
        }
    }

    #[test]
    fn polymorphic_fields_are_json_columns_that_take_any_value_unchanged() {
        let s = schema();
        let nested = |v: &Value| {
            assert_eq!(v.get("type"), None, "{v}");
            assert_eq!(v.get("anyOf"), None, "{v}");
            assert_eq!(v["oneOf"].as_array().map(Vec::len), Some(6), "{v}");
        };
        let any = |v: &Value| {
            nested(v);
            assert_eq!(v["airbyte_type"], "object", "{v}");
        };
        let top = [
            "requestParameters",
            "responseElements",
            "additionalEventData",
            "serviceEventDetails",
            "sessionCredentialFromConsole",
            "edgeDeviceDetails",
            "addendum",
            "insightDetails",
        ];
        for name in top {
            any(&s["properties"][name]);
        }
        let identity = &s["properties"]["userIdentity"]["properties"];
        let context = &identity["sessionContext"]["properties"];
        for v in [
            &identity["onBehalfOf"],
            &identity["inScopeOf"],
            &context["webIdFederationData"],
            &context["assumedRoot"],
        ] {
            nested(v);
            assert_eq!(v.get("airbyte_type"), None, "only columns carry it: {v}");
        }

        let values = [
            json!({"bucketName": "b", "key": {"pk": 1}}),
            json!([1, "two", {"three": 3}]),
            json!("012345678901"),
            json!(12),
            json!(-1.5e3),
            json!(true),
            json!(null),
        ];
        for value in &values {
            let mut record = json!({"eventID": "e"});
            for name in top {
                record[name] = value.clone();
            }
            record["userIdentity"] = json!({"type": "AWSService", "onBehalfOf": value,
                "sessionContext": {"assumedRoot": value, "webIdFederationData": value}});
            let text = format!("{{\"Records\":[{record}]}}");
            let mut splitter = crate::streams::trail_logs::scan::RecordSplitter::with_window(
                text.as_bytes(),
                Vec::new(),
            );
            match splitter.next(&TRAIL_EVENTS.log_stream().shape).unwrap() {
                Some(crate::streams::trail_logs::scan::Element::Record { bytes, fits, .. }) => {
                    assert!(fits, "{record}");
                    assert_eq!(bytes, record.to_string().as_bytes());
                }
                _ => panic!("no record in {text}"),
            }
            let mut coerced = record.clone();
            assert_eq!(
                TRAIL_EVENTS.log_stream().shape.coerce(&mut coerced),
                0,
                "{record}"
            );
            assert_eq!(coerced, record);
        }
    }
}
