//! The `trail_digests` record: a digest file's native fields and the verdicts of validating it
//! (its signature, its link to the previous digest, the hash of every log file it lists).

use schemars::JsonSchema;
use serde::Serialize;

use super::verify::DigestFile;
use crate::schema::Timestamp;
use crate::streams::trail_logs::LogFileColumns;

/// A CloudTrail digest file, validated.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrailDigest {
    /// The key the digest file was read at: the primary key, so a file can only ever be the
    /// row of its own key (a copy claiming to be another digest never replaces that one's row).
    pub digest_s3_object: String,
    /// The key the digest file says it was delivered to (its `digestS3Object` field): the same
    /// as `digestS3Object` for a genuine digest; otherwise the digest was moved, copied or
    /// planted, and `problems` says so.
    pub claimed_digest_s3_object: Option<String>,
    /// The digest's own fields, as it writes them.
    #[serde(flatten)]
    pub fields: DigestFile,
    /// The log files delivered in the digest's window, each with its verdict, in the digest's
    /// order (at most 3 MB of them: `problems` says when some are left out).
    pub log_files: Vec<DigestLogFile>,
    /// The digest's signature (S3 metadata `x-amz-meta-signature`) verifies with the public key
    /// it names, valid when it was written, over CloudTrail's signing string, and the digest is
    /// where it says it was delivered.
    pub signature_valid: bool,
    /// The previous digest of the same account-region and trail exists and is the one whose
    /// signature and hash this digest carries (null for a digest that starts a chain: logging
    /// or validation was (re)started).
    pub chain_valid: Option<bool>,
    /// Whatever validation found wrong, in plain words (empty when all is well).
    pub problems: Vec<String>,
    /// A backfill digest (`_backfill`): files the hourly digest left out; its own chain.
    pub backfill: bool,
    /// The digest file: its key is `logFileKey`.
    #[serde(flatten)]
    pub log_file: LogFileColumns,
}

/// A log file a digest lists, with what reading it found.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestLogFile {
    pub s3_bucket: Option<String>,
    pub s3_object: Option<String>,
    /// Hex SHA-256 of the uncompressed log file at delivery.
    pub hash_value: Option<String>,
    pub hash_algorithm: Option<String>,
    #[schemars(with = "Option<Timestamp>")]
    pub newest_event_time: Option<String>,
    #[schemars(with = "Option<Timestamp>")]
    pub oldest_event_time: Option<String>,
    pub status: LogFileStatus,
    /// Hex SHA-256 of the uncompressed log file as read now, when it could be read.
    pub actual_hash_value: Option<String>,
}

/// What became of a listed log file: `valid` (its content is what CloudTrail delivered),
/// `modified` (changed after delivery), `missing` (deleted, or never delivered), `unreadable`
/// (not checked: access denied, not gzip, in a bucket this connection does not read, outside
/// the digest's account-region folders, not a log file entry, or listed by a digest whose
/// signature is not valid).
// Variants without doc comments: schemars then writes a plain `enum` of strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFileStatus {
    #[default]
    Valid,
    Modified,
    Missing,
    Unreadable,
}
