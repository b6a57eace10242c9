//! Reading one log file: GetObject streamed chunk by chunk into a decoder thread that gunzips,
//! splits `Records` and writes each record as a RECORD line around its original bytes, in
//! batches. A download cut short is fetched again, skipping the records already written. Some
//! copy tools store log files uncompressed but keep the `.json.gz` name: the first bytes tell
//! gzip from JSON, and such a file is read as it is.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::scan::{keeps, Changed, Element, FileProblem, RecordProblem, RecordSplitter, Shape};
use crate::aws::call::{Retry, RetryBudget};
use crate::aws::limits::{MinThroughput, NetworkPace};
use crate::aws::s3::BucketClient;
use crate::config::EventFilter;
use crate::emit::{Emitter, LogLevel, RecordBatch, RecordTail};
use crate::error::{AwsFailure, AwsProblem};

/// Records are handed to the emitter in batches of about this many bytes.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches of chunks buffered between the download and the decoder, per file.
const BATCHES_IN_FLIGHT: usize = 4;
/// Chunks are handed to the decoder in batches of this many compressed bytes (or the whole
/// file): one wake-up of the decoder per batch rather than per network read.
const BATCH_BYTES_COMPRESSED: usize = 64 * 1024;
/// A body that sends nothing for this long is treated as a dropped connection.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// Downloads of one file cut short this many times make the file fail.
pub(super) const MAX_DOWNLOADS: u32 = 6;

/// What reading a file gave.
#[derive(Debug, Default)]
pub struct FileRead {
    pub records: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// Records rebuilt with values that contradicted the schema nulled.
    pub rebuilt: u64,
    /// `Records` elements that are not objects, or could not be rebuilt: not written.
    pub dropped: u64,
    /// Records skipped because they cannot be written (not JSON, not UTF-8, too deep, too
    /// large); the records after them are read.
    pub unreadable: u64,
    /// The first few of them (their index in `Records`, and why), to be named in warnings.
    pub unreadable_named: Vec<(u64, RecordProblem)>,
    /// Why the rest of the file was skipped, if it was.
    pub problem: Option<String>,
    /// Records the event filter left out.
    pub filtered: u64,
    /// The file is plain JSON, not gzip, whatever its name says: read as it is.
    pub plain_json: bool,
}

/// How a stream's files are decoded: the shape records are checked against, and the event
/// filter, if the stream has one and it filters anything.
pub struct Decoding {
    pub shape: Arc<Shape>,
    pub filter: Option<EventFilter>,
}

/// Unreadable records named one by one per file; a hostile file of a million bad records
/// gives a count beyond, not a million warnings.
pub const UNREADABLE_NAMED: usize = 10;

impl FileRead {
    /// Adds what a later download of the same file read.
    fn add(&mut self, more: FileRead) {
        self.records += more.records;
        self.uncompressed_bytes += more.uncompressed_bytes;
        self.compressed_bytes += more.compressed_bytes;
        self.rebuilt += more.rebuilt;
        self.dropped += more.dropped;
        self.unreadable += more.unreadable;
        self.filtered += more.filtered;
        self.plain_json |= more.plain_json;
        let room = UNREADABLE_NAMED.saturating_sub(self.unreadable_named.len());
        self.unreadable_named
            .extend(more.unreadable_named.into_iter().take(room));
        self.problem = more.problem;
    }
}

/// The compressed body as it arrives, read by the decoder thread.
pub(super) struct Chunks {
    rx: mpsc::Receiver<Result<Vec<Bytes>, String>>,
    /// The current batch, reversed: the next chunk is last.
    batch: Vec<Bytes>,
    chunk: Bytes,
    pos: usize,
    bytes: u64,
    /// Set when the download broke: the file must be fetched again.
    broken: Option<String>,
}

impl Chunks {
    /// A body's channel: `pump` fills the sender, the decoder thread reads the chunks.
    pub(super) fn channel() -> (mpsc::Sender<Result<Vec<Bytes>, String>>, Chunks) {
        let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
        let chunks = Chunks {
            rx,
            batch: Vec::new(),
            chunk: Bytes::new(),
            pos: 0,
            bytes: 0,
            broken: None,
        };
        (tx, chunks)
    }

