//! `Secret`, a credential from the config: never shown by `Debug` or `Display`, and never quoted
//! by an error about it.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

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

#[cfg(test)]
mod tests {
    use super::super::parse_json as parse;

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
