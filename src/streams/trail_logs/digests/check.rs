//! One digest checked: read (its compressed bytes, within the sync's byte budget), its fields
//! and SHA-256 read as they stream, its signature and key verified, its chain link checked, and
//! the log files it lists (only when CloudTrail signed it, only in its own account-region
//! folders) hashed as a bounded stream of entries; the record built from what was found, of a
//! bounded size whatever the digest lists.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::entries::{read_head, stream_entries, Element, Head, Unfit};
use super::hash::{hash_digest, read_digest, Content, HashOnce, Hashed};
use super::record::{DigestLogFile, LogFileStatus, TrailDigest};
use super::verify::{
    chain_link, chain_of, in_log_folders, log_folders_of, parse_time, select_key,
    signature_verifies, signing_string, unusable_key, DigestFile, KeyProblem, ALGORITHM,
};
use super::Shared;
use crate::aws::s3::BucketClient;
use crate::error::{AwsFailure, AwsProblem};
use crate::streams::trail_logs::LogFileColumns;
use crate::streams::trail_logs::LogFolder;
use crate::time::format_epoch;

/// Log files hashed at once, over all folders.
const CONCURRENT_HASHES: usize = 32;
/// Compressed digest bytes held at once, over all folders: 64 folders of the largest digests
/// never hold more (each takes its share before downloading, and waits for it).
const DIGEST_BYTES: usize = 96 * 1024 * 1024;
/// Entries of one digest checked: CloudTrail's hourly digests list far fewer; past it a digest
/// only costs its parsing.
pub const ENTRY_LIMIT: u64 = 100_000;
/// Bytes of `logFiles` a record holds, and of `problems`: a record stays a few MB whatever the
/// digest lists.
const FILES_LIMIT: usize = 3 * 1024 * 1024;
const PROBLEMS_LIMIT: usize = 1024 * 1024;
/// Problems on log files named one by one; past them they are counted by kind.
const NAMED_PROBLEMS: usize = 1000;
/// Records past this size are built a few at a time (`LARGE_RECORDS`), so 64 folders' records
/// never hold more than a few records of the largest size.
const SMALL_RECORD: usize = 256 * 1024;
const LARGE_RECORDS: usize = 4;
/// Entries of one digest in flight (hashing or waiting to be written), in order.
const WINDOW: usize = 64;
/// Entries handed from the parsing thread at a time (one batch waits in the channel): with
/// entries of at most 8 KB, a digest's entries in flight stay under 2 MB.
const BATCH: usize = 64;
/// Values the digest gives shown in problems at most this long: a hostile digest's field never
/// makes a problem long.
const SHOWN: usize = 200;

/// What every digest of a sync shares: the log files hashed, and the memory budgets.
pub(super) struct SyncChecks {
    hashes: Arc<HashOnce>,
    digest_bytes: Arc<Semaphore>,
    large_records: Arc<Semaphore>,
}

impl SyncChecks {
    pub(super) fn new() -> SyncChecks {
        SyncChecks {
            hashes: Arc::new(HashOnce::new(CONCURRENT_HASHES)),
            digest_bytes: Arc::new(Semaphore::new(DIGEST_BYTES)),
            large_records: Arc::new(Semaphore::new(LARGE_RECORDS)),
        }
    }
}

/// A digest checked: its record, the uncompressed bytes and the log files this check
/// downloaded (not those another digest's entries had downloaded first).
pub(super) struct Checked {
    pub record: TrailDigest,
    pub bytes: u64,
    pub log_files: u64,
    /// A share of the large records' budget, given back once the record is out.
    _large: Option<OwnedSemaphorePermit>,
}

impl Checked {
    /// The record with one more problem: for a digest that cannot be checked further.
    fn with(mut self, problem: String) -> Checked {
        self.record.problems.push(problem);
        self
    }
}

/// `text` cut to `SHOWN` characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn internal(bucket: &BucketClient, what: &str, e: impl std::fmt::Display) -> AwsFailure {
    bucket
        .site("GetObject", None)
        .failure(AwsProblem::Other, None, format!("{what} stopped: {e}"))
}