    /// The body's first `n` bytes (fewer when it is shorter), without consuming them: joins the
    /// first chunks when they are smaller.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.chunk.len() - self.pos < n {
            let next = match self.batch.pop() {
                Some(chunk) => chunk,
                None => match self.rx.blocking_recv() {
                    Some(Ok(mut batch)) => {
                        batch.reverse();
                        self.batch = batch;
                        continue;
                    }
                    Some(Err(e)) => {
                        self.broken = Some(e.clone());
                        return Err(io::Error::other(format!("download interrupted: {e}")));
                    }
                    None => break,
                },
            };
            self.bytes += next.len() as u64;
            let mut joined = Vec::with_capacity(self.chunk.len() - self.pos + next.len());
            joined.extend_from_slice(&self.chunk[self.pos..]);
            joined.extend_from_slice(&next);
            self.chunk = Bytes::from(joined);
            self.pos = 0;
        }
        Ok(&self.chunk[self.pos..])
    }

    /// Compressed bytes read, and why the download broke, if it did.
    pub(super) fn outcome(&self) -> (u64, Option<String>) {
        (self.bytes, self.broken.clone())
    }
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.chunk.len() {
            if let Some(chunk) = self.batch.pop() {
                self.bytes += chunk.len() as u64;
                self.chunk = chunk;
                self.pos = 0;
                continue;
            }
            match self.rx.blocking_recv() {
                Some(Ok(mut batch)) => {
                    batch.reverse();
                    self.batch = batch;
                }
                Some(Err(e)) => {
                    self.broken = Some(e.clone());
                    return Err(io::Error::other(format!("download interrupted: {e}")));
                }
                None => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.chunk.len());
    }
}

thread_local! {
    /// The window and output buffer of the last file decoded on this thread: allocating them
    /// afresh for every file costs page faults and zeroing.
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Buffers grown beyond this (by a huge record) are not kept.
const KEPT_BUFFER: usize = super::scan::SHARED_WINDOW;

/// Bytes looked at to tell gzip from JSON: the gzip magic, or JSON's `{` after whitespace.
const SNIFFED: usize = 64;

/// Whether a body's first bytes are JSON rather than gzip: not the gzip magic (1f 8b), and
/// `{` first once a UTF-8 byte order mark and whitespace are passed. Anything else is left to
/// the gzip decoder, which names it as not gzip.
fn is_plain_json(head: &[u8]) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) {
        return false;
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A file's bytes as the splitter reads them: gunzipped, or as they are for plain JSON.
// One per file being decoded, on its thread: the gzip state's size costs nothing to carry.
#[allow(clippy::large_enum_variant)]
enum Body {
    Gzip(flate2::bufread::MultiGzDecoder<Chunks>),
    Plain(Chunks),
}

impl Body {
    /// Gzip, unless the first bytes say JSON (a download broken before them: gzip, and the
    /// break is found by the read).
    fn sniffed(mut chunks: Chunks) -> Body {
        match chunks.peek(SNIFFED) {
            Ok(head) if is_plain_json(head) => Body::Plain(chunks),
            _ => Body::Gzip(flate2::bufread::MultiGzDecoder::new(chunks)),
        }
    }

    fn into_chunks(self) -> Chunks {
        match self {
            Body::Gzip(decoder) => decoder.into_inner(),
            Body::Plain(chunks) => chunks,
        }
    }
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Gzip(decoder) => decoder.read(out),
            Body::Plain(chunks) => chunks.read(out),
        }
    }
}

/// What one pass of the decoder did.
struct Decoded {
    read: FileRead,
    broken: Option<String>,
}

