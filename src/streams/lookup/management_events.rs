//! The `management_events` record: every column of the connector it replaces (same names and
//! JSON types) plus columns flattened from the CloudTrail record inside `CloudTrailEvent`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::columns::LookupColumns;
use super::lenient::{parse_record, Flag, Lenient, Text, UnparsableRecord};
use super::page::PageEvent;

pub const NAME: &str = "management_events";

/// A CloudTrail management event from LookupEvents.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct ManagementEvent<'a> {
    /// The columns LookupEvents gives every event.
    #[serde(flatten)]
    pub lookup: LookupColumns<'a>,

    /// Region the call was made in (`awsRegion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<Cow<'a, str>>,
    /// `sourceIPAddress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<Cow<'a, str>>,
    /// `userAgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Cow<'a, str>>,
    /// `errorCode`, when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Cow<'a, str>>,
    /// `errorMessage`, when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Cow<'a, str>>,
    /// `eventType`: AwsApiCall, AwsServiceEvent, AwsConsoleAction, AwsConsoleSignIn…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Cow<'a, str>>,
    /// `eventCategory`: Management, Data, NetworkActivity, Insight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_category: Option<Cow<'a, str>>,
    /// `eventVersion`, as written in the record (e.g. "1.08").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_version: Option<Cow<'a, str>>,
    /// `recipientAccountId`: the account that received the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `requestID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Cow<'a, str>>,
    /// `sharedEventID`, for events delivered to several accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<Cow<'a, str>>,
    /// `vpcEndpointId`, for calls through a VPC endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    /// `managementEvent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_event: Option<bool>,
    /// `userIdentity.type`: Root, IAMUser, AssumedRole, AWSService…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_type: Option<Cow<'a, str>>,
    /// `userIdentity.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_arn: Option<Cow<'a, str>>,
    /// `userIdentity.accountId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_account_id: Option<Cow<'a, str>>,
    /// `userIdentity.principalId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_principal_id: Option<Cow<'a, str>>,
    /// `userIdentity.userName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_user_name: Option<Cow<'a, str>>,
    /// `userIdentity.invokedBy`: the AWS service that made the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity_invoked_by: Option<Cow<'a, str>>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`: the role behind a session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer_arn: Option<Cow<'a, str>>,
    /// `userIdentity.sessionContext.sessionIssuer.userName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer_user_name: Option<Cow<'a, str>>,
    /// `userIdentity.sessionContext.attributes.mfaAuthenticated`, "true" or "false".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated: Option<Cow<'a, str>>,
    /// `tlsDetails.tlsVersion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<Cow<'a, str>>,
}

/// The parts of a CloudTrail record that become columns. Strings are borrowed from the record
/// text when they hold no escapes; a field of an unexpected type becomes null, not an error.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFields<'a> {
    #[serde(borrow, default)]
    aws_region: Text<'a>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip_address: Text<'a>,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default)]
    error_code: Text<'a>,
    #[serde(borrow, default)]
    error_message: Text<'a>,
    #[serde(borrow, default)]
    event_type: Text<'a>,
    #[serde(borrow, default)]
    event_category: Text<'a>,
    #[serde(borrow, default)]
    event_version: Text<'a>,
    #[serde(borrow, default)]
    recipient_account_id: Text<'a>,
    #[serde(borrow, default, rename = "requestID")]
    request_id: Text<'a>,
    #[serde(borrow, default, rename = "sharedEventID")]
    shared_event_id: Text<'a>,
    #[serde(borrow, default)]
    vpc_endpoint_id: Text<'a>,
    #[serde(default)]
    management_event: Flag,
    #[serde(borrow, default)]
    user_identity: Lenient<Identity<'a>>,
    #[serde(borrow, default)]
    tls_details: Lenient<TlsDetails<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default)]
    account_id: Text<'a>,
    #[serde(borrow, default)]
    principal_id: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
    #[serde(borrow, default)]
    invoked_by: Text<'a>,
    #[serde(borrow, default)]
    session_context: Lenient<SessionContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow, default)]
    session_issuer: Lenient<SessionIssuer<'a>>,
    #[serde(borrow, default)]
    attributes: Lenient<SessionAttributes<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow, default)]
    mfa_authenticated: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlsDetails<'a> {
    #[serde(borrow, default)]
    tls_version: Text<'a>,
}

