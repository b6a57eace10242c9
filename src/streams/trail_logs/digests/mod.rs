//! Reading a trail's digest folders: each account-region folder's new digests in key order (so
//! each one's predecessor is known), many folders at once; each digest checked (signature,
//! chain, the hash of every log file it lists) and written as one record; checkpoints as
//! digests complete.

pub mod hash;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::cursor::FolderCursor;
use super::folder_reader::{FolderReader, ListRange};
use super::landing::SweepPlan;
use super::folders::{discover, root_entry, subfolders, LogFolder, RootEntry};
use super::TrailState;
use crate::aws::call::RetryBudget;
use crate::aws::pages::PageGuard;
use crate::aws::public_keys::KeyRing;
use crate::aws::s3::{listed_under, BucketClient, Listed, Listing};
use crate::aws::RegionClient;
use crate::config::TrailLogs;
use crate::emit::{Emitter, LogLevel, RecordBatch};
use crate::error::{AwsFailure, AwsProblem, Error};
use crate::streams::checkpoint::CheckpointPace;
use crate::streams::trail_digests::{DigestLogFile, LogFileStatus, TrailDigest};
use crate::time::{format_epoch, now_millis};
use hash::{hash_object, read_digest, Content};
use verify::{
    chain_link, chain_of, is_digest_file, parse_time, select_key, sha256_hex, signature_verifies,
    signing_string, DigestFile, KeyProblem, ALGORITHM,
};

/// What the state keeps per digest folder: the folder's cursor, and per chain (trail, and
/// backfill or not) a short link to its last digest, so the next sync checks the first new
/// digest's predecessor without fetching it again.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestFolder {
    #[serde(flatten)]
    pub cursor: FolderCursor,
    #[serde(
        default,
        deserialize_with = "super::cursor::null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub chains: BTreeMap<String, String>,
}

/// What a read did.
#[derive(Debug, Default)]
pub struct DigestRead {
    pub digests: u64,
    pub with_problems: u64,
    pub log_files: u64,
    pub uncompressed_bytes: u64,
}

/// Digest folders read at once (each one digest at a time): their listings wait ≈ 30 ms each.
const CONCURRENT_FOLDERS: usize = 64;
/// Log files hashed at once, over all folders.
const CONCURRENT_HASHES: usize = 32;

/// What every folder's reader shares.
struct Shared {
    name: &'static str,
    bucket: BucketClient,
    lookback_secs: i64,
    horizon_secs: i64,
    start_day: Option<String>,
    /// This sync's watermark and whether a late-file sweep is due.
    plan: SweepPlan,
    /// Late digests read so far in this sync (the first few are named).
    late: std::sync::atomic::AtomicU64,
    /// When this sync's listings began (epoch seconds).
    listing_began: i64,
    keys: Arc<KeyRing>,
    emitter: Arc<Emitter>,
    hashes: Arc<Semaphore>,
    book: Mutex<Book>,
}

/// The state as digests complete, and when it was last written.
struct Book {
    state: TrailState<DigestFolder>,
    pace: CheckpointPace,
    totals: DigestRead,
}

impl Shared {
    /// Records a folder's progress (after its digest's record is out) and checkpoints when due.
    fn progress(&self, path: &str, folder: DigestFolder, force: bool) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        if folder != DigestFolder::default() {
            book.state.folders.insert(path.to_string(), folder);
        }
        let now = Instant::now();
        if force || book.pace.due(now, self.emitter.bytes_written()) {
            let before = self.emitter.bytes_written();
            self.emitter.state(self.name, &book.state);
            book.pace.wrote(now, before, self.emitter.bytes_written());
        }
    }
}

