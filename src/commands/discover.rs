//! `discover`: the catalog of streams (the config is validated first: it decides the streams).

use std::path::Path;

use super::Outcome;
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::Error;
use crate::protocol::{Catalog, Message};
use crate::streams;

pub fn discover(config: &Path, emitter: &Emitter) -> Result<Outcome, Error> {
    let config = Config::load(config)?;
    let streams = streams::offered(&config)
        .iter()
        .map(|s| s.catalog_entry())
        .collect();
    emitter.send(&Message::Catalog {
        catalog: Catalog { streams },
    });
    Ok(Outcome::Success)
}
