//! `Secret`, a credential from the config: never shown by `Debug` or `Display`, never quoted by
//! an error about its type or its characters; and the check every credential field passes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::Error;

/// A credential: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` without this secret, as it was sent or as a form or a URL encodes it (an STS
    /// error may quote the request it refuses), each occurrence replaced by `shown_as`.
    pub fn redact<'a>(&self, text: &'a str, shown_as: &str) -> Cow<'a, str> {
        let forms = [
            self.0.clone(),
            percent_encoded(&self.0, false),
            percent_encoded(&self.0, true),
        ];
        if self.0.is_empty() || !forms.iter().any(|f| text.contains(f.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for form in forms {
            out = out.replace(&form, shown_as);
        }
        Cow::Owned(out)
    }

    /// `secret` as a credential field named `field` (see `credential_field`).
    pub(super) fn checked(field: &str, secret: Option<Secret>) -> Result<Option<Secret>, Error> {
        credential_field(field, secret.as_ref().map(Secret::expose)).map(|s| s.map(Secret))
    }
}

/// A credential field (key id, secret key, session token, external id, role ARN, session name)
/// as it is sent to AWS: without surrounding whitespace, `None` when blank (the Airbyte UI sends
/// "" for cleared fields). A character left inside that no credential has would make the SDK's
/// signer panic or fail as if the network were down: it is a config error naming `field`, and,
/// since the field may be a secret, never quoting the value.
pub(super) fn credential_field(field: &str, value: Option<&str>) -> Result<Option<String>, Error> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match unfit_character(value) {
        None => Ok(Some(value.to_string())),
        Some(what) => Err(Error::config(format!(
            "{field} contains {what}, which AWS does not accept there: copy the value again without it (the value is not shown)"
        ))),
    }
}

/// What kind of character of `value`, if any, cannot be part of an AWS credential or of an HTTP
/// header: credentials, role ARNs and session names are printable ASCII without spaces.
pub fn unfit_character(value: &str) -> Option<&'static str> {
    value.chars().find_map(|c| match c {
        '!'..='~' => None,
        '\n' | '\r' => Some("a line break"),
        c if c.is_whitespace() => Some("a space"),
        c if c.is_control() => Some("a control character"),
        _ => Some("a non-ASCII character"),
    })
}

/// `s` with every byte but RFC 3986's unreserved ones written `%XX`, as forms and URLs send it.
fn percent_encoded(s: &str, lower_hex: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ if lower_hex => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `deserialize_any`: the config is a `serde_json::Value`, whose `deserialize_string`
        // would report a wrong type itself, quoting the value.
        d.deserialize_any(SecretVisitor)
    }
}

/// Takes a string; any other type is named in the error, its value never (serde's own errors
/// quote it: "invalid type: integer `4242`").
struct SecretVisitor;

