//! The checks every part of the config shares (blank fields, region names, static keys, roles,
//! minute limits) and their defaults: the leaf the top-level and the `trail_logs` checks both
//! build on.

use super::secret::{credential_field, Secret};
use super::{CredentialSource, Role};
use crate::error::Error;

/// The session name when `role_session_name` is not set; a macro so that the field's doc
/// comment, a literal, can name it.
macro_rules! default_role_session_name {
    () => {
        "airbyte-source-aws-cloudtrail"
    };
}
pub const DEFAULT_ROLE_SESSION_NAME: &str = default_role_session_name!();

/// A setting in whole minutes from 0 to `max`, with its default: written once for the spec and
/// for the check.
pub struct Minutes {
    /// The field's path in the config, for messages.
    pub field: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    /// `max` as a person says it ("7 days").
    pub max_in_words: &'static str,
}

impl Minutes {
    /// The value given (else the default) in seconds, if it is within the limits.
    pub fn seconds(&self, given: Option<i64>) -> Result<i64, Error> {
        let minutes = given.unwrap_or(self.default);
        if !(self.min..=self.max).contains(&minutes) {
            return Err(Error::config(format!(
                "{} must be between {} and {} ({}), got {minutes}",
                self.field, self.min, self.max, self.max_in_words
            )));
        }
        Ok(minutes * 60)
    }
}

/// `Some(s)` unless `s` is missing or blank: the Airbyte UI sends "" for cleared fields.
pub(super) fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub(super) fn is_region_name(r: &str) -> bool {
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
pub(super) fn credential_source(
    at: &str,
    key_id: Option<Secret>,
    secret: Option<Secret>,
    session_token: Option<Secret>,
) -> Result<Option<CredentialSource>, Error> {
    let key_id = Secret::checked(&format!("{at}aws_key_id"), key_id)?;
    let secret = Secret::checked(&format!("{at}aws_secret_key"), secret)?;
    let session_token = Secret::checked(&format!("{at}aws_session_token"), session_token)?;
    match (key_id, secret) {
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

pub(super) fn role(
    at: &str,
    arn: Option<String>,
    external_id: Option<Secret>,
    session_name: Option<String>,
) -> Result<Option<Role>, Error> {
    let arn = credential_field(&format!("{at}role_arn"), arn.as_deref())?;
    let external_id = Secret::checked(&format!("{at}role_external_id"), external_id)?;
    let session_name =
        credential_field(&format!("{at}role_session_name"), session_name.as_deref())?;
    match arn {
        Some(arn) if !arn.starts_with("arn:") || arn.split(':').count() < 6 => Err(Error::config(format!(
            "{at}role_arn must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME, got '{arn}'"
        ))),
        Some(arn) => Ok(Some(Role {
            arn,
            external_id,
            session_name: session_name.unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string()),
        })),
        None if external_id.is_some() => Err(Error::config(format!(
            "{at}role_external_id is set without {at}role_arn"
        ))),
        None => Ok(None),
    }
}
