//! `spec`: the connection specification, generated from `RawConfig`.

use serde_json::json;

use super::Outcome;
use crate::config::RawConfig;
use crate::emit::Emitter;
use crate::error::Error;
use crate::schema::schema_for;

pub const DOCUMENTATION_URL: &str = "https://docs.airbyte.com/integrations/sources/aws-cloudtrail";

pub fn spec(emitter: &Emitter) -> Result<Outcome, Error> {
    emitter.message(&json!({
        "type": "SPEC",
        "spec": {
            "documentationUrl": DOCUMENTATION_URL,
            "connectionSpecification": schema_for::<RawConfig>(),
            "supportsIncremental": true,
            "protocol_version": "0.2.0"
        }
    }));
    Ok(Outcome::Success)
}