/// Checks one digest; `None` when it was deleted after the listing. `Err` when S3 or CloudTrail
/// refuse what the check needs (the digest is then read again by the next sync).
pub(super) async fn check_digest(
    shared: &Shared,
    folder: &LogFolder,
    full_key: &str,
    key: &str,
    chains: &mut BTreeMap<String, String>,
) -> Result<Option<Checked>, AwsFailure> {
    let bucket = &shared.bucket;
    let object = match read_digest(bucket, full_key, &shared.checks.digest_bytes).await {
        Ok(o) => o,
        Err(f) if f.problem == AwsProblem::NotFound => return Ok(None),
        Err(f) => return Err(f),
    };
    let (chain, backfill) = chain_of(key).unwrap_or_default();
    let mut checked = Checked {
        record: TrailDigest {
            digest_s3_object: full_key.to_string(),
            backfill,
            log_file: LogFileColumns::of(&bucket.bucket, folder, full_key.to_string()),
            ..TrailDigest::default()
        },
        bytes: 0,
        log_files: 0,
        _large: None,
    };
    let compressed = match &object.compressed {
        Ok(c) => c.clone(),
        Err(why) => {
            return Ok(Some(
                checked.with(format!("the digest file cannot be read: {why}")),
            ))
        }
    };
    let head = {
        let compressed = compressed.clone();
        tokio::task::spawn_blocking(move || read_head(&compressed))
            .await
            .map_err(|e| internal(bucket, "reading a digest", e))?
    };
    let head: Head = match head {
        Ok(head) => head,
        Err(Unfit::Unreadable(why)) => {
            return Ok(Some(
                checked.with(format!("the digest file cannot be read: {why}")),
            ))
        }
        Err(Unfit::NotDigest(why)) => {
            return Ok(Some(checked.with(format!(
                "the digest file is not a CloudTrail digest: {why}"
            ))))
        }
    };
    checked.bytes = head.bytes;
    let record = &mut checked.record;
    fill_native(record, &head.file);
    record.signature_valid = check_signature(
        shared,
        folder,
        full_key,
        &head.file,
        &object.signature,
        &object.signature_algorithm,
        &head.sha256,
        &mut record.problems,
    )
    .await?;
    record.chain_valid = check_chain(
        shared,
        folder,
        &head.file,
        chains.get(&chain),
        &mut record.problems,
    )
    .await?;
    chains.insert(
        chain,
        chain_link(
            full_key,
            object.signature.as_deref().unwrap_or(""),
            &head.sha256,
        ),
    );
    check_entries(shared, folder, compressed, &head, &mut checked).await?;
    Ok(Some(checked))
}

/// The digest's own fields. `digestS3Object` stays the key the file was read at (the primary
/// key: a file cannot choose the row it replaces); what the file says goes to
/// `claimedDigestS3Object`.
fn fill_native(record: &mut TrailDigest, d: &DigestFile) {
    record.claimed_digest_s3_object = d.digest_s3_object.clone();
    record.fields = d.clone();
}

