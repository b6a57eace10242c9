//! Endpoint URLs: the config's URL fields and the SDK's `AWS_ENDPOINT_URL…` variables refused
//! when they carry a user name or password, and `redact_userinfo`, the one form in which an
//! endpoint, or a text that may quote one, is shown.

use std::borrow::Cow;

use super::fields::present;
use crate::error::Error;

/// What stands in the place of a URL's user name and password in messages.
const REDACTED: &str = "***";

/// The prefix of the variables from which the SDK takes endpoints (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_CLOUDTRAIL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_STS`…).
const ENDPOINT_VARIABLES: &str = "AWS_ENDPOINT_URL";

/// `url` checked as the endpoint of field `field`, without its trailing slashes.
pub(super) fn endpoint_url(field: &str, url: Option<String>) -> Result<Option<String>, Error> {
    match present(url) {
        Some(u) if has_userinfo(&u) => Err(userinfo_error(field)),
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 => {
            Err(Error::config(format!(
                "{field} must be an http:// or https:// URL, got '{u}'"
            )))
        }
        Some(u) => Ok(Some(u.trim_end_matches('/').to_string())),
        None => Ok(None),
    }
}

/// The endpoint variables among `vars` (the process's environment), refused like the config's
/// fields: the SDK reads them itself, and its errors quote them.
pub(super) fn check_endpoint_variables(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), Error> {
    match vars
        .into_iter()
        .find(|(name, url)| name.starts_with(ENDPOINT_VARIABLES) && has_userinfo(url))
    {
        Some((name, _)) => Err(userinfo_error(&format!("the environment variable {name}"))),
        None => Ok(()),
    }
}

/// Userinfo cannot work (AWS requests are signed with keys, and the SDK signs the user name and
/// password as part of the host, so AWS refuses the signature), and any message about the
/// endpoint would show it.
fn userinfo_error(what: &str) -> Error {
    Error::config(format!(
        "{what} holds a user name or password (user:password@host): remove them, AWS calls are signed with the access keys (the value is not shown)"
    ))
}

/// Whether `url` (with or without its scheme) has a user name or password.
fn has_userinfo(url: &str) -> bool {
    let authority = url.find("://").map_or(url, |i| &url[i + 3..]);
    userinfo_end(authority).is_some()
}

/// Where the `@` that ends the user name and password at the start of `authority` stands, if
/// there is one: the authority ends at the first `/`, `?`, `#`, white space or quote, and the
/// host after its last `@`.
fn userinfo_end(authority: &str) -> Option<usize> {
    let end = authority
        .find(|c: char| "/?#`'\"<>".contains(c) || c.is_whitespace())
        .unwrap_or(authority.len());
    authority[..end].rfind('@')
}

/// `text` with the user name and password of every URL in it (`scheme://user:pass@host`)
/// replaced: for endpoints shown in messages and the SDK's error texts, which quote them.
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (scheme, authority) = rest.split_at(i + 3);
        out.push_str(scheme);
        rest = match userinfo_end(authority) {
            Some(at) => {
                out.push_str(REDACTED);
                &authority[at..]
            }
            None => authority,
        };
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn userinfo_is_redacted_wherever_a_url_stands() {
        for (text, shown) in [
            ("http://u:p@127.0.0.1:9", "http://***@127.0.0.1:9"),
            (
                "https://user@host/path@x?q=a@b",
                "https://***@host/path@x?q=a@b",
            ),
            ("https://a@b@host", "https://***@host"),
            ("http://host:9000/", "http://host:9000/"),
            (
                "Custom endpoint `http://u:p@h/?x` was not a valid URI; also https://k:s@other",
                "Custom endpoint `http://***@h/?x` was not a valid URI; also https://***@other",
            ),
            (
                "User: arn:aws:sts::1:assumed-role/r/me@example.com",
                "User: arn:aws:sts::1:assumed-role/r/me@example.com",
            ),
        ] {
            assert_eq!(redact_userinfo(text), shown, "{text}");
        }
    }

    #[test]
    fn urls_with_userinfo_are_refused_without_showing_it() {
        for field in ["endpoint_url", "trail_logs.endpoint_url"] {
            for url in [
                "http://MARK:word@127.0.0.1:9",
                "MARK:word@minio:9000",
                "ftp://MARK@h",
            ] {
                let e = endpoint_url(field, Some(url.into()))
                    .unwrap_err()
                    .to_string();
                assert!(
                    e.starts_with(&format!("{field} holds a user name or password")),
                    "{e}"
                );
                assert!(!e.contains("MARK"), "{e}");
            }
        }
        let vars = |name: &str, url: &str| {
            vec![
                ("HOME".to_string(), "/x@y".to_string()),
                (name.to_string(), url.to_string()),
            ]
        };
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_CLOUDTRAIL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_STS",
        ] {
            let e = check_endpoint_variables(vars(name, "http://MARK:w@h:1"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("the environment variable {name} holds"))
                    && !e.contains("MARK"),
                "{e}"
            );
            assert!(check_endpoint_variables(vars(name, "http://h:1/a@b")).is_ok());
        }
    }

    proptest! {
        /// Whatever surrounds it, the user name and password of a URL never survive redaction,
        /// and a text without `://` is left as it is.
        #[test]
        fn no_userinfo_survives(before in "\\PC{0,20}", user in "[a-zA-Z0-9:%._~-]{1,12}", host in "[a-z0-9.-]{1,12}",
            after in "\\PC{0,20}", plain in "[^:]{0,40}") {
            let text = format!("{before} http://{user}SECRETmark@{host}{after}");
            prop_assert!(!redact_userinfo(&text).contains("SECRETmark"), "{}", redact_userinfo(&text));
            prop_assert_eq!(redact_userinfo(&plain), plain.as_str());
        }
    }
}
