//! The SHA-256 of an S3 object's uncompressed content, computed as it streams (never the whole
//! file in memory), and digest files read whole with their signature metadata.

use std::collections::HashMap;
use std::io::Read;

use aws_lc_rs::digest::{Context, SHA256};

use super::super::file::{pump, Chunks, MAX_DOWNLOADS};
use super::verify::hex;
use crate::aws::call::{Retry, RetryBudget};
use crate::aws::s3::BucketClient;
use crate::error::{AwsFailure, AwsProblem};

/// What hashing a log file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The hex SHA-256 of the uncompressed bytes, and their number.
    Hashed { sha256: String, bytes: u64 },
    /// Not gzip, truncated, or trailing garbage: why.
    Unreadable(String),
}

/// Gunzips and hashes one download; `Err` when the download broke (fetch it again).
fn hash_download(chunks: Chunks) -> Result<Content, String> {
    let mut decoder = flate2::bufread::MultiGzDecoder::new(chunks);
    let mut hash = Context::new(&SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    let outcome = loop {
        match decoder.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                hash.update(&buffer[..n]);
                bytes += n as u64;
            }
            Err(e) => break Err(e),
        }
    };
    let (compressed, broken) = decoder.into_inner().outcome();
    if let Some(cause) = broken {
        return Err(cause);
    }
    Ok(match outcome {
        Ok(()) => Content::Hashed {
            sha256: hex(hash.finish().as_ref()),
            bytes,
        },
        Err(_) if compressed == 0 => Content::Unreadable("the file is empty (0 bytes)".into()),
        Err(e) => Content::Unreadable(format!("not a readable gzip file ({e})")),
    })
}

/// Downloads `key` into `decode` (on a blocking thread), fetching it again when the download
/// breaks; returns what `decode` made of it and the object's user metadata. `Err` when S3
/// refuses or lost it (`NotFound`, `AccessDenied`, …) or it cannot be fetched whole.
async fn fetch<T: Send + 'static>(
    bucket: &BucketClient,
    key: &str,
    decode: fn(Chunks) -> Result<T, String>,
) -> Result<(T, HashMap<String, String>), AwsFailure> {
    let site = bucket.site("GetObject", Some(key));
    let mut retry = Retry::new(&bucket.pacer, &bucket.stop, RetryBudget::SYNC);
    let mut downloads = 0;
    loop {
        let request = bucket.client.get_object().bucket(&bucket.bucket).key(key);
        let response = retry
            .call(&site, |_, _| {}, || request.clone().send())
            .await?;
        downloads += 1;
        let metadata = response.metadata().cloned().unwrap_or_default();
        let (tx, chunks) = Chunks::channel();
        let decoder = tokio::task::spawn_blocking(move || decode(chunks));
        pump(response.body, tx, &bucket.stop).await;
        let decoded = decoder.await.map_err(|e| {
            site.failure(AwsProblem::Other, None, format!("the decoder stopped: {e}"))
        })?;
        if bucket.stop.is_cancelled() {
            return Err(site.failure(AwsProblem::Stopped, None, String::new()));
        }
        let cause = match decoded {
            Ok(content) => return Ok((content, metadata)),
            Err(cause) => cause,
        };
        let broke = |detail| site.failure(AwsProblem::Unreachable, None, detail);
        if downloads == MAX_DOWNLOADS {
            return Err(broke(format!(
                "the download broke {MAX_DOWNLOADS} times (last: {cause})"
            )));
        }
        retry.pause_after(broke(cause), |_, _| {}).await?;
    }
}

/// Hashes `key`'s uncompressed content as it streams.
pub async fn hash_object(bucket: &BucketClient, key: &str) -> Result<Content, AwsFailure> {
    Ok(fetch(bucket, key, hash_download).await?.0)
}

/// A digest file as read: its uncompressed bytes and the signature metadata S3 keeps with it.
#[derive(Debug, Clone)]
pub struct DigestObject {
    /// `Err` when the body is not gzip, or too large: why.
    pub content: Result<Vec<u8>, String>,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
}

/// Digests list a few thousand files at most: anything far larger is not a digest.
const DIGEST_LIMIT: u64 = 64 * 1024 * 1024;

/// Gunzips a digest whole; `Err` when the download broke.
fn read_download(chunks: Chunks) -> Result<Result<Vec<u8>, String>, String> {
    let mut decoder = flate2::bufread::MultiGzDecoder::new(chunks);
    let mut out = Vec::new();
    let read = (&mut decoder).take(DIGEST_LIMIT + 1).read_to_end(&mut out);
    let (_, broken) = decoder.into_inner().outcome();
    match (broken, read) {
        (Some(cause), _) => Err(cause),
        (None, Ok(_)) if out.len() as u64 > DIGEST_LIMIT => Ok(Err(format!(
            "over {} MB uncompressed: not a digest",
            DIGEST_LIMIT >> 20
        ))),
        (None, Ok(_)) => Ok(Ok(out)),
        (None, Err(e)) => Ok(Err(format!("not a readable gzip file ({e})"))),
    }
}

/// Reads a digest file whole (it is small) with its signature metadata.
pub async fn read_digest(bucket: &BucketClient, key: &str) -> Result<DigestObject, AwsFailure> {
    let (content, mut metadata) = fetch(bucket, key, read_download).await?;
    Ok(DigestObject {
        content,
        signature: metadata.remove("signature"),
        signature_algorithm: metadata.remove("signature-algorithm"),
    })
}