/// Whether the digest's signature verifies; what does not is added to `problems`.
#[allow(clippy::too_many_arguments)]
async fn check_signature(
    shared: &Shared,
    folder: &LogFolder,
    full_key: &str,
    digest: &DigestFile,
    signature: &Option<String>,
    algorithm: &Option<String>,
    sha256: &str,
    problems: &mut Vec<String>,
) -> Result<bool, AwsFailure> {
    let bucket = &shared.bucket.bucket;
    let (Some(signature), Some(algorithm)) = (signature, algorithm) else {
        problems.push("the digest has no signature: its S3 metadata lacks x-amz-meta-signature or x-amz-meta-signature-algorithm".into());
        return Ok(false);
    };
    if algorithm != ALGORITHM || digest.digest_signature_algorithm.as_deref() != Some(ALGORITHM) {
        problems.push(format!(
            "the digest is signed with {} (the file says {}), not {ALGORITHM}",
            shown(algorithm),
            shown(
                digest
                    .digest_signature_algorithm
                    .as_deref()
                    .unwrap_or("nothing")
            )
        ));
        return Ok(false);
    }
    if digest.digest_s3_bucket.as_deref() != Some(bucket)
        || digest.digest_s3_object.as_deref() != Some(full_key)
    {
        problems.push(format!(
            "the digest says it was delivered to s3://{}/{} but was read at s3://{bucket}/{full_key}: a moved or copied digest is not valid",
            shown(digest.digest_s3_bucket.as_deref().unwrap_or("?")),
            shown(digest.digest_s3_object.as_deref().unwrap_or("?"))
        ));
        return Ok(false);
    }
    let Some(end) = digest.digest_end_time.as_deref() else {
        problems.push("the digest has no digestEndTime".into());
        return Ok(false);
    };
    let Some(at) = parse_time(end) else {
        problems.push(format!(
            "the digest's digestEndTime {:?} is not a time",
            shown(end)
        ));
        return Ok(false);
    };
    let Some(fingerprint) = digest.digest_public_key_fingerprint.as_deref() else {
        problems.push("the digest names no public key (digestPublicKeyFingerprint)".into());
        return Ok(false);
    };
    let keys = shared.keys.keys(&folder.region, at).await?;
    let key = match select_key(&keys, fingerprint, at) {
        Ok(key) => key,
        Err(KeyProblem::Unknown) => {
            problems.push(format!(
                "no public key of {} with fingerprint {} was in use around {end} (ListPublicKeys): the digest was not signed by CloudTrail",
                folder.region,
                shown(fingerprint)
            ));
            return Ok(false);
        }
        Err(KeyProblem::NotValidThen {
            valid_from,
            valid_to,
        }) => {
            problems.push(format!(
                "the public key {} was valid from {} to {}, not at {end}: the digest was not signed by CloudTrail then",
                shown(fingerprint),
                format_epoch(valid_from),
                format_epoch(valid_to)
            ));
            return Ok(false);
        }
    };
    // A key CloudTrail cannot have used proves nothing, and a signature it does not verify is
    // not a sign of tampering: said as what it is.
    if let Some(why) = unusable_key(&key.der) {
        problems.push(format!(
            "the public key {} that ListPublicKeys gives for {} is {why}: not a key CloudTrail signs with, so the signature proves nothing",
            shown(fingerprint),
            folder.region
        ));
        return Ok(false);
    }
    let message = signing_string(
        end,
        bucket,
        full_key,
        sha256,
        digest.previous_digest_signature.as_deref(),
    );
    if signature_verifies(&key.der, message.as_bytes(), signature) {
        Ok(true)
    } else {
        problems.push(format!(
            "the signature does not verify with public key {}: the digest file or its signature was changed after delivery",
            shown(fingerprint)
        ));
        Ok(false)
    }
}

/// Whether the digest names its real predecessor (`None` for a digest that starts a chain).
/// `link` is the chain's last digest known from this sync or the state; when it is not the one
/// named, the named digest is hashed as it streams (never held) and compared, if it is in the
/// digest's own folder: a digest never makes the connector read anything else.
async fn check_chain(
    shared: &Shared,
    folder: &LogFolder,
    digest: &DigestFile,
    link: Option<&String>,
    problems: &mut Vec<String>,
) -> Result<Option<bool>, AwsFailure> {
    let Some(previous_signature) = digest.previous_digest_signature.as_deref() else {
        return Ok(None);
    };
    let bucket = &shared.bucket;
    let (Some(previous_key), Some(previous_hash)) = (
        digest.previous_digest_s3_object.as_deref(),
        digest.previous_digest_hash_value.as_deref(),
    ) else {
        problems.push("the digest carries a previous signature but names no previous digest (previousDigestS3Object, previousDigestHashValue)".into());
        return Ok(Some(false));
    };
    if let Some(other) = digest
        .previous_digest_s3_bucket
        .as_deref()
        .filter(|b| *b != bucket.bucket)
    {
        problems.push(format!(
            "the previous digest is in bucket {}, which this connection does not read: the chain is not checked",
            shown(other)
        ));
        return Ok(None);
    }
    if link.is_some_and(|l| *l == chain_link(previous_key, previous_signature, previous_hash)) {
        return Ok(Some(true));
    }
    let at = format!("s3://{}/{}", bucket.bucket, shown(previous_key));
    if !previous_key.starts_with(&folder.path) || previous_key.len() > MAX_KEY {
        problems.push(format!(
            "the previous digest {at} is outside this digest's folder s3://{}/{}: not read, and the chain is broken",
            bucket.bucket, folder.path
        ));
        return Ok(Some(false));
    }
    let previous = match hash_digest(bucket, previous_key).await {
        Ok(p) => p,
        Err(f) if f.problem == AwsProblem::NotFound => {
            problems.push(format!(
                "the previous digest {at} is missing: it was deleted, and the log files it listed cannot be proven"
            ));
            return Ok(Some(false));
        }
        Err(f) => return Err(f),
    };
    let mut valid = true;
    match &previous.content {
        Content::Hashed { sha256, .. } => {
            if !sha256.eq_ignore_ascii_case(previous_hash) {
                problems.push(format!(
                    "the previous digest {at} was changed: its SHA-256 is {sha256}, this digest says {}",
                    shown(previous_hash)
                ));
                valid = false;
            }
        }
        Content::Unreadable(why) => {
            problems.push(format!("the previous digest {at} cannot be read: {why}"));
            valid = false;
        }
    }
    let matches = previous
        .signature
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case(previous_signature.trim()));
    if !matches {
        problems.push(format!(
            "previousDigestSignature is not the signature of the previous digest {at}: the chain is broken"
        ));
        valid = false;
    }
    Ok(Some(valid))
}

