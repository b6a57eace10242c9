//! `spec`: the connection specification, generated from `RawConfig`.

use super::Outcome;
use crate::config::RawConfig;
use crate::emit::Emitter;
use crate::error::Error;
use crate::protocol::{Message, Spec};
use crate::schema::schema_for;

pub const DOCUMENTATION_URL: &str = "https://docs.airbyte.com/integrations/sources/aws-cloudtrail";

pub fn spec(emitter: &Emitter) -> Result<Outcome, Error> {
    emitter.send(&Message::Spec {
        spec: Spec {
            documentation_url: DOCUMENTATION_URL,
            connection_specification: schema_for::<RawConfig>(),
            supports_incremental: true,
            protocol_version: "0.2.0",
        },
    });
    Ok(Outcome::Success)
}
