//! The `trail_digests` stream: one record per digest file of a trail's `CloudTrail-Digest/`
//! folders, its native fields plus the verdicts of validating it: its signature, its link to the
//! previous digest, and the hash of every log file it lists.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::saved_state::resume;
use super::trail_logs::digests::{self, DigestFolder};
use super::trail_logs::{LogFileColumns, TrailState};
use super::{catalog_entry, stream_read, ReadContext, ReadReport, Stream, StreamRead};
use crate::aws::public_keys::KeyRing;
use crate::error::Error;
use crate::protocol::{AirbyteStream, SyncMode};
use crate::schema::{schema_for, Timestamp};

pub const NAME: &str = "trail_digests";

pub struct TrailDigests;

pub static TRAIL_DIGESTS: TrailDigests = TrailDigests;

pub fn schema() -> Value {
    schema_for::<TrailDigest>()
}

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
    /// The bucket the digest says it was delivered to.
    pub digest_s3_bucket: Option<String>,
    /// The account whose logs the digest covers.
    pub aws_account_id: Option<String>,
    /// Start of the delivery window the digest covers (UTC).
    #[schemars(with = "Option<Timestamp>")]
    pub digest_start_time: Option<String>,
    /// End of the delivery window the digest covers (UTC).
    #[schemars(with = "Option<Timestamp>")]
    pub digest_end_time: Option<String>,
    /// Fingerprint of the public key that verifies the signature (from `ListPublicKeys`).
    pub digest_public_key_fingerprint: Option<String>,
    /// `SHA256withRSA`.
    pub digest_signature_algorithm: Option<String>,
    /// Newest event of the listed log files (UTC; null for a digest without files).
    #[schemars(with = "Option<Timestamp>")]
    pub newest_event_time: Option<String>,
    /// Oldest event of the listed log files (UTC; null for a digest without files).
    #[schemars(with = "Option<Timestamp>")]
    pub oldest_event_time: Option<String>,
    /// Bucket of the previous digest (null for a digest that starts a chain).
    pub previous_digest_s3_bucket: Option<String>,
    /// Key of the previous digest (null for a digest that starts a chain).
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of the previous digest's uncompressed content.
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    /// Hex signature of the previous digest.
    pub previous_digest_signature: Option<String>,
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

impl Stream for TrailDigests {
    fn name(&self) -> &'static str {
        NAME
    }

    fn catalog_entry(&self) -> AirbyteStream {
        catalog_entry(
            NAME,
            schema(),
            "digestS3Object",
            Some("digestS3Object"),
            true,
        )
    }

    fn prepare(
        &'static self,
        context: &Arc<ReadContext>,
        mode: SyncMode,
        saved: Option<&Value>,
    ) -> Result<StreamRead, Error> {
        let state = resume::<TrailState<DigestFolder>>(NAME, context, mode, saved)?;
        let context = context.clone();
        Ok(stream_read(move |checkpointer| async move {
            let (logs, bucket) = match context.bucket().await {
                Ok(b) => b,
                Err(e) => return ReadReport::failed(e),
            };
            let keys = match context.cloudtrail().await {
                Ok(connection) => Arc::new(KeyRing::new(
                    connection
                        .base
                        .in_region(&context.config.regions[0], &context.config),
                    &context.config,
                )),
                Err(e) => return ReadReport::failed(e.for_stream(NAME)),
            };
            match digests::read(NAME, bucket, logs, keys, state, &context.emitter, checkpointer).await {
                Ok(read) => ReadReport {
                    summary: Some(format!(
                        "{NAME}: {} digests checked ({} with problems), {} log files hashed ({} MB uncompressed)",
                        read.digests,
                        read.with_problems,
                        read.log_files,
                        read.uncompressed_bytes / 1_000_000
                    )),
                    errors: vec![],
                },
                Err(errors) => ReadReport {
                    summary: None,
                    errors,
                },
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_the_native_fields_and_the_verdicts() {
        let s = schema();
        let properties = s["properties"].as_object().unwrap();
        for name in [
            "digestS3Object",
            "claimedDigestS3Object",
            "digestEndTime",
            "previousDigestSignature",
            "logFiles",
            "signatureValid",
            "chainValid",
            "problems",
            "logFileKey",
        ] {
            assert!(properties.contains_key(name), "{name}");
        }
        let file = &s["properties"]["logFiles"]["items"]["properties"];
        assert_eq!(
            file["status"]["enum"],
            serde_json::json!(["valid", "modified", "missing", "unreadable"])
        );
        assert!(file.get("actualHashValue").is_some());
        assert_eq!(s["properties"]["digestEndTime"]["format"], "date-time");
        let mut lower: Vec<String> = properties.keys().map(|k| k.to_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(
            lower.len(),
            properties.len(),
            "two names differ only by case"
        );
    }
}