/// Decodes one download of a file, writing its records after the first `skip` elements.
fn decode(
    name: &'static str,
    chunks: Chunks,
    skip: u64,
    decoding: &Decoding,
    tail: &RecordTail,
    emitter: &Emitter,
    written: &AtomicU64,
) -> Decoded {
    let shape = &*decoding.shape;
    let (window, out) = BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    let mut out = RecordBatch::with_buffer(name, out);
    let body = Body::sniffed(chunks);
    let mut read = FileRead {
        plain_json: matches!(body, Body::Plain(_)),
        ..FileRead::default()
    };
    let mut splitter = RecordSplitter::with_window(body, window).filtering(decoding.filter.clone());
    let mut elements = 0u64;
    let mut scratch = Vec::new();
    let mut changes = Vec::new();
    let outcome = loop {
        let element = match splitter.next(shape) {
            Ok(Some(e)) => e,
            Ok(None) => break None,
            Err(problem) => break Some(problem),
        };
        elements += 1;
        if elements <= skip {
            continue;
        }
        if let (Element::Record { bytes, picks, .. }, Some(filter)) = (&element, &decoding.filter) {
            if !keeps(filter, bytes, picks) {
                read.filtered += 1;
                continue;
            }
        }
        match element {
            Element::Record {
                bytes, fits: true, ..
            } => {
                out.push_object(bytes, tail, b"");
                read.uncompressed_bytes += bytes.len() as u64;
            }
            Element::Record {
                bytes, fits: false, ..
            } => {
                read.uncompressed_bytes += bytes.len() as u64;
                match rebuild(bytes, shape, &mut scratch, &mut changes) {
                    Some(nulled) => {
                        out.push_object(&scratch, tail, &changes);
                        read.rebuilt += u64::from(nulled > 0);
                    }
                    None => {
                        read.dropped += 1;
                        continue;
                    }
                }
            }
            Element::NotAnObject => {
                read.dropped += 1;
                continue;
            }
            Element::Filtered => {
                read.filtered += 1;
                continue;
            }
            Element::Unreadable(problem) => {
                read.unreadable += 1;
                if read.unreadable_named.len() < UNREADABLE_NAMED {
                    read.unreadable_named.push((elements - 1, problem));
                }
                continue;
            }
        }
        read.records += 1;
        if out.bytes() >= BATCH_BYTES {
            emitter.records(&mut out);
            // Only after the records are out: a checkpoint may then count them as written.
            written.fetch_max(elements, Ordering::Release);
            if emitter.stop_signal().is_cancelled() {
                break None;
            }
        }
    };
    emitter.records(&mut out);
    written.fetch_max(elements, Ordering::Release);
    let (decoder, window) = splitter.into_parts();
    let out = out.into_buffer();
    if window.len() <= KEPT_BUFFER && out.capacity() <= KEPT_BUFFER {
        BUFFERS.with(|b| *b.borrow_mut() = (window, out));
    }
    let chunks = decoder.into_chunks();
    read.compressed_bytes = chunks.bytes;
    let broken = chunks.broken.clone();
    if broken.is_none() {
        read.problem = outcome.map(|p| match p {
            FileProblem::Read(_) if chunks.bytes == 0 => "the file is empty (0 bytes)".into(),
            FileProblem::Read(e)
                if e.kind() == io::ErrorKind::UnexpectedEof
                    || e.to_string().contains("incomplete") =>
            {
                format!("the gzip data ends early (truncated: {e})")
            }
            FileProblem::Read(e) => format!("not a readable gzip file ({e})"),
            other => other.to_string(),
        });
    }
    Decoded { read, broken }
}

