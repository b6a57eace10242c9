//! The connector's configuration in two phases: `RawConfig`, exactly what users write (serde +
//! schemars; its doc comments are the spec's descriptions), and `Config`, validated once.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

use crate::error::Error;
use crate::time;

/// A credential: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl JsonSchema for Secret {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }
}

/// AWS CloudTrail
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(title = "AWS CloudTrail Spec", extend("additionalProperties" = true))]
pub struct RawConfig {
    /// AWS access key id. Leave empty to use the standard AWS credential chain (environment,
    /// shared profile, web identity, container or instance role).
    #[schemars(title = "Key ID", extend("airbyte_secret" = true, "order" = 0))]
    pub aws_key_id: Option<Secret>,

    /// AWS secret access key of `aws_key_id`.
    #[schemars(title = "Secret Key", extend("airbyte_secret" = true, "order" = 1))]
    pub aws_secret_key: Option<Secret>,

    /// Session token, for temporary credentials (keys starting with ASIA).
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

    /// ARN of an IAM role to assume (through STS) on top of the credentials above.
    #[schemars(title = "Role ARN", extend("order" = 7, "examples" = ["arn:aws:iam::123456789012:role/cloudtrail-reader"]))]
    pub role_arn: Option<String>,

    /// External id required by the role's trust policy, if any.
    #[schemars(title = "Role External ID", extend("airbyte_secret" = true, "order" = 8))]
    pub role_external_id: Option<Secret>,

    /// Session name used when assuming `role_arn` (default: airbyte-source-aws-cloudtrail).
    #[schemars(title = "Role Session Name", extend("order" = 9))]
    pub role_session_name: Option<String>,

    /// Custom CloudTrail endpoint (VPC endpoint, FIPS endpoint, local emulator). The SDK variables
    /// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDTRAIL are honoured too.
    #[schemars(title = "Endpoint URL", extend("order" = 10, "examples" = ["https://cloudtrail-fips.us-east-1.amazonaws.com"]))]
    pub endpoint_url: Option<String>,

    /// How many minutes CloudTrail may take to make an event visible. Incremental syncs read up
    /// to this long before now, so late events are never skipped.
    #[schemars(title = "Maximum Event Delay (minutes)", range(min = 0, max = 129_600), extend("default" = 15, "order" = 11))]
    pub max_event_delay_minutes: Option<i64>,

    /// LookupEvents calls per second and region. AWS allows 2 per account and region, shared by
    /// every client: lower it when other tools read the same account.
    #[schemars(title = "Requests per Second", extend("default" = 2, "exclusiveMinimum" = 0, "order" = 12))]
    pub requests_per_second: Option<f64>,

    /// Also read every event a trail delivered to S3 (stream `trail_events`): management, data
    /// and network activity events of any age, organization-wide. Leave unset to read only
    /// LookupEvents.
    #[schemars(title = "Trail Log Files in S3", extend("order" = 13))]
    pub trail_logs: Option<RawTrailLogs>,
}

/// Where a trail delivers its log files, and how to read them.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
pub struct RawTrailLogs {
    /// The trail's S3 bucket.
    #[schemars(title = "Bucket", extend("order" = 0, "examples" = ["aws-cloudtrail-logs-123456789012-1a2b3c4d"]))]
    pub bucket: String,

    /// The trail's S3 key prefix, the part before `AWSLogs/` (empty when the trail has none).
    #[schemars(title = "Key Prefix", extend("order" = 1, "examples" = ["security/cloudtrail"]))]
    pub prefix: Option<String>,

    /// Read only these organizations' folders (`AWSLogs/o-…/`) of an organization trail.
    /// Default: every organization and every plain account folder found.
    #[schemars(title = "Organization IDs", extend("order" = 2, "examples" = [["o-a1b2c3d4e5"]]))]
    pub organization_ids: Option<Vec<String>>,

    /// Read only these accounts (12 digits). Default: every account found.
    #[schemars(title = "Accounts", extend("order" = 3, "examples" = [["123456789012"]]))]
    pub accounts: Option<Vec<String>>,

    /// Read only these regions. Default: every region found.
    #[schemars(title = "Regions", extend("order" = 4, "examples" = [["us-east-1", "eu-west-1"]]))]
    pub regions: Option<Vec<String>>,

