//! The connector's configuration in two phases: `RawConfig`, exactly what users write (the
//! spec), and `Config`, validated once at the boundary; after that the types carry the guarantees.

mod endpoint;
#[macro_use]
mod fields;
mod organization;
mod raw;
mod secret;
mod trail_logs;
mod validate;

use std::path::Path;

use crate::error::Error;

pub use endpoint::redact_userinfo;
pub use fields::DEFAULT_ROLE_SESSION_NAME;
pub use organization::{is_account_id, Organization};
pub use raw::RawConfig;
pub use secret::{unfit_character, Secret};
pub use trail_logs::{
    is_bucket_name, trail_arn_region, EventCategory, EventFilter, TrailLogs, BUCKET_NAME_RULE,
};

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
    /// Read these accounts, each through its member role, instead of the credentials' own.
    pub organization: Option<Organization>,
}

impl Config {
    /// Reads and validates the config file, and the endpoint variables the SDK will read.
    pub fn load(path: &Path) -> Result<Config, Error> {
        endpoint::check_endpoint_variables(std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        }))?;
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

#[cfg(test)]
fn parse_json(v: serde_json::Value) -> Result<Config, Error> {
    Config::parse(&v.to_string())
}