/// S3 keys are at most this long.
const MAX_KEY: usize = 1024;

/// What a problem on a log file is, to count those past `NAMED_PROBLEMS`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Modified,
    Missing,
    Unreadable,
    NotRead,
}

/// An entry on its way into the record: decided, or waiting for its log file's hash.
enum Pending {
    Ready(DigestLogFile, Option<(Kind, String)>),
    Hashing {
        file: DigestLogFile,
        at: String,
        hash: JoinHandle<(Hashed, bool)>,
    },
}

/// The log files of a digest, in order, and their problems, within the record's limits.
struct Findings {
    files: Vec<DigestLogFile>,
    files_bytes: usize,
    left_out: u64,
    problems: Vec<String>,
    problems_bytes: usize,
    unnamed: [u64; 4],
    large_records: Arc<Semaphore>,
    large: Option<OwnedSemaphorePermit>,
}

/// Bytes `value` takes as JSON, counted without writing it anywhere.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing strings and enums into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

impl Findings {
    /// Takes a share of the large records' budget before the record passes `SMALL_RECORD`.
    async fn room(&mut self, more: usize) {
        if self.large.is_none() && self.files_bytes + self.problems_bytes + more > SMALL_RECORD {
            self.large = self.large_records.clone().acquire_owned().await.ok();
        }
    }

    fn full(&self) -> bool {
        self.left_out > 0
    }

    async fn add(&mut self, file: DigestLogFile, problem: Option<(Kind, String)>) {
        if let Some((kind, text)) = problem {
            let len = json_len(&text);
            if self.problems.len() < NAMED_PROBLEMS && self.problems_bytes + len <= PROBLEMS_LIMIT {
                self.room(len).await;
                self.problems_bytes += len;
                self.problems.push(text);
            } else {
                self.unnamed[kind as usize] += 1;
            }
        }
        let len = json_len(&file);
        if !self.full() && self.files_bytes + len <= FILES_LIMIT {
            self.room(len).await;
            self.files_bytes += len;
            self.files.push(file);
        } else {
            self.left_out += 1;
        }
    }
}

