//! The config's endpoint URL fields.

use super::validate::present;
use crate::error::Error;

/// `url` checked as the endpoint of field `field`, without its trailing slashes.
pub(super) fn endpoint_url(field: &str, url: Option<String>) -> Result<Option<String>, Error> {
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