/// Reads and checks every new digest of the bucket. Failures of single folders or digests are
/// collected (the digest stays unread in the state): the others are still read.
pub async fn read(
    name: &'static str,
    bucket: &BucketClient,
    logs: &TrailLogs,
    keys: Arc<KeyRing>,
    mut state: TrailState<DigestFolder>,
    emitter: &Arc<Emitter>,
) -> Result<DigestRead, Vec<Error>> {
    state.retarget(name, logs, emitter);
    let listing_began = now_millis() / 1000;
    let folders = discover(bucket, logs, &["CloudTrail-Digest"])
        .await
        .map_err(|e| vec![e])?;
    emitter.log(
        LogLevel::Info,
        &format!(
            "{name}: {} account-region digest folders under s3://{}/{}",
            folders.len(),
            logs.bucket,
            logs.root()
        ),
    );
    let cursors: Vec<FolderCursor> = folders
        .iter()
        .map(|f| {
            state
                .folders
                .get(&f.path)
                .map(|d| d.cursor.clone())
                .unwrap_or_default()
        })
        .collect();
    let plan = super::sweep_plan(name, bucket, logs, &cursors, emitter);
    let shared = Arc::new(Shared {
        name,
        bucket: bucket.clone(),
        lookback_secs: logs.lookback_secs,
        horizon_secs: logs.horizon_secs,
        start_day: logs.start_day.clone(),
        plan,
        late: Default::default(),
        listing_began,
        keys,
        emitter: emitter.clone(),
        hashes: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
        book: Mutex::new(Book {
            state,
            pace: CheckpointPace::started(Instant::now(), emitter.bytes_written()),
            totals: DigestRead::default(),
        }),
    });
    let limit = Arc::new(Semaphore::new(CONCURRENT_FOLDERS));
    let mut readers = JoinSet::new();
    for folder in folders {
        let (shared, limit) = (shared.clone(), limit.clone());
        readers.spawn(async move {
            let _permit = limit.acquire_owned().await;
            read_folder(&shared, &folder).await
        });
    }
    let mut errors: Vec<Error> = Vec::new();
    // One refusal (ListPublicKeys denied in a region) fails every digest alike: said once.
    let mut said = std::collections::HashSet::new();
    while let Some(done) = readers.join_next().await {
        let found = match done {
            Ok(folder_errors) => folder_errors,
            Err(e) => vec![Error::Internal(format!("a digest reader stopped: {e}"))],
        };
        errors.extend(found.into_iter().filter(|e| said.insert(e.to_string())));
    }
    if emitter.stop_signal().is_cancelled() {
        let site = bucket.site("GetObject", None);
        errors.push(
            Error::aws(site.failure(AwsProblem::Stopped, None, String::new())).for_stream(name),
        );
    }
    shared.progress("", DigestFolder::default(), true);
    let totals = std::mem::take(&mut shared.book.lock().unwrap_or_else(|e| e.into_inner()).totals);
    if errors.is_empty() {
        Ok(totals)
    } else {
        Err(errors)
    }
}

/// The digests of a folder's range (keys relative to the folder), in key order.
async fn list_digests(
    bucket: &BucketClient,
    path: &str,
    range: &ListRange,
) -> Result<Vec<Listed>, AwsFailure> {
    let mut listing = Listing {
        start_after: range.start_after.as_ref().map(|a| format!("{path}{a}")),
        ..Listing::default()
    };
    let mut guard = PageGuard::default();
    let mut keys = Vec::new();
    loop {
        let (page, next) = bucket.list_page(path, &listing, RetryBudget::SYNC).await?;
        if let Err(why) = guard.check(page.contents().len(), next.as_deref()) {
            return Err(PageGuard::failure(
                &bucket.site("ListObjectsV2", Some(path)),
                why,
            ));
        }
        let listed = listed_under(&page, path);
        let within = listed.iter().take_while(|l| !range.is_past(&l.key)).count();
        let ended = within < listed.len();
        keys.extend(
            listed
                .into_iter()
                .take(within)
                .filter(|l| is_digest_file(&l.key)),
        );
        match next {
            Some(token) if !ended => listing.page = Some(token),
            _ => return Ok(keys),
        }
    }
}