/// Reads the digest's entries as a stream (up to `ENTRY_LIMIT`) and checks each: only when
/// the signature is valid are log files downloaded, and only those in the digest's own
/// account-region folders, each object once however often it is listed.
async fn check_entries(
    shared: &Shared,
    folder: &LogFolder,
    compressed: Bytes,
    head: &Head,
    checked: &mut Checked,
) -> Result<(), AwsFailure> {
    let Some(total) = head.file.log_files.0.filter(|n| *n > 0) else {
        return Ok(());
    };
    let bucket = &shared.bucket;
    let signed = checked.record.signature_valid;
    let record_problems = &mut checked.record.problems;
    if !signed {
        record_problems.push(format!(
            "the signature is not valid, so the {total} log files it lists are not read: only a digest CloudTrail signed may say which objects are its log files"
        ));
    }
    let reading = total.min(ENTRY_LIMIT);
    if total > ENTRY_LIMIT {
        record_problems.push(format!(
            "the digest lists {total} log files, more than the {ENTRY_LIMIT} checked per digest: the {} after the first {ENTRY_LIMIT} are neither checked nor written",
            total - ENTRY_LIMIT
        ));
    }
    let Some((account_folder, region)) = log_folders_of(&folder.path) else {
        return Err(internal(
            bucket,
            "finding the log folders",
            format!("{} is not a digest folder", folder.path),
        ));
    };
    let (tx, mut rx) = mpsc::channel::<Vec<Element>>(1);
    let parser = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let mut n = 0u64;
        let read = stream_entries(&compressed, |element| {
            batch.push(element);
            n += 1;
            if (batch.len() == BATCH || n == reading)
                && tx.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return false;
            }
            n < reading
        });
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        read
    });
    let mut findings = Findings {
        files: Vec::new(),
        files_bytes: 0,
        left_out: 0,
        problems: Vec::new(),
        problems_bytes: 0,
        unnamed: [0; 4],
        large_records: shared.checks.large_records.clone(),
        large: None,
    };
    let mut window: VecDeque<Pending> = VecDeque::new();
    let mut index = 0u64;
    'read: while let Some(batch) = rx.recv().await {
        for element in batch {
            let pending = if signed {
                classify(shared, account_folder, region, index, element)
            } else {
                // Echoed as listed, never followed.
                Pending::Ready(listed(element), None)
            };
            index += 1;
            window.push_back(pending);
            while window.len() > WINDOW {
                if let Some(p) = window.pop_front() {
                    finish(bucket, p, &mut findings, checked).await?;
                }
            }
            // An unsigned digest's entries only fill its record: once it is full, the rest
            // need not even be parsed.
            if !signed && findings.full() {
                break 'read;
            }
        }
    }
    drop(rx);
    while let Some(p) = window.pop_front() {
        finish(bucket, p, &mut findings, checked).await?;
    }
    let read = parser
        .await
        .map_err(|e| internal(bucket, "reading logFiles", e))?;
    let record = &mut checked.record;
    if let Err(why) = read {
        record.problems.push(format!(
            "logFiles could not be read past entry {index}: {why}"
        ));
    }
    record.problems.append(&mut findings.problems);
    if findings.left_out > 0 {
        record.problems.push(format!(
            "logFiles holds the first {} of the {total} log files the digest lists: a record holds at most {} MB of them (problems found on the others are named here)",
            findings.files.len(),
            FILES_LIMIT >> 20
        ));
    }
    let unnamed: u64 = findings.unnamed.iter().sum();
    if unnamed > 0 {
        let kinds: Vec<String> = ["modified", "missing", "unreadable", "not read"]
            .iter()
            .zip(findings.unnamed)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        record.problems.push(format!(
            "{unnamed} more problems on log files are not named here (at most {NAMED_PROBLEMS} are): {}",
            kinds.join(", ")
        ));
    }
    record.log_files = findings.files;
    checked._large = findings.large;
    Ok(())
}

/// An element as the record shows it, nothing checked.
fn listed(element: Element) -> DigestLogFile {
    match element {
        Element::Entry(e) => DigestLogFile {
            s3_bucket: e.s3_bucket,
            s3_object: e.s3_object,
            hash_value: e.hash_value,
            hash_algorithm: e.hash_algorithm,
            newest_event_time: e.newest_event_time,
            oldest_event_time: e.oldest_event_time,
            status: LogFileStatus::Unreadable,
            actual_hash_value: None,
        },
        Element::NotEntry(_) => DigestLogFile {
            status: LogFileStatus::Unreadable,
            ..DigestLogFile::default()
        },
    }
}