impl<'a> ManagementEvent<'a> {
    /// Builds the record of one LookupEvents event. The flattened columns stay null, and the
    /// record still goes out, when `CloudTrailEvent` is not a JSON object.
    /// `text` is the content of `CloudTrailEvent` (unescaped).
    pub fn from_event(
        e: &'a PageEvent<'_>,
        text: Option<&'a str>,
    ) -> (Self, Option<UnparsableRecord>) {
        let (fields, problem) = parse_record::<RecordFields<'a>>(text);
        let identity = fields.user_identity.0;
        let session = identity.session_context.0;
        let issuer = session.session_issuer.0;
        let record = ManagementEvent {
            lookup: LookupColumns::from_event(e),
            aws_region: fields.aws_region.0,
            source_ip_address: fields.source_ip_address.0,
            user_agent: fields.user_agent.0,
            error_code: fields.error_code.0,
            error_message: fields.error_message.0,
            event_type: fields.event_type.0,
            event_category: fields.event_category.0,
            event_version: fields.event_version.0,
            recipient_account_id: fields.recipient_account_id.0,
            request_id: fields.request_id.0,
            shared_event_id: fields.shared_event_id.0,
            vpc_endpoint_id: fields.vpc_endpoint_id.0,
            management_event: fields.management_event.0,
            user_identity_type: identity.kind.0,
            user_identity_arn: identity.arn.0,
            user_identity_account_id: identity.account_id.0,
            user_identity_principal_id: identity.principal_id.0,
            user_identity_user_name: identity.user_name.0,
            user_identity_invoked_by: identity.invoked_by.0,
            session_issuer_arn: issuer.arn.0,
            session_issuer_user_name: issuer.user_name.0,
            mfa_authenticated: session.attributes.0.mfa_authenticated.0,
            tls_version: fields.tls_details.0.tls_version.0,
        };
        (record, problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::lookup::page::Page;
    use serde_json::{json, Value};

    /// A LookupEvents answer holding one event with this record.
    fn event(record: &str) -> String {
        json!({"Events": [{"EventId": "e1", "EventName": "ConsoleLogin", "ReadOnly": "false",
            "EventTime": 1_704_996_177.0, "CloudTrailEvent": record}]})
        .to_string()
    }

    fn to_json(body: &str) -> (Value, bool) {
        let page = Page::parse(body.as_bytes()).unwrap();
        let e = &page.events()[0];
        let mut scratch = String::new();
        let text = e.cloud_trail_event.map(|j| j.text_in(&mut scratch));
        let (r, problem) = ManagementEvent::from_event(e, text);
        (serde_json::to_value(&r).unwrap(), problem.is_some())
    }

    #[test]
    fn flattens_the_record_exactly() {
        let record = json!({
            "eventVersion": "1.08", "awsRegion": "us-east-1", "sourceIPAddress": "1.2.3.4",
            "userAgent": "aws-cli/2 \"quoted\"", "errorCode": "AccessDenied", "eventType": "AwsApiCall",
            "eventCategory": "Management", "recipientAccountId": "123", "requestID": "r-1", "managementEvent": true,
            "userIdentity": {"type": "AssumedRole", "arn": "arn:x", "accountId": "123", "principalId": "P:s",
                "sessionContext": {"sessionIssuer": {"arn": "arn:role", "userName": "Admin"}, "attributes": {"mfaAuthenticated": "false"}}},
            "tlsDetails": {"tlsVersion": "TLSv1.3"}
        })
        .to_string();
        let (v, problem) = to_json(&event(&record));
        assert!(!problem);
        assert_eq!(v["EventTime"], json!(1_704_996_177.0));
        assert_eq!(v["ReadOnly"], "false");
        assert_eq!(v["EventVersion"], "1.08");
        assert_eq!(v["UserAgent"], "aws-cli/2 \"quoted\"");
        assert_eq!(v["SourceIpAddress"], "1.2.3.4");
        assert_eq!(v["RequestId"], "r-1");
        assert_eq!(v["ManagementEvent"], true);
        assert_eq!(v["UserIdentityType"], "AssumedRole");
        assert_eq!(v["SessionIssuerArn"], "arn:role");
        assert_eq!(v["MfaAuthenticated"], "false");
        assert_eq!(v["TlsVersion"], "TLSv1.3");
        assert_eq!(v["CloudTrailEvent"], record.as_str());
    }

    #[test]
    fn odd_shapes_become_nulls_and_broken_json_is_reported() {
        let (v, problem) = to_json(&event(
            r#"{"userIdentity": null, "errorMessage": {"x": [1]}, "eventVersion": 1.08, "tlsDetails": "x"}"#,
        ));
        assert!(!problem);
        assert_eq!(v.get("ErrorMessage"), None);
        assert_eq!(v["EventVersion"], "1.08");
        let (v, problem) = to_json(&event("{not json"));
        assert!(problem);
        let (v2, problem) = to_json(&event(r#"["us-east-1", "1.2.3.4"]"#));
        assert!(problem);
        assert_eq!(
            v2.get("AwsRegion"),
            None,
            "an array is not read by position"
        );
        assert_eq!(v["EventId"], "e1");
        assert_eq!(v.get("AwsRegion"), None);
    }

    #[test]
    fn no_two_columns_differ_only_by_case() {
        let schema = crate::schema::schema_for::<ManagementEvent>();
        let names: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.to_lowercase())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
    }
}