    /// UTC date (YYYY-MM-DD) of the first log files to read (by delivery date). Default:
    /// everything in the bucket.
    #[schemars(title = "Start Date", regex(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"), extend("order" = 5, "examples" = ["2024-01-01"]))]
    pub start_date: Option<String>,

    /// The bucket's region (default: `aws_region_name`).
    #[schemars(title = "Bucket Region", extend("order" = 6, "examples" = ["us-east-1"]))]
    pub bucket_region: Option<String>,

    /// Custom S3 endpoint (VPC endpoint, S3-compatible storage). AWS_ENDPOINT_URL_S3 is honoured
    /// too. A custom endpoint is addressed path-style.
    #[schemars(title = "S3 Endpoint URL", extend("order" = 7))]
    pub endpoint_url: Option<String>,

    /// Access key id for the bucket, often in a separate log-archive account. Default: the
    /// credentials above.
    #[schemars(title = "Key ID", extend("airbyte_secret" = true, "order" = 8))]
    pub aws_key_id: Option<Secret>,

    /// Secret access key of `trail_logs.aws_key_id`.
    #[schemars(title = "Secret Key", extend("airbyte_secret" = true, "order" = 9))]
    pub aws_secret_key: Option<Secret>,

    /// Session token, for temporary credentials.
    #[schemars(title = "Session Token", extend("airbyte_secret" = true, "order" = 10))]
    pub aws_session_token: Option<Secret>,

    /// ARN of a role to assume for the bucket, on top of these keys or, without them, of the
    /// credentials above.
    #[schemars(title = "Role ARN", extend("order" = 11, "examples" = ["arn:aws:iam::210987654321:role/log-archive-reader"]))]
    pub role_arn: Option<String>,

    /// External id required by that role's trust policy, if any.
    #[schemars(title = "Role External ID", extend("airbyte_secret" = true, "order" = 12))]
    pub role_external_id: Option<Secret>,

    /// How long before the newest file read a late-delivered file is still picked up. Each
    /// account-region keeps the keys read within this window in the state.
    #[schemars(title = "Late File Lookback (minutes)", range(min = 0, max = 10_080), extend("default" = 30, "order" = 13))]
    pub late_file_lookback_minutes: Option<i64>,
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
    "us-east-1".to_string()
}

/// Where credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    Static {
        key_id: Secret,
        secret: Secret,
        session_token: Option<Secret>,
    },
    /// The standard AWS chain: environment, profile, web identity, container, instance metadata.
    DefaultChain,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    pub external_id: Option<Secret>,
    pub session_name: String,
}

/// The attribute keys LookupEvents accepts.
pub const LOOKUP_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupFilter {
    /// One of `LOOKUP_KEYS`.
    pub key: &'static str,
    pub value: String,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub credentials: CredentialSource,
    pub role: Option<Role>,
    /// At least one, no duplicates.
    pub regions: Vec<String>,
    /// Epoch second of `start_date`'s midnight UTC (not yet clamped to the 90 days).
    pub start_date: Option<i64>,
    pub lookup_filter: Option<LookupFilter>,
    pub endpoint_url: Option<String>,
    pub max_event_delay_secs: i64,
    pub requests_per_second: f64,
    pub trail_logs: Option<TrailLogs>,
}

/// The validated `trail_logs`.
#[derive(Debug, Clone)]
pub struct TrailLogs {
    pub bucket: String,
    /// Without slashes at either end; "" for none.
    pub prefix: String,
    pub organization_ids: Option<Vec<String>>,
    pub accounts: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    /// `YYYY/MM/DD` of `start_date`, as day folders are named.
    pub start_day: Option<String>,
    pub bucket_region: String,
    pub endpoint_url: Option<String>,
    /// Own keys, else the top-level credentials.
    pub credentials: Option<CredentialSource>,
    /// The role to assume for the bucket: its own, else (without own keys) the top-level one.
    pub role: Option<Role>,
    pub lookback_secs: i64,
}

impl TrailLogs {
    /// `[<prefix>/]AWSLogs/`, where every account or organization folder starts.
    pub fn root(&self) -> String {
        if self.prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{}/AWSLogs/", self.prefix)
        }
    }
}

pub const DEFAULT_ROLE_SESSION_NAME: &str = "airbyte-source-aws-cloudtrail";

impl Config {
    /// Reads and validates the config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))
        })?;
        Config::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Config, Error> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::config(format!("the config is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::config("the config is not a valid JSON object"));
        }
        let raw: RawConfig = serde_path_to_error::deserialize(value)
            .map_err(|e| Error::config(format!("config field {}: {}", e.path(), e.inner())))?;
        Config::try_from(raw)
    }
}