/// Reads one folder's new digests in order; returns its failures.
async fn read_folder(shared: &Shared, folder: &LogFolder) -> Vec<Error> {
    let name = shared.name;
    let saved = {
        let book = shared.book.lock().unwrap_or_else(|e| e.into_inner());
        book.state
            .folders
            .get(&folder.path)
            .cloned()
            .unwrap_or_default()
    };
    let mut chains = saved.chains;
    let mut reader = FolderReader::new(
        saved.cursor,
        &shared.plan,
        shared.lookback_secs,
        shared.horizon_secs,
        shared.start_day.as_deref(),
    );
    // The folder's progress, as its state says it once its digest's record is out.
    let folder_state = |reader: &FolderReader, chains: &BTreeMap<String, String>| DigestFolder {
        cursor: reader.cursor(),
        chains: chains.clone(),
    };
    let mut errors = Vec::new();
    for (pass, range) in reader.listings() {
        let listed = match list_digests(&shared.bucket, &folder.path, &range).await {
            Ok(listed) => listed,
            Err(f) => {
                errors.push(Error::aws(f).for_stream(name));
                continue;
            }
        };
        let todo: Vec<Listed> = listed
            .into_iter()
            .filter(|l| reader.listed(pass, l).is_some())
            .collect();
        reader.listing_done(pass, shared.listing_began);
        if todo.is_empty() && !reader.cursor().is_blank() {
            shared.progress(&folder.path, folder_state(&reader, &chains), false);
        }
        for file in todo {
            if shared.emitter.stop_signal().is_cancelled() {
                break;
            }
            let key = file.key;
            let full_key = format!("{}{key}", folder.path);
            match check_digest(shared, folder, &full_key, &key, &mut chains).await {
                Ok(Some((record, bytes))) => {
                    let mut batch = RecordBatch::new(name);
                    if let Err(e) = batch.push(&record, now_millis()) {
                        errors.push(Error::Internal(format!("a digest record: {e}")));
                        continue;
                    }
                    shared.emitter.records(&mut batch);
                    let mut book = shared.book.lock().unwrap_or_else(|e| e.into_inner());
                    book.totals.digests += 1;
                    book.totals.with_problems += u64::from(!record.problems.is_empty());
                    book.totals.log_files += record.log_files.len() as u64;
                    book.totals.uncompressed_bytes += bytes;
                }
                Ok(None) => shared.emitter.log(
                    LogLevel::Warn,
                    &format!(
                        "{name}: s3://{}/{full_key} was deleted before it could be read: skipped",
                        shared.bucket.bucket
                    ),
                ),
                // The digest stays pending: the checkpoint never moves past it.
                Err(failure) => {
                    errors.push(Error::aws(failure).for_stream(name));
                    continue;
                }
            }
            if FolderReader::is_sweep(pass) {
                let nth = shared.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                super::report_late(name, &shared.emitter, &shared.bucket.bucket, &full_key, file.landed, nth);
            }
            reader.finished(pass, &key);
            shared.progress(&folder.path, folder_state(&reader, &chains), false);
        }
    }
    errors
}

