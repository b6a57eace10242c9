//! The SHA-256 of an S3 object's uncompressed content, computed as it streams (never the whole
//! file in memory), each distinct object once per sync; and digest files read as their
//! compressed bytes (within a byte budget the whole sync shares) with their signature metadata.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{digest, Context, SHA256};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use super::super::file::{pump, Chunks, MAX_DOWNLOADS};
use super::entries::DIGEST_LIMIT;
use super::verify::hex;
use crate::aws::call::{Retry, RetryBudget};
use crate::aws::s3::BucketClient;
use crate::error::{AwsFailure, AwsProblem};

/// What hashing a log file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The hex SHA-256 of the uncompressed bytes, and their number.
    Hashed { sha256: String, bytes: u64 },
    /// Not gzip, truncated, trailing garbage, or over the limit: why.
    Unreadable(String),
}

/// Gunzips and hashes one download, up to `limit` uncompressed bytes; `Err` when the download
/// broke (fetch it again).
fn hash_download(chunks: Chunks, limit: u64) -> Result<Content, String> {
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
                if bytes > limit {
                    break Err(None);
                }
            }
            Err(e) => break Err(Some(e)),
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
        Err(None) => Content::Unreadable(format!(
            "over {} MB uncompressed: not a digest",
            limit >> 20
        )),
        Err(Some(_)) if compressed == 0 => {
            Content::Unreadable("the file is empty (0 bytes)".into())
        }
        Err(Some(e)) => Content::Unreadable(format!("not a readable gzip file ({e})")),
    })
}

/// What a download gave.
enum Fetched<T> {
    Decoded {
        value: T,
        metadata: HashMap<String, String>,
        /// The part of the byte budget the decoded value holds.
        permit: Option<OwnedSemaphorePermit>,
    },
    /// S3 says the object is larger than the budget lets one hold (bytes): not downloaded.
    TooLarge {
        bytes: u64,
        metadata: HashMap<String, String>,
    },
}

/// Compressed bytes one digest may take: a real digest is a few MB at most.
pub const DIGEST_COMPRESSED_LIMIT: u64 = 32 * 1024 * 1024;

/// Downloads `key` into `decode` (on a blocking thread), fetching it again when the download
/// breaks; returns what `decode` made of it (given at most how many bytes it may take) and the
/// object's user metadata. With a `budget`, the bytes the object has (its `Content-Length`, or
/// `DIGEST_COMPRESSED_LIMIT` unknown) are taken from it first and held by the result: the
/// digests read at once never hold more than the budget. `Err` when S3 refuses or lost it
/// (`NotFound`, `AccessDenied`, …) or it cannot be fetched whole.
async fn fetch<T: Send + 'static>(
    bucket: &BucketClient,
    key: &str,
    budget: Option<&Arc<Semaphore>>,
    decode: fn(Chunks, u64) -> Result<T, String>,
) -> Result<Fetched<T>, AwsFailure> {
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
        let (limit, permit) = match budget {
            None => (u64::MAX, None),
            Some(budget) => {
                let size = response
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok());
                if let Some(bytes) = size.filter(|n| *n > DIGEST_COMPRESSED_LIMIT) {
                    return Ok(Fetched::TooLarge { bytes, metadata });
                }
                // A body longer than S3 said is a broken download: it gets no more.
                let limit = size.unwrap_or(DIGEST_COMPRESSED_LIMIT);
                let permits = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
                let permit = budget
                    .clone()
                    .acquire_many_owned(permits)
                    .await
                    .map_err(|_| {
                        site.failure(AwsProblem::Other, None, "the byte budget closed".into())
                    })?;
                (limit, Some(permit))
            }
        };
        let (tx, chunks) = Chunks::channel();
        let decoder = tokio::task::spawn_blocking(move || decode(chunks, limit));
        pump(response.body, tx, &bucket.stop).await;
        let decoded = decoder.await.map_err(|e| {
            site.failure(AwsProblem::Other, None, format!("the decoder stopped: {e}"))
        })?;
        if bucket.stop.is_cancelled() {
            return Err(site.failure(AwsProblem::Stopped, None, String::new()));
        }
        let cause = match decoded {
            Ok(value) => {
                return Ok(Fetched::Decoded {
                    value,
                    metadata,
                    permit,
                })
            }
            Err(cause) => cause,
        };
        drop(permit);
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
    match fetch(bucket, key, None, |c, _| hash_download(c, u64::MAX)).await? {
        Fetched::Decoded { value, .. } => Ok(value),
        Fetched::TooLarge { .. } => Err(too_large_without_limit(bucket, key)),
    }
}

/// Without a budget nothing is too large: kept as an error rather than a panic.
fn too_large_without_limit(bucket: &BucketClient, key: &str) -> AwsFailure {
    bucket.site("GetObject", Some(key)).failure(
        AwsProblem::Other,
        None,
        "an object was refused as too large without a size limit".into(),
    )
}