/// `Some(s)` unless `s` is missing or blank: the Airbyte UI sends "" for cleared fields.
fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn present_secret(s: Option<Secret>) -> Option<Secret> {
    s.filter(|s| !s.0.trim().is_empty())
}

fn is_region_name(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0].len() == 2
}

/// Static keys from the three fields named `<at>aws_key_id`, `<at>aws_secret_key` and
/// `<at>aws_session_token`; `None` when none is set.
fn credential_source(
    at: &str,
    key_id: Option<Secret>,
    secret: Option<Secret>,
    session_token: Option<Secret>,
) -> Result<Option<CredentialSource>, Error> {
    let session_token = present_secret(session_token);
    match (present_secret(key_id), present_secret(secret)) {
        (Some(key_id), Some(secret)) => Ok(Some(CredentialSource::Static {
            key_id,
            secret,
            session_token,
        })),
        (Some(_), None) => Err(Error::config(format!(
            "{at}aws_secret_key is missing: it is required when {at}aws_key_id is set"
        ))),
        (None, Some(_)) => Err(Error::config(format!(
            "{at}aws_key_id is missing: it is required when {at}aws_secret_key is set"
        ))),
        (None, None) if session_token.is_some() => Err(Error::config(format!(
            "{at}aws_session_token is set without {at}aws_key_id and {at}aws_secret_key"
        ))),
        (None, None) => Ok(None),
    }
}

fn role(
    at: &str,
    arn: Option<String>,
    external_id: Option<Secret>,
    session_name: Option<String>,
) -> Result<Option<Role>, Error> {
    match present(arn) {
        Some(arn) if !arn.starts_with("arn:") || arn.split(':').count() < 6 => Err(Error::config(format!(
            "{at}role_arn must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME, got '{arn}'"
        ))),
        Some(arn) => Ok(Some(Role {
            arn,
            external_id: present_secret(external_id),
            session_name: session_name.unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string()),
        })),
        None if present_secret(external_id).is_some() => Err(Error::config(format!(
            "{at}role_external_id is set without {at}role_arn"
        ))),
        None => Ok(None),
    }
}

fn endpoint_url(field: &str, url: Option<String>) -> Result<Option<String>, Error> {
    match present(url) {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 => {
            Err(Error::config(format!(
                "{field} must be an http:// or https:// URL, got '{u}'"
            )))
        }
        Some(u) => Ok(Some(u.trim_end_matches('/').to_string())),
        None => Ok(None),
    }
}

/// A filter list: blanks dropped, each entry checked; `None` when empty (no filter).
fn filter_list(
    field: &str,
    items: Option<Vec<String>>,
    valid: fn(&str) -> bool,
    like: &str,
) -> Result<Option<Vec<String>>, Error> {
    let mut out: Vec<String> = Vec::new();
    for item in items.unwrap_or_default() {
        let item = item.trim().to_string();
        if item.is_empty() || out.contains(&item) {
            continue;
        }
        if !valid(&item) {
            return Err(Error::config(format!(
                "trail_logs.{field}: '{item}' is not {like}"
            )));
        }
        out.push(item);
    }
    Ok((!out.is_empty()).then_some(out))
}