/// Checks one digest; `None` when it was deleted after the listing. `Err` when S3 or CloudTrail
/// refuse what the check needs (the digest is then read again by the next sync).
async fn check_digest(
    shared: &Shared,
    folder: &LogFolder,
    full_key: &str,
    key: &str,
    chains: &mut BTreeMap<String, String>,
) -> Result<Option<(TrailDigest, u64)>, AwsFailure> {
    let bucket = &shared.bucket;
    let object = match read_digest(bucket, full_key).await {
        Ok(o) => o,
        Err(f) if f.problem == AwsProblem::NotFound => return Ok(None),
        Err(f) => return Err(f),
    };
    let (chain, backfill) = chain_of(key).unwrap_or_default();
    let mut record = TrailDigest {
        digest_s3_object: full_key.to_string(),
        backfill,
        log_file_bucket: bucket.bucket.clone(),
        log_file_key: full_key.to_string(),
        log_file_account_id: folder.account.clone(),
        log_file_region: folder.region.clone(),
        log_file_organization_id: folder.organization_id.clone(),
        ..TrailDigest::default()
    };
    let content = match &object.content {
        Ok(c) => c,
        Err(why) => {
            record
                .problems
                .push(format!("the digest file cannot be read: {why}"));
            return Ok(Some((record, 0)));
        }
    };
    let digest: DigestFile = match serde_json::from_slice(content) {
        Ok(d) => d,
        Err(e) => {
            record
                .problems
                .push(format!("the digest file is not a CloudTrail digest: {e}"));
            return Ok(Some((record, content.len() as u64)));
        }
    };
    let sha256 = sha256_hex(content);
    fill_native(&mut record, &digest, full_key);
    record.signature_valid = check_signature(
        shared,
        folder,
        full_key,
        &digest,
        &object.signature,
        &object.signature_algorithm,
        &sha256,
        &mut record.problems,
    )
    .await?;
    record.chain_valid =
        check_chain(shared, &digest, chains.get(&chain), &mut record.problems).await?;
    chains.insert(
        chain,
        chain_link(full_key, object.signature.as_deref().unwrap_or(""), &sha256),
    );
    let (files, bytes) = check_log_files(shared, &digest, &mut record.problems).await?;
    record.log_files = files;
    Ok(Some((record, bytes + content.len() as u64)))
}

fn fill_native(record: &mut TrailDigest, d: &DigestFile, read_at: &str) {
    record.digest_s3_object = d
        .digest_s3_object
        .clone()
        .unwrap_or_else(|| read_at.to_string());
    record.digest_s3_bucket = d.digest_s3_bucket.clone();
    record.aws_account_id = d.aws_account_id.clone();
    record.digest_start_time = d.digest_start_time.clone();
    record.digest_end_time = d.digest_end_time.clone();
    record.digest_public_key_fingerprint = d.digest_public_key_fingerprint.clone();
    record.digest_signature_algorithm = d.digest_signature_algorithm.clone();
    record.newest_event_time = d.newest_event_time.clone();
    record.oldest_event_time = d.oldest_event_time.clone();
    record.previous_digest_s3_bucket = d.previous_digest_s3_bucket.clone();
    record.previous_digest_s3_object = d.previous_digest_s3_object.clone();
    record.previous_digest_hash_value = d.previous_digest_hash_value.clone();
    record.previous_digest_hash_algorithm = d.previous_digest_hash_algorithm.clone();
    record.previous_digest_signature = d.previous_digest_signature.clone();
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
            "the digest is signed with {algorithm} (the file says {}), not {ALGORITHM}",
            digest
                .digest_signature_algorithm
                .as_deref()
                .unwrap_or("nothing")
        ));
        return Ok(false);
    }
    if digest.digest_s3_bucket.as_deref() != Some(bucket)
        || digest.digest_s3_object.as_deref() != Some(full_key)
    {
        problems.push(format!(
            "the digest says it was delivered to s3://{}/{} but was read at s3://{bucket}/{full_key}: a moved digest is not valid",
            digest.digest_s3_bucket.as_deref().unwrap_or("?"),
            digest.digest_s3_object.as_deref().unwrap_or("?")
        ));
        return Ok(false);
    }
    let Some(end) = digest.digest_end_time.as_deref() else {
        problems.push("the digest has no digestEndTime".into());
        return Ok(false);
    };
    let Some(at) = parse_time(end) else {
        problems.push(format!("the digest's digestEndTime {end:?} is not a time"));
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
                "no public key of {} with fingerprint {fingerprint} was in use around {end} (ListPublicKeys): the digest was not signed by CloudTrail",
                folder.region
            ));
            return Ok(false);
        }
        Err(KeyProblem::NotValidThen {
            valid_from,
            valid_to,
        }) => {
            problems.push(format!(
                "the public key {fingerprint} was valid from {} to {}, not at {end}: the digest was not signed by CloudTrail then",
                format_epoch(valid_from),
                format_epoch(valid_to)
            ));
            return Ok(false);
        }
    };
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
            "the signature does not verify with public key {fingerprint}: the digest file or its signature was changed after delivery"
        ));
        Ok(false)
    }
}