impl SecretVisitor {
    fn wrong<E: de::Error>(self, what: &str) -> Result<Secret, E> {
        Err(E::custom(format_args!(
            "invalid type: {what}, expected a string (the value is not shown)"
        )))
    }
}

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        self.wrong("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        self.wrong("a number")
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
        self.wrong("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        self.wrong("a number")
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
        self.wrong("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        self.wrong("a number")
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        self.wrong("bytes")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        self.wrong("an array")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        self.wrong("an object")
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

#[cfg(test)]
mod tests {
    use super::super::parse_json as parse;

    #[test]
    fn a_secret_is_redacted_raw_and_encoded() {
        let secret = super::Secret("ext+id/=1".into());
        let text = "ExternalId=ext%2Bid%2F%3D1 or ext%2bid%2f%3d1, raw ext+id/=1.";
        let shown = secret.redact(text, "[x]");
        assert_eq!(shown, "ExternalId=[x] or [x], raw [x].");
        assert!(matches!(
            secret.redact("nothing", "[x]"),
            std::borrow::Cow::Borrowed(_)
        ));
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
}

#[cfg(test)]
mod credential_tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::super::{parse_json, Config, CredentialSource, RawConfig, Role};

    /// Every credential field of the spec (the secrets and, unless `secrets_only`, the role's
    /// fields) as its path in the config: a new one is covered by these tests without being listed.
    fn fields(secrets_only: bool) -> Vec<String> {
        let spec = crate::schema::schema_for::<RawConfig>();
        let logs = &spec["properties"]["trail_logs"]["properties"];
        [("", &spec["properties"]), ("trail_logs.", logs)]
            .into_iter()
            .flat_map(|(at, properties)| {
                properties
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(move |(name, p)| {
                        p["airbyte_secret"] == true || (!secrets_only && name.starts_with("role_"))
                    })
                    .map(move |(name, _)| format!("{at}{name}"))
            })
            .collect()
    }

    /// A config where every credential field is set and valid, with `field` set to `value`.
    fn config_with(field: &str, value: &str) -> Value {
        let mut c = json!({
            "aws_key_id": "AKIA1", "aws_secret_key": "s1", "aws_session_token": "t1",
            "role_arn": "arn:aws:iam::123456789012:role/a", "role_external_id": "e1", "role_session_name": "n1",
            "trail_logs": {"bucket": "logs", "aws_key_id": "AKIA2", "aws_secret_key": "s2", "aws_session_token": "t2",
                "role_arn": "arn:aws:iam::123456789012:role/b", "role_external_id": "e2"}
        });
        match field.strip_prefix("trail_logs.") {
            Some(f) => c["trail_logs"][f] = json!(value),
            None => c[field] = json!(value),
        }
        c
    }

    /// Every credential the config sends to AWS.
    fn sent(c: &Config) -> Vec<String> {
        fn keys(s: &CredentialSource) -> Vec<String> {
            match s {
                CredentialSource::Static {
                    key_id,
                    secret,
                    session_token,
                } => [Some(key_id), Some(secret), session_token.as_ref()]
                    .into_iter()
                    .flatten()
                    .map(|s| s.expose().to_string())
                    .collect(),
                CredentialSource::DefaultChain => vec![],
            }
        }
        fn role(r: &Option<Role>) -> Vec<String> {
            r.iter()
                .flat_map(|r| {
                    [r.arn.clone(), r.session_name.clone()]
                        .into_iter()
                        .chain(r.external_id.iter().map(|e| e.expose().to_string()))
                })
                .collect()
        }
        let logs = c.trail_logs.as_ref().unwrap();
        [
            keys(&c.credentials),
            role(&c.role),
            keys(logs.credentials.as_ref().unwrap()),
            role(&logs.role),
        ]
        .concat()
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_from_every_credential() {
        let fields = fields(false);
        assert_eq!(fields.len(), 11, "{fields:?}");
        for field in &fields {
            let plain = parse_json(config_with(field, "arn:aws:iam::1:role/MARKED")).unwrap();
            let padded =
                parse_json(config_with(field, " \t arn:aws:iam::1:role/MARKED\r\n")).unwrap();
            assert_eq!(sent(&padded), sent(&plain), "{field}");
            assert!(sent(&plain)
                .iter()
                .any(|v| v == "arn:aws:iam::1:role/MARKED"));
        }
    }

    #[test]
    fn a_character_inside_that_aws_refuses_is_an_error_naming_the_field_not_the_value() {
        for field in fields(false) {
            for (bad, what) in [
                ("MARKED\nvalue", "a line break"),
                ("MARKED value", "a space"),
                ("MARKED\u{7}value", "a control character"),
                ("MARKED\u{a0}value", "a space"),
                ("MARKEDvalué", "a non-ASCII character"),
            ] {
                let e = parse_json(config_with(&field, bad))
                    .unwrap_err()
                    .to_string();
                assert!(e.starts_with(&format!("{field} contains {what}")), "{e}");
                assert!(!e.contains("MARKED"), "{e}");
            }
        }
    }

    #[test]
    fn a_secret_of_another_type_is_named_with_its_type_never_its_value() {
        let secrets = fields(true);
        assert_eq!(secrets.len(), 8, "{secrets:?}");
        for field in &secrets {
            for (value, kind) in [
                (json!(4_242_424_242u64), "a number"),
                (json!(-4242), "a number"),
                (json!(4242.4242), "a number"),
                (json!(true), "a boolean"),
                (json!(["4242"]), "an array"),
                (json!({"k": "4242"}), "an object"),
            ] {
                let mut c = config_with(field, "");
                match field.strip_prefix("trail_logs.") {
                    Some(f) => c["trail_logs"][f] = value,
                    None => c[field.as_str()] = value,
                }
                let e = parse_json(c).unwrap_err().to_string();
                let said = format!("config field {field}: invalid type: {kind}, expected a string");
                assert!(e.starts_with(&said), "{e}");
                assert!(!e.contains("4242") && !e.contains("true"), "{e}");
            }
        }
    }

    proptest! {
        /// Whatever a credential field holds, the config is refused naming the field, or every
        /// credential it sends is printable ASCII without spaces (what HTTP headers carry).
        #[test]
        fn credentials_sent_are_always_header_safe(field in proptest::sample::select(fields(false)),
            value in "[\\PC\\s\\x00-\\x1f\\x7f]{0,12}") {
            match parse_json(config_with(&field, &value)) {
                Ok(c) => prop_assert!(sent(&c).iter().all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))),
                Err(e) => {
                    let e = e.to_string();
                    prop_assert!(e.contains(&field), "{}", e);
                    // A role ARN is no secret: its format error quotes it.
                    if value.trim().len() >= 6 && !field.ends_with("role_arn") {
                        prop_assert!(!e.contains(value.trim()), "{}", e);
                    }
                }
            }
        }
    }
}
