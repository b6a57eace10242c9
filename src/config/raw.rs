//! `RawConfig`, the config exactly as users write it: serde reads it, schemars turns it into the
//! spec (each field's doc comment is its description), and the defaults and limits that both the
//! spec and the validation use are written here, once.

use schemars::JsonSchema;
use serde::Deserialize;

use super::fields::Minutes;
use super::organization::RawOrganization;
use super::secret::Secret;
use super::trail_logs::RawTrailLogs;

/// The region read when neither `aws_region_name` nor `regions` is set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Incremental syncs stop this long before now: CloudTrail makes most events visible within
/// 15 minutes, and LookupEvents keeps 90 days.
pub const MAX_EVENT_DELAY: Minutes = Minutes {
    min: 0,
    field: "max_event_delay_minutes",
    default: 15,
    max: 129_600,
    max_in_words: "90 days",
};

/// AWS's quota of LookupEvents calls per second, account and region.
pub const DEFAULT_REQUESTS_PER_SECOND: u8 = 2;
/// The slowest pace accepted: a page a day. Slower, a sync would wait longer than any sync
/// runs before its first page (1e-9 is a page every 32 years).
pub const MIN_REQUESTS_PER_SECOND: f64 = 1.0 / 86_400.0;

/// AWS CloudTrail
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(title = "AWS CloudTrail Spec", extend("additionalProperties" = true))]
pub struct RawConfig {
    /// AWS access key id. Leave empty to use the standard AWS credential chain (environment,
    /// shared profile, web identity, container or instance role). Spaces and line breaks around the value are ignored.
    #[schemars(title = "Key ID", extend("airbyte_secret" = true, "order" = 0))]
    pub aws_key_id: Option<Secret>,

    /// AWS secret access key of `aws_key_id`. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Secret Key", extend("airbyte_secret" = true, "order" = 1))]
    pub aws_secret_key: Option<Secret>,

    /// Session token, for temporary credentials (keys starting with ASIA). Spaces and line breaks around the value are ignored.
    #[schemars(title = "Session Token", extend("airbyte_secret" = true, "order" = 2))]
    pub aws_session_token: Option<Secret>,

    /// The region to read when `regions` is not set.
    #[serde(default = "default_region")]
    #[schemars(title = "Region Name", extend("order" = 3, "examples" = ["us-east-1", "eu-west-1"]))]
    pub aws_region_name: String,

    /// Regions to read in one connection, concurrently (default: `aws_region_name` alone).
    /// Events of global services (IAM, STS, CloudFront) are recorded in us-east-1.
    #[schemars(title = "Regions", extend("order" = 4))]
    pub regions: Option<Vec<String>>,

    /// UTC date (YYYY-MM-DD) from which to read events. LookupEvents keeps 90 days: an older or
    /// missing date starts 90 days ago.
    #[schemars(title = "Start Date", regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), extend("order" = 5, "examples" = ["2024-01-01"]))]
    pub start_date: Option<String>,

    /// Read only the events matching one lookup attribute.
    #[schemars(title = "Filter applied while fetching records based on AttributeKey and AttributeValue", extend("order" = 6))]
    pub lookup_attributes_filter: Option<RawLookupFilter>,

    /// ARN of an IAM role to assume (through STS) on top of the credentials above. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Role ARN", extend("order" = 7, "examples" = ["arn:aws:iam::123456789012:role/cloudtrail-reader"]))]
    pub role_arn: Option<String>,

    /// External id required by the role's trust policy, if any. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Role External ID", extend("airbyte_secret" = true, "order" = 8))]
    pub role_external_id: Option<Secret>,

    #[doc = concat!("Session name used when assuming `role_arn` (default: ", default_role_session_name!(), "). Spaces and line breaks around the value are ignored.")]
    #[schemars(title = "Role Session Name", extend("order" = 9))]
    pub role_session_name: Option<String>,

    /// Custom CloudTrail endpoint (VPC endpoint, FIPS endpoint, local emulator). The SDK variables
    /// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDTRAIL are honoured too.
    #[schemars(title = "Endpoint URL", extend("order" = 10, "examples" = ["https://cloudtrail-fips.us-east-1.amazonaws.com"]))]
    pub endpoint_url: Option<String>,

    /// How many minutes CloudTrail may take to make an event visible. Incremental syncs read up
    /// to this long before now, so late events are never skipped.
    #[schemars(title = "Maximum Event Delay (minutes)", range(min = 0, max = MAX_EVENT_DELAY.max), extend("default" = MAX_EVENT_DELAY.default, "order" = 11))]
    pub max_event_delay_minutes: Option<i64>,

    /// LookupEvents calls per second and region. AWS allows 2 per account and region, shared by
    /// every client: lower it when other tools read the same account. At least one call a day
    /// (0.0000116).
    #[schemars(title = "Requests per Second", extend("default" = DEFAULT_REQUESTS_PER_SECOND, "exclusiveMinimum" = 0, "order" = 12))]
    pub requests_per_second: Option<f64>,

    /// Also read every event a trail delivered to S3 (stream `trail_events`): management, data
    /// and network activity events of any age, organization-wide. Leave unset to read only
    /// LookupEvents.
    #[schemars(title = "Trail Log Files in S3", extend("order" = 13))]
    pub trail_logs: Option<RawTrailLogs>,

    /// Read every account of an AWS Organization (or the accounts listed) in one connection,
    /// each through a role assumed in it: every account and region has its own cursor and its
    /// own `requests_per_second`. Leave unset to read the account of the credentials above.
    #[schemars(title = "Organization", extend("order" = 14))]
    pub organization: Option<RawOrganization>,
}

/// A LookupEvents attribute filter.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RawLookupFilter {
    /// One of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource,
    /// AccessKeyId.
    #[schemars(title = "Attribute Key", extend("examples" = ["EventName"]))]
    pub attribute_key: String,
    #[schemars(title = "Attribute Value", extend("examples" = ["ConsoleLogin"]))]
    pub attribute_value: String,
}

fn default_region() -> String {
    DEFAULT_REGION.to_string()
}
