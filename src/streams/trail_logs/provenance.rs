//! The provenance columns every S3 stream adds to its records (the file a record was read from):
//! one type, whose schema the record types flatten in, whose serialisation the readers write, and
//! whose names the scanner reserves.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::folders::LogFolder;
use crate::schema::schema_for;

/// Where a record was read from: the file and its folder's account, region and organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogFileColumns {
    /// The bucket the file was read from.
    pub log_file_bucket: String,
    /// The file's S3 key (the digest's, for a digest).
    pub log_file_key: String,
    /// The account of the file's folder.
    pub log_file_account_id: String,
    /// The region of the file's folder.
    pub log_file_region: String,
    /// The organization of the folder, for an organization trail.
    pub log_file_organization_id: Option<String>,
}

impl LogFileColumns {
    /// The columns of the file at `key` (the whole key) of `folder` in `bucket`.
    pub fn of(bucket: &str, folder: &LogFolder, key: String) -> LogFileColumns {
        LogFileColumns {
            log_file_bucket: bucket.to_string(),
            log_file_key: key,
            log_file_account_id: folder.account.clone(),
            log_file_region: folder.region.clone(),
            log_file_organization_id: folder.organization_id.clone(),
        }
    }
}

/// The names of the provenance columns: a record's own values of them are removed (the RECORD
/// would name them twice).
pub static PROVENANCE_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let schema = schema_for::<LogFileColumns>();
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    properties.keys().cloned().collect()
});

/// `PROVENANCE_COLUMNS` as the scanner takes them.
pub fn provenance_names() -> Vec<&'static str> {
    PROVENANCE_COLUMNS.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_names_are_the_written_columns() {
        let folder = LogFolder {
            path: "p/".into(),
            account: "1".into(),
            region: "r".into(),
            organization_id: None,
        };
        let columns = serde_json::to_value(LogFileColumns::of("b", &folder, "p/k".into())).unwrap();
        let mut names: Vec<&str> = columns
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = provenance_names();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want);
        assert_eq!(want.len(), 5);
    }
}