/// The slow path (streaming, no tree): null what contradicts the schema, remove the record's
/// own values of the source's columns, write compact. `changes` gets the record's
/// `meta.changes` (empty for none): each value nulled because it contradicted the schema, and
/// each column removed, as `NULLED` with `SOURCE_SERIALIZATION_ERROR`.
fn rebuild(bytes: &[u8], shape: &Shape, out: &mut Vec<u8>, changes: &mut Vec<u8>) -> Option<usize> {
    let mut changed = Changed::default();
    let nulled = super::scan::rebuild(bytes, shape, out, &mut changed)?;
    changes.clear();
    // The protocol has no "replaced": a removed column's value is gone (NULLED), because the
    // RECORD cannot carry the name twice.
    let listed: Vec<serde_json::Value> = changed
        .nulled
        .iter()
        .chain(&changed.removed)
        .map(|field| serde_json::json!({"field": field, "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}))
        .collect();
    if !listed.is_empty() {
        serde_json::to_writer(&mut *changes, &listed).ok()?;
    }
    Some(nulled)
}

/// Hands a GetObject body to its decoder thread in batches, until the body ends, breaks (the
/// error is sent), is too slow, the decoder stops reading, or the read is stopped.
pub(super) async fn pump(
    mut body: aws_sdk_s3::primitives::ByteStream,
    tx: mpsc::Sender<Result<Vec<Bytes>, String>>,
    stop: &tokio_util::sync::CancellationToken,
) {
    let mut batch: Vec<Bytes> = Vec::new();
    let mut size = 0;
    // Only time spent waiting for the network counts: waits for the decoder are ours.
    let mut pace = NetworkPace::new(MinThroughput::BODIES);
    loop {
        let wait = pace.allowance().min(CHUNK_TIMEOUT);
        let asked = tokio::time::Instant::now();
        let next = tokio::select! {
            next = tokio::time::timeout(wait, body.next()) => next,
            // The decoder ends with what it was given; nobody reads the rest.
            _ = stop.cancelled() => Ok(None),
        };
        let next = match next {
            Ok(Some(Ok(chunk))) => {
                pace.arrived(chunk.len(), asked.elapsed());
                Some(Ok(chunk))
            }
            Ok(Some(Err(e))) => Some(Err(crate::aws::call::root_cause(&e))),
            Ok(None) => None,
            Err(_) if wait < CHUNK_TIMEOUT => Some(Err(pace.too_slow().to_string())),
            Err(_) => Some(Err(format!("no data for {}s", CHUNK_TIMEOUT.as_secs()))),
        };
        match next {
            Some(Ok(chunk)) => {
                size += chunk.len();
                batch.push(chunk);
                if size < BATCH_BYTES_COMPRESSED {
                    continue;
                }
            }
            Some(Err(e)) => {
                if !batch.is_empty() && tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                    break;
                }
                let _ = tx.send(Err(e)).await;
                break;
            }
            None => {
                if !batch.is_empty() {
                    let _ = tx.send(Ok(std::mem::take(&mut batch))).await;
                }
                break;
            }
        }
        // The decoder stops reading once the file turns out unreadable.
        if tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
            break;
        }
        size = 0;
    }
}

/// Reads `key` whole, after the first `written` elements of `Records` (written by an earlier
/// sync), keeping `written` up to date as records go out. `Err` only when S3 refuses the file
/// (after retries for what may pass).
pub async fn read_file(
    name: &'static str,
    bucket: &BucketClient,
    key: &str,
    decoding: Arc<Decoding>,
    tail: Arc<RecordTail>,
    emitter: Arc<Emitter>,
    written: Arc<AtomicU64>,
) -> Result<FileRead, AwsFailure> {
    let site = bucket.site("GetObject", Some(key));
    let mut total = FileRead::default();
    // One budget for the file, whether its GETs fail or its bodies break.
    let mut retry = Retry::new(&bucket.pacer, &bucket.stop, RetryBudget::SYNC);
    let mut downloads = 0;
    loop {
        let request = bucket.client.get_object().bucket(&bucket.bucket).key(key);
        let response = retry
            .call(&site, |_, _| {}, || request.clone().send())
            .await?;
        downloads += 1;
        let (tx, chunks) = Chunks::channel();
        let skip = written.load(Ordering::Acquire);
        let decoder = {
            let (decoding, tail, out) = (decoding.clone(), tail.clone(), emitter.clone());
            let progress = written.clone();
            tokio::task::spawn_blocking(move || {
                decode(name, chunks, skip, &decoding, &tail, &out, &progress)
            })
        };
        pump(response.body, tx, &bucket.stop).await;
        let decoded = decoder.await.map_err(|e| {
            site.failure(AwsProblem::Other, None, format!("the decoder stopped: {e}"))
        })?;
        total.add(decoded.read);
        if bucket.stop.is_cancelled() {
            return Err(site.failure(AwsProblem::Stopped, None, String::new()));
        }
        let Some(cause) = decoded.broken else {
            return Ok(total);
        };
        // Not skipped when it gives up: the file stays unread in the state, for the next sync.
        let broke = |detail| site.failure(AwsProblem::Unreachable, None, detail);
        if downloads == MAX_DOWNLOADS {
            return Err(broke(format!(
                "the download broke {MAX_DOWNLOADS} times (last: {cause})"
            )));
        }
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: the download of {} broke ({cause}); fetching it again after its first {} elements, already written",
                site.target.as_deref().unwrap_or(key),
                written.load(Ordering::Acquire)
            ),
        );
        retry.pause_after(broke(cause), |_, _| {}).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_gzip_from_plain_json() {
        for (head, plain) in [
            (&[0x1f, 0x8b, 0x08, 0x00][..], false),
            (b"{\"Records\":[]}", true),
            (b"\n  \t{\"Records\"", true),
            (b"\xef\xbb\xbf{\"Records\"", true),
            (b"not gzip at all", false),
            (b"[{\"eventID\":1}]", false),
            (b"", false),
            (b"   ", false),
        ] {
            assert_eq!(
                is_plain_json(head),
                plain,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    /// Chunks of one byte each: the peek joins them, and the bytes read after it are the
    /// body's, whole and in order.
    #[test]
    fn a_peek_over_tiny_chunks_keeps_every_byte() {
        let (tx, mut chunks) = Chunks::channel();
        let body = b"  {\"Records\":[{\"eventID\":\"a\"}]}";
        let batch: Vec<Bytes> = body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
        tx.try_send(Ok(batch)).unwrap();
        drop(tx);
        assert_eq!(chunks.peek(4).unwrap(), b"  {\"");
        let Body::Plain(mut chunks) = Body::sniffed(chunks) else {
            panic!("JSON after whitespace is plain");
        };
        let mut read = Vec::new();
        chunks.read_to_end(&mut read).unwrap();
        assert_eq!(read, body);
        assert_eq!(chunks.outcome(), (body.len() as u64, None));
    }
}