/// Whether the digest names its real predecessor (`None` for a digest that starts a chain).
/// `link` is the chain's last digest known from this sync or the state; when it is not the one
/// named, the named digest is fetched and compared.
async fn check_chain(
    shared: &Shared,
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
            "the previous digest is in bucket {other}, which this connection does not read: the chain is not checked"
        ));
        return Ok(None);
    }
    if link.is_some_and(|l| *l == chain_link(previous_key, previous_signature, previous_hash)) {
        return Ok(Some(true));
    }
    let at = format!("s3://{}/{previous_key}", bucket.bucket);
    let previous = match read_digest(bucket, previous_key).await {
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
        Ok(content) => {
            let actual = sha256_hex(content);
            if !actual.eq_ignore_ascii_case(previous_hash) {
                problems.push(format!(
                    "the previous digest {at} was changed: its SHA-256 is {actual}, this digest says {previous_hash}"
                ));
                valid = false;
            }
        }
        Err(why) => {
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

/// Hashes every log file the digest lists (several at once); returns them with their verdicts
/// and the uncompressed bytes hashed.
async fn check_log_files(
    shared: &Shared,
    digest: &DigestFile,
    problems: &mut Vec<String>,
) -> Result<(Vec<DigestLogFile>, u64), AwsFailure> {
    let listed = digest.log_files.clone().unwrap_or_default();
    let mut hashing = JoinSet::new();
    for (index, entry) in listed.iter().enumerate() {
        let (Some(key), true) = (
            entry.s3_object.clone(),
            entry.s3_bucket.as_deref() == Some(shared.bucket.bucket.as_str()),
        ) else {
            continue;
        };
        let (bucket, permits) = (shared.bucket.clone(), shared.hashes.clone());
        hashing.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, hash_object(&bucket, &key).await)
        });
    }
    let mut hashed: BTreeMap<usize, Result<Content, AwsFailure>> = BTreeMap::new();
    while let Some(done) = hashing.join_next().await {
        let (index, result) = done.map_err(|e| {
            shared.bucket.site("GetObject", None).failure(
                AwsProblem::Other,
                None,
                format!("a hasher stopped: {e}"),
            )
        })?;
        hashed.insert(index, result);
    }
    let mut files = Vec::with_capacity(listed.len());
    let mut bytes = 0;
    for (index, entry) in listed.into_iter().enumerate() {
        let at = format!(
            "s3://{}/{}",
            entry.s3_bucket.as_deref().unwrap_or("?"),
            entry.s3_object.as_deref().unwrap_or("?")
        );
        let mut file = DigestLogFile {
            s3_bucket: entry.s3_bucket,
            s3_object: entry.s3_object,
            hash_value: entry.hash_value,
            hash_algorithm: entry.hash_algorithm,
            newest_event_time: entry.newest_event_time,
            oldest_event_time: entry.oldest_event_time,
            status: LogFileStatus::Unreadable,
            actual_hash_value: None,
        };
        match hashed.remove(&index) {
            None if file.s3_object.is_none() => {
                problems.push("a logFiles entry names no s3Object".into())
            }
            None => problems.push(format!(
                "log file {at} is in a bucket this connection does not read: not checked"
            )),
            Some(Ok(Content::Hashed { .. }))
                if file
                    .hash_algorithm
                    .as_deref()
                    .is_some_and(|a| a != "SHA-256") =>
            {
                problems.push(format!(
                    "log file {at}: the digest gives a {} hash, which is not SHA-256: not checked",
                    file.hash_algorithm.as_deref().unwrap_or("")
                ));
            }
            Some(Ok(Content::Hashed { sha256, bytes: n })) => {
                bytes += n;
                let expected = file.hash_value.clone().unwrap_or_default();
                if sha256.eq_ignore_ascii_case(&expected) {
                    file.status = LogFileStatus::Valid;
                } else {
                    file.status = LogFileStatus::Modified;
                    problems.push(format!(
                        "log file {at} modified after delivery: SHA-256 {sha256}, expected {expected}"
                    ));
                }
                file.actual_hash_value = Some(sha256);
            }
            Some(Ok(Content::Unreadable(why))) => {
                problems.push(format!("log file {at} cannot be read: {why}"));
            }
            Some(Err(f)) if f.problem == AwsProblem::NotFound => {
                file.status = LogFileStatus::Missing;
                problems.push(format!(
                    "log file {at} is missing: it was deleted after delivery"
                ));
            }
            Some(Err(f)) if f.problem == AwsProblem::AccessDenied => {
                problems.push(format!(
                    "log file {at} cannot be read: S3 denies s3:GetObject"
                ));
            }
            // Worth another try: the digest is read again by the next sync.
            Some(Err(f)) => return Err(f),
        }
        files.push(file);
    }
    Ok((files, bytes))
}