/// What to do with entry `index` of a signed digest: why it is not read, or its hash started.
fn classify(
    shared: &Shared,
    account_folder: &str,
    region: &str,
    index: u64,
    element: Element,
) -> Pending {
    let bucket = &shared.bucket.bucket;
    let why = match &element {
        Element::NotEntry(why) => Some(format!("logFiles[{index}] is not a log file entry: {why}")),
        _ => None,
    };
    let file = listed(element);
    if let Some(why) = why {
        return Pending::Ready(file, Some((Kind::Unreadable, why)));
    }
    let Some(key) = file.s3_object.clone().filter(|k| !k.is_empty()) else {
        let why = format!(
            "logFiles[{index}] names no log file (its s3Object is empty or missing): nothing to check"
        );
        return Pending::Ready(file, Some((Kind::Unreadable, why)));
    };
    if key.len() > MAX_KEY {
        let why = format!(
            "logFiles[{index}] names a key of {} bytes, longer than any S3 key ({MAX_KEY}): nothing to check",
            key.len()
        );
        return Pending::Ready(file, Some((Kind::Unreadable, why)));
    }
    let at = format!(
        "s3://{}/{key}",
        shown(file.s3_bucket.as_deref().unwrap_or("?"))
    );
    if file.s3_bucket.as_deref() != Some(bucket.as_str()) {
        let why =
            format!("log file {at} is in a bucket this connection does not read: not checked");
        return Pending::Ready(file, Some((Kind::NotRead, why)));
    }
    if !in_log_folders(&key, account_folder, region) {
        let why = format!(
            "log file {at} is outside s3://{bucket}/{account_folder}CloudTrail/{region}/ (and its CloudTrail-<Kind>/{region}/ siblings), where the digest's account and region keep their log files: not read"
        );
        return Pending::Ready(file, Some((Kind::NotRead, why)));
    }
    if let Some(other) = file.hash_algorithm.as_deref().filter(|a| *a != "SHA-256") {
        let why = format!(
            "log file {at}: the digest gives a {} hash, which is not SHA-256: not checked",
            shown(other)
        );
        return Pending::Ready(file, Some((Kind::Unreadable, why)));
    }
    let (hashes, client) = (shared.checks.hashes.clone(), shared.bucket.clone());
    let hash = tokio::spawn(async move { hashes.hash(&client, &key).await });
    Pending::Hashing { file, at, hash }
}

/// Turns an entry's hash into its verdict and adds it to the record. `Err` for a failure worth
/// another try (the digest is read again by the next sync).
async fn finish(
    bucket: &BucketClient,
    pending: Pending,
    findings: &mut Findings,
    checked: &mut Checked,
) -> Result<(), AwsFailure> {
    let (mut file, at, hash) = match pending {
        Pending::Ready(file, problem) => {
            findings.add(file, problem).await;
            return Ok(());
        }
        Pending::Hashing { file, at, hash } => (file, at, hash),
    };
    let (hashed, downloaded) = hash.await.map_err(|e| internal(bucket, "a hasher", e))?;
    let problem = match hashed {
        Ok(Content::Hashed { sha256, bytes }) => {
            if downloaded {
                checked.log_files += 1;
                checked.bytes += bytes;
            }
            let expected = file.hash_value.clone().unwrap_or_default();
            let problem = if sha256.eq_ignore_ascii_case(&expected) {
                file.status = LogFileStatus::Valid;
                None
            } else {
                file.status = LogFileStatus::Modified;
                Some((
                    Kind::Modified,
                    format!(
                        "log file {at} modified after delivery: SHA-256 {sha256}, expected {}",
                        shown(&expected)
                    ),
                ))
            };
            file.actual_hash_value = Some(sha256);
            problem
        }
        Ok(Content::Unreadable(why)) => Some((
            Kind::Unreadable,
            format!("log file {at} cannot be read: {why}"),
        )),
        Err(f) if f.problem == AwsProblem::NotFound => {
            file.status = LogFileStatus::Missing;
            Some((
                Kind::Missing,
                format!("log file {at} is missing: it was deleted after delivery"),
            ))
        }
        Err(f) if f.problem == AwsProblem::AccessDenied => Some((
            Kind::Unreadable,
            format!("log file {at} cannot be read: S3 denies s3:GetObject"),
        )),
        // Worth another try: the digest is read again by the next sync.
        Err(f) => return Err(f),
    };
    findings.add(file, problem).await;
    Ok(())
}
