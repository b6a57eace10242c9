//! What Airbyte hands the connector besides the config: the configured catalog.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

#[derive(Debug, Deserialize)]
pub struct ConfiguredCatalog {
    pub streams: Vec<ConfiguredStream>,
}

/// One configured stream; other fields (`destination_sync_mode`, `cursor_field`,
/// `generation_id`…) are accepted and not needed.
#[derive(Debug, Deserialize)]
pub struct ConfiguredStream {
    pub stream: StreamName,
    pub sync_mode: SyncMode,
}

#[derive(Debug, Deserialize)]
pub struct StreamName {
    pub name: String,
}

impl ConfiguredCatalog {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = read_input(path, "catalog")?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            Error::config(format!(
                "the configured catalog is not valid: at {}: {}",
                e.path(),
                e.inner()
            ))
        })
    }
}

/// Reads an input file named `what` for messages.
pub fn read_input(path: &Path, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })
}
