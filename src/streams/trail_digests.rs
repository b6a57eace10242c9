//! The `trail_digests` stream: one record per digest file of a trail's `CloudTrail-Digest/`
//! folders, its native fields plus the verdicts of validating it: its signature, its link to the
//! previous digest, and the hash of every log file it lists.

use std::sync::Arc;

use serde_json::Value;

use super::checkpoint::Checkpointer;
use super::trail_logs::digests::{self, DigestFolder, TrailDigest};
use super::trail_logs::TrailState;
use super::{catalog_entry, ReadContext, ReadFuture, ReadReport, Stream};
use crate::aws::public_keys::KeyRing;
use crate::protocol::AirbyteStream;
use crate::schema::schema_for;

pub const NAME: &str = "trail_digests";

pub struct TrailDigests;

pub static TRAIL_DIGESTS: TrailDigests = TrailDigests;

pub fn schema() -> Value {
    schema_for::<TrailDigest>()
}

impl Stream for TrailDigests {
    type State = TrailState<DigestFolder>;

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

    fn read(
        &'static self,
        context: Arc<ReadContext>,
        state: TrailState<DigestFolder>,
        checkpointer: Checkpointer,
    ) -> ReadFuture {
        Box::pin(async move {
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
        })
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
