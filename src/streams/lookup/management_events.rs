//! The `management_events` record: every column of the connector it replaces (same names and
//! JSON types) plus columns flattened from the CloudTrail record inside `CloudTrailEvent`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Serialize;

use super::columns::LookupColumns;
use super::record::Column;

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

/// Where `ManagementEvent`'s flattened columns are in the record, in its order.
pub static COLUMNS: &[Column] = &[
    Column::text("AwsRegion", &["awsRegion"]),
    Column::text("SourceIpAddress", &["sourceIPAddress"]),
    Column::text("UserAgent", &["userAgent"]),
    Column::text("ErrorCode", &["errorCode"]),
    Column::text("ErrorMessage", &["errorMessage"]),
    Column::text("EventType", &["eventType"]),
    Column::text("EventCategory", &["eventCategory"]),
    Column::text("EventVersion", &["eventVersion"]),
    Column::text("RecipientAccountId", &["recipientAccountId"]),
    Column::text("RequestId", &["requestID"]),
    Column::text("SharedEventId", &["sharedEventID"]),
    Column::text("VpcEndpointId", &["vpcEndpointId"]),
    Column::flag("ManagementEvent", &["managementEvent"]),
    Column::text("UserIdentityType", &["userIdentity", "type"]),
    Column::text("UserIdentityArn", &["userIdentity", "arn"]),
    Column::text("UserIdentityAccountId", &["userIdentity", "accountId"]),
    Column::text("UserIdentityPrincipalId", &["userIdentity", "principalId"]),
    Column::text("UserIdentityUserName", &["userIdentity", "userName"]),
    Column::text("UserIdentityInvokedBy", &["userIdentity", "invokedBy"]),
    Column::text(
        "SessionIssuerArn",
        &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
    ),
    Column::text(
        "SessionIssuerUserName",
        &[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "userName",
        ],
    ),
    Column::text(
        "MfaAuthenticated",
        &[
            "userIdentity",
            "sessionContext",
            "attributes",
            "mfaAuthenticated",
        ],
    ),
    Column::text("TlsVersion", &["tlsDetails", "tlsVersion"]),
];
