//! `discover`: the catalog of streams (the config is validated first: it decides the streams).

use std::path::Path;

use serde_json::json;

use super::Outcome;
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::Error;
use crate::streams;

pub fn discover(config: &Path, emitter: &Emitter) -> Result<Outcome, Error> {
    let config = Config::load(config)?;
    emitter.message(&json!({"type": "CATALOG", "catalog": {"streams": streams::catalog(&config)}}));
    Ok(Outcome::Success)
}