/// `check`: whether the trail writes digests (log file validation on), looked for in the first
/// account folder, and whether `cloudtrail:ListPublicKeys` is allowed. Never fails the check:
/// it says what `trail_digests` will be able to prove.
pub async fn probe(
    name: &str,
    bucket: &BucketClient,
    logs: &TrailLogs,
    keys: &RegionClient,
) -> String {
    let budget = RetryBudget::CHECK;
    let root = logs.root();
    let mut account_folder = None;
    if let Ok(names) = subfolders(bucket, &root, budget).await {
        for entry in &names {
            match root_entry(entry) {
                RootEntry::Account => account_folder = Some(format!("{root}{entry}/")),
                RootEntry::Organization => {
                    let org_root = format!("{root}{entry}/");
                    if let Ok(accounts) = subfolders(bucket, &org_root, budget).await {
                        account_folder = accounts
                            .iter()
                            .find(|a| root_entry(a) == RootEntry::Account)
                            .map(|a| format!("{org_root}{a}/"));
                    }
                }
                RootEntry::Other => {}
            }
            if account_folder.is_some() {
                break;
            }
        }
    }
    let digests = match account_folder {
        None => format!("no account folder under s3://{}/{root} yet", bucket.bucket),
        Some(folder) => {
            let path = format!("{folder}CloudTrail-Digest/");
            let listing = Listing {
                max_keys: Some(1),
                ..Listing::default()
            };
            match bucket.list_page(&path, &listing, budget).await {
                Ok((page, _)) if !page.contents().is_empty() => format!(
                    "digests found under s3://{}/{path} (log file validation is on)",
                    bucket.bucket
                ),
                Ok(_) => format!(
                    "no digests under s3://{}/{path}: log file validation is off for this trail (turn it on: aws cloudtrail update-trail --name <trail> --enable-log-file-validation), so there is nothing to validate",
                    bucket.bucket
                ),
                Err(f) => format!("digests cannot be listed: {f}"),
            }
        }
    };
    let now = crate::time::now_secs();
    let keys = match crate::aws::public_keys::list_public_keys(keys, now - 3600, now, budget).await {
        Ok(_) => "cloudtrail:ListPublicKeys is allowed".to_string(),
        Err(f) if f.problem == AwsProblem::AccessDenied => format!(
            "cloudtrail:ListPublicKeys is DENIED, so no signature can be checked: allow it in the IAM policy ({f})"
        ),
        Err(f) => format!("cloudtrail:ListPublicKeys failed: {f}"),
    };
    format!("{name}: {digests}; {keys}")
}