/// A digest file as read: its compressed bytes and the signature metadata S3 keeps with it.
#[derive(Debug)]
pub struct DigestObject {
    /// `Err` when the body is too large to be a digest: why.
    pub compressed: Result<bytes::Bytes, String>,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
    /// The share of the sync's digest byte budget the bytes hold, given back when dropped.
    pub _held: Option<OwnedSemaphorePermit>,
}

/// Collects a digest's compressed bytes, at most `limit`; `Err` when the download broke.
fn collect_download(chunks: Chunks, limit: u64) -> Result<Vec<u8>, String> {
    let mut chunks = chunks;
    let mut out = Vec::new();
    let read = (&mut chunks).take(limit + 1).read_to_end(&mut out);
    let (_, broken) = chunks.outcome();
    match (broken, read) {
        (Some(cause), _) => Err(cause),
        (None, Err(e)) => Err(e.to_string()),
        (None, Ok(_)) if out.len() as u64 > limit => Err(format!(
            "the body is longer than the {limit} bytes S3 announced"
        )),
        (None, Ok(_)) => Ok(out),
    }
}

/// Reads a digest file's compressed bytes (taken from `budget`) with its signature metadata.
pub async fn read_digest(
    bucket: &BucketClient,
    key: &str,
    budget: &Arc<Semaphore>,
) -> Result<DigestObject, AwsFailure> {
    let (compressed, mut metadata, permit) =
        match fetch(bucket, key, Some(budget), collect_download).await? {
            Fetched::Decoded {
                value,
                metadata,
                permit,
            } => (Ok(bytes::Bytes::from(value)), metadata, permit),
            Fetched::TooLarge { bytes, metadata } => (
                Err(format!(
                    "{} MB compressed, over the {} MB of any digest: not a digest",
                    bytes >> 20,
                    DIGEST_COMPRESSED_LIMIT >> 20
                )),
                metadata,
                None,
            ),
        };
    Ok(DigestObject {
        compressed,
        signature: metadata.remove("signature"),
        signature_algorithm: metadata.remove("signature-algorithm"),
        _held: permit,
    })
}

/// A digest named as a predecessor, as its successor checks it: its SHA-256 (streamed, up to
/// `DIGEST_LIMIT`: never held) and its signature.
#[derive(Debug)]
pub struct DigestHash {
    pub content: Content,
    pub signature: Option<String>,
}

pub async fn hash_digest(bucket: &BucketClient, key: &str) -> Result<DigestHash, AwsFailure> {
    match fetch(bucket, key, None, |c, _| hash_download(c, DIGEST_LIMIT)).await? {
        Fetched::Decoded {
            value,
            mut metadata,
            ..
        } => Ok(DigestHash {
            content: value,
            signature: metadata.remove("signature"),
        }),
        Fetched::TooLarge { .. } => Err(too_large_without_limit(bucket, key)),
    }
}

/// What hashing one log file gave, shared by every entry that lists it.
pub type Hashed = Result<Content, AwsFailure>;

/// Distinct objects remembered per sync: as many as one digest may check, so that within a
/// digest every object is downloaded once whatever the order; past it the oldest are forgotten
/// (about 150 bytes each), so memory stays flat in a sync of millions of log files.
const REMEMBERED: usize = 100_000;

/// Every log file hashed in a sync, by key: each distinct object is downloaded once (entries
/// that list it while it downloads wait for that one download), `CONCURRENT` downloads at once.
pub struct HashOnce {
    known: Mutex<Known>,
    downloads: Semaphore,
}

#[derive(Default)]
struct Known {
    /// By the first 16 bytes of the key's SHA-256: a fixed size whatever the key's.
    cells: HashMap<[u8; 16], Arc<OnceCell<Hashed>>>,
    order: VecDeque<[u8; 16]>,
}

impl HashOnce {
    pub fn new(concurrent: usize) -> HashOnce {
        HashOnce {
            known: Mutex::new(Known::default()),
            downloads: Semaphore::new(concurrent),
        }
    }

    /// `key`'s hash, and whether this call downloaded it (false: another entry's download).
    pub async fn hash(&self, bucket: &BucketClient, key: &str) -> (Hashed, bool) {
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest(&SHA256, key.as_bytes()).as_ref()[..16]);
        let cell = {
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            let Known { cells, order } = &mut *known;
            match cells.get(&id) {
                Some(cell) => cell.clone(),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    cells.insert(id, cell.clone());
                    order.push_back(id);
                    while order.len() > REMEMBERED {
                        if let Some(old) = order.pop_front() {
                            cells.remove(&old);
                        }
                    }
                    cell
                }
            }
        };
        let mut downloaded = false;
        let hashed = cell
            .get_or_init(|| {
                downloaded = true;
                async {
                    let _permit = self.downloads.acquire().await;
                    hash_object(bucket, key).await
                }
            })
            .await
            .clone();
        (hashed, downloaded)
    }
}