fn is_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn is_organization_id(o: &str) -> bool {
    o.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn trail_logs(
    raw: RawTrailLogs,
    home_region: &str,
    top_role: Option<&Role>,
) -> Result<TrailLogs, Error> {
    let bucket = raw.bucket.trim().to_string();
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !bucket_ok {
        return Err(Error::config(format!(
            "trail_logs.bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, no s3:// or path), got '{bucket}'"
        )));
    }
    let prefix = present(raw.prefix)
        .map(|p| p.trim_matches('/').to_string())
        .unwrap_or_default();
    if prefix.ends_with("AWSLogs") || prefix.contains("/AWSLogs/") {
        return Err(Error::config(format!(
            "trail_logs.prefix is the part before AWSLogs/ (the trail's S3 key prefix), got '{prefix}'"
        )));
    }
    let start_day = match present(raw.start_date) {
        Some(d) if time::parse_date(&d).is_some() => Some(d.replace('-', "/")),
        Some(d) => {
            return Err(Error::config(format!(
                "trail_logs.start_date must be a real date written YYYY-MM-DD, got '{d}'"
            )))
        }
        None => None,
    };
    let bucket_region = match present(raw.bucket_region) {
        Some(r) if !is_region_name(&r) => {
            return Err(Error::config(format!(
                "trail_logs.bucket_region '{r}' is not an AWS region name (like us-east-1)"
            )))
        }
        Some(r) => r,
        None => home_region.to_string(),
    };
    let lookback_minutes = raw.late_file_lookback_minutes.unwrap_or(30);
    if !(0..=10_080).contains(&lookback_minutes) {
        return Err(Error::config(format!(
            "trail_logs.late_file_lookback_minutes must be between 0 and 10080 (7 days), got {lookback_minutes}"
        )));
    }
    let credentials = credential_source(
        "trail_logs.",
        raw.aws_key_id,
        raw.aws_secret_key,
        raw.aws_session_token,
    )?;
    let own_role = role("trail_logs.", raw.role_arn, raw.role_external_id, None)?;
    let role = match (&credentials, own_role) {
        (_, Some(r)) => Some(r),
        (None, None) => top_role.cloned(),
        (Some(_), None) => None,
    };
    Ok(TrailLogs {
        bucket,
        prefix,
        organization_ids: filter_list(
            "organization_ids",
            raw.organization_ids,
            is_organization_id,
            "an organization id like o-a1b2c3d4e5",
        )?,
        accounts: filter_list(
            "accounts",
            raw.accounts,
            is_account_id,
            "a 12-digit account id",
        )?,
        regions: filter_list(
            "regions",
            raw.regions,
            is_region_name,
            "a region name like us-east-1",
        )?,
        start_day,
        bucket_region,
        endpoint_url: endpoint_url("trail_logs.endpoint_url", raw.endpoint_url)?,
        credentials,
        role,
        lookback_secs: lookback_minutes * 60,
    })
}

impl TryFrom<RawConfig> for Config {
    type Error = Error;

    fn try_from(raw: RawConfig) -> Result<Config, Error> {
        let credentials = credential_source(
            "",
            raw.aws_key_id,
            raw.aws_secret_key,
            raw.aws_session_token,
        )?
        .unwrap_or(CredentialSource::DefaultChain);
        let role = role(
            "",
            raw.role_arn,
            raw.role_external_id,
            present(raw.role_session_name),
        )?;

        let mut regions = Vec::new();
        let listed = raw.regions.unwrap_or_default();
        let wanted: Vec<String> = if listed.iter().any(|r| !r.trim().is_empty()) {
            listed
        } else {
            vec![raw.aws_region_name]
        };
        for r in wanted {
            let r = r.trim().to_string();
            if r.is_empty() {
                continue;
            }
            if !is_region_name(&r) {
                return Err(Error::config(format!(
                    "'{r}' is not an AWS region name (like us-east-1): check aws_region_name and regions"
                )));
            }
            if !regions.contains(&r) {
                regions.push(r);
            }
        }
        if regions.is_empty() {
            return Err(Error::config(
                "aws_region_name is empty: set a region such as us-east-1",
            ));
        }

        let start_date = match present(raw.start_date) {
            Some(d) => Some(time::parse_date(&d).ok_or_else(|| {
                Error::config(format!(
                    "start_date must be a real date written YYYY-MM-DD, got '{d}'"
                ))
            })?),
            None => None,
        };

        let lookup_filter = match raw.lookup_attributes_filter {
            None => None,
            Some(f) => {
                let key = LOOKUP_KEYS.iter().find(|k| **k == f.attribute_key.trim()).ok_or_else(|| {
                    Error::config(format!(
                        "lookup_attributes_filter.attribute_key '{}' is not a LookupEvents attribute: use one of {}",
                        f.attribute_key,
                        LOOKUP_KEYS.join(", ")
                    ))
                })?;
                if f.attribute_value.is_empty() {
                    return Err(Error::config(
                        "lookup_attributes_filter.attribute_value is empty",
                    ));
                }
                Some(LookupFilter {
                    key,
                    value: f.attribute_value,
                })
            }
        };

        let endpoint_url = endpoint_url("endpoint_url", raw.endpoint_url)?;

        let delay_minutes = raw.max_event_delay_minutes.unwrap_or(15);
        if !(0..=129_600).contains(&delay_minutes) {
            return Err(Error::config(format!(
                "max_event_delay_minutes must be between 0 and 129600 (90 days), got {delay_minutes}"
            )));
        }
        let requests_per_second = raw.requests_per_second.unwrap_or(2.0);
        if !(requests_per_second.is_finite() && requests_per_second > 0.0) {
            return Err(Error::config(format!(
                "requests_per_second must be a positive number, got {requests_per_second}"
            )));
        }

        let trail_logs = match raw.trail_logs {
            Some(t) => Some(trail_logs(t, &regions[0], role.as_ref())?),
            None => None,
        };

        Ok(Config {
            trail_logs,
            credentials,
            role,
            regions,
            start_date,
            lookup_filter,
            endpoint_url,
            max_event_delay_secs: delay_minutes * 60,
            requests_per_second,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Result<Config, Error> {
        Config::parse(&v.to_string())
    }

    #[test]
    fn accepts_the_existing_connectors_configs() {
        let c = parse(serde_json::json!({
            "aws_key_id": "AKIA1", "aws_secret_key": "s", "aws_region_name": "eu-west-1",
            "start_date": "2021-06-10", "records_limit": 100, "something_else": true,
            "lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": "ConsoleLogin"}
        }))
        .unwrap();
        assert_eq!(c.regions, vec!["eu-west-1"]);
        assert_eq!(c.start_date, Some(1_623_283_200));
        assert_eq!(
            c.lookup_filter,
            Some(LookupFilter {
                key: "EventName",
                value: "ConsoleLogin".into()
            })
        );
        assert_eq!(c.max_event_delay_secs, 900);
        assert_eq!(c.requests_per_second, 2.0);
        assert!(matches!(c.credentials, CredentialSource::Static { .. }));
    }

    #[test]
    fn rejects_what_cannot_work_naming_the_field() {
        let cases = [
            (serde_json::json!({"aws_key_id": "A"}), "aws_secret_key"),
            (
                serde_json::json!({"lookup_attributes_filter": {"attribute_key": "Nope", "attribute_value": "x"}}),
                "attribute_key",
            ),
            (
                serde_json::json!({"start_date": "2021-02-30"}),
                "start_date",
            ),
            (serde_json::json!({"regions": ["us-east1"]}), "us-east1"),
            (
                serde_json::json!({"max_event_delay_minutes": -1}),
                "max_event_delay_minutes",
            ),
            (
                serde_json::json!({"requests_per_second": 0}),
                "requests_per_second",
            ),
            (
                serde_json::json!({"requests_per_second": "fast"}),
                "requests_per_second",
            ),
            (
                serde_json::json!({"endpoint_url": "localhost:4566"}),
                "endpoint_url",
            ),
            (
                serde_json::json!({"role_arn": "cloudtrail-reader"}),
                "role_arn",
            ),
        ];
        for (config, field) in cases {
            let message = parse(config.clone()).unwrap_err().to_string();
            assert!(message.contains(field), "{config} -> {message}");
        }
        assert!(Config::parse("[1,2]")
            .unwrap_err()
            .to_string()
            .contains("not a valid JSON object"));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = parse(serde_json::json!({"aws_key_id": "AKIAMARKER", "aws_secret_key": "SECRETMARKER", "aws_session_token": "TOKENMARKER",
            "role_arn": "arn:aws:iam::1:role/x", "role_external_id": "EXTERNALMARKER"})).unwrap();
        let text = format!("{c:?}");
        for marker in [
            "AKIAMARKER",
            "SECRETMARKER",
            "TOKENMARKER",
            "EXTERNALMARKER",
        ] {
            assert!(!text.contains(marker), "{text}");
        }
    }

    proptest::proptest! {
        /// Any text, or any object of known keys with values of any type, is a config or a
        /// config error naming a field: never a panic.
        #[test]
        fn any_config_is_accepted_or_rejected(text in "\\PC{0,60}", values in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)), proptest::strategy::Just(serde_json::json!(-1)),
                proptest::strategy::Just(serde_json::json!(1e300)), proptest::strategy::Just(serde_json::json!("")),
                proptest::strategy::Just(serde_json::json!("us-east-1")), proptest::strategy::Just(serde_json::json!("2024-02-30")),
                proptest::strategy::Just(serde_json::json!([])), proptest::strategy::Just(serde_json::json!({})),
                proptest::strategy::Just(serde_json::json!(["eu-west-1", 3])), proptest::strategy::Just(serde_json::json!(true)),
            ], 13)) {
            let _ = Config::parse(&text);
            let keys = ["aws_key_id", "aws_secret_key", "aws_session_token", "aws_region_name", "regions", "start_date",
                "lookup_attributes_filter", "role_arn", "role_external_id", "role_session_name", "endpoint_url",
                "max_event_delay_minutes", "requests_per_second"];
            let config: serde_json::Map<String, serde_json::Value> = keys.iter().map(|k| k.to_string()).zip(values).collect();
            if let Ok(c) = Config::parse(&serde_json::Value::Object(config).to_string()) {
                proptest::prop_assert!(!c.regions.is_empty() && c.requests_per_second > 0.0 && c.max_event_delay_secs >= 0);
            }
        }
    }

    #[test]
    fn regions_default_to_aws_region_name_and_are_deduplicated() {
        let c =
            parse(serde_json::json!({"regions": ["us-east-1", "eu-west-1", "us-east-1"]})).unwrap();
        assert_eq!(c.regions, vec!["us-east-1", "eu-west-1"]);
        let c = parse(serde_json::json!({})).unwrap();
        assert_eq!(c.regions, vec!["us-east-1"]);
        assert!(matches!(c.credentials, CredentialSource::DefaultChain));
    }

    #[test]
    fn trail_logs_defaults_and_credentials_follow_the_top_level_unless_given() {
        let role = "arn:aws:iam::123456789012:role/top";
        let c = parse(serde_json::json!({
            "aws_region_name": "eu-west-1", "role_arn": role,
            "trail_logs": {"bucket": "logs", "prefix": "/a/b/", "accounts": ["", "123456789012"], "regions": []}
        }))
        .unwrap();
        let t = c.trail_logs.unwrap();
        assert_eq!(
            (t.prefix.as_str(), t.root()),
            ("a/b", "a/b/AWSLogs/".to_string())
        );
        assert_eq!(t.bucket_region, "eu-west-1");
        assert_eq!(t.lookback_secs, 1800);
        assert_eq!(t.accounts, Some(vec!["123456789012".to_string()]));
        assert_eq!(t.regions, None);
        assert!(t.credentials.is_none());
        assert_eq!(t.role.unwrap().arn, role, "no own keys: the top-level role");

        let c = parse(serde_json::json!({
            "role_arn": role,
            "trail_logs": {"bucket": "logs", "aws_key_id": "AKIA2", "aws_secret_key": "s2", "start_date": "2024-02-29"}
        }))
        .unwrap();
        let t = c.trail_logs.unwrap();
        assert!(matches!(
            t.credentials,
            Some(CredentialSource::Static { .. })
        ));
        assert!(t.role.is_none(), "own keys: no role unless its own");
        assert_eq!(t.start_day.as_deref(), Some("2024/02/29"));
        assert_eq!(t.root(), "AWSLogs/");
    }

    #[test]
    fn bad_trail_logs_fields_are_named() {
        for (logs, words) in [
            (serde_json::json!({}), "trail_logs: missing field `bucket`"),
            (
                serde_json::json!({"bucket": "Logs_Bucket"}),
                "trail_logs.bucket",
            ),
            (
                serde_json::json!({"bucket": "logs", "organization_ids": ["org-1"]}),
                "trail_logs.organization_ids",
            ),
            (
                serde_json::json!({"bucket": "logs", "regions": ["Europe"]}),
                "trail_logs.regions",
            ),
            (
                serde_json::json!({"bucket": "logs", "bucket_region": "eu"}),
                "trail_logs.bucket_region",
            ),
            (
                serde_json::json!({"bucket": "logs", "endpoint_url": "minio:9000"}),
                "trail_logs.endpoint_url",
            ),
            (
                serde_json::json!({"bucket": "logs", "late_file_lookback_minutes": -1}),
                "late_file_lookback_minutes",
            ),
            (
                serde_json::json!({"bucket": "logs", "aws_key_id": "AKIA"}),
                "trail_logs.aws_secret_key is missing",
            ),
            (
                serde_json::json!({"bucket": "logs", "role_external_id": "x"}),
                "trail_logs.role_external_id",
            ),
            (
                serde_json::json!({"bucket": "logs", "role_arn": "reader"}),
                "trail_logs.role_arn",
            ),
        ] {
            let e = parse(serde_json::json!({"trail_logs": logs}))
                .unwrap_err()
                .to_string();
            assert!(e.contains(words), "{logs}: {e}");
        }
    }
}
