//! Reading a trail's digest folders: each account-region folder's new digests in key order (so
//! each one's predecessor is known), many folders at once; each digest checked (signature,
//! chain, the hash of every log file it lists) and written as one record; checkpoints as
//! digests complete.

mod check;
mod entries;
pub mod hash;
mod record;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::cursor::FolderCursor;
use super::folder_reader::{FolderReader, ListRange};
use super::folders::{discover, root_entry, subfolders, LogFolder, RootEntry};
use super::landing::SweepPlan;
use super::TrailState;
use crate::aws::call::RetryBudget;
use crate::aws::pages::PageGuard;
use crate::aws::public_keys::KeyRing;
use crate::aws::s3::{listed_under, BucketClient, Listed, Listing};
use crate::aws::RegionClient;
use crate::config::TrailLogs;
use crate::emit::{Emitter, LogLevel, RecordBatch};
use crate::error::{AwsFailure, AwsProblem, Error};
use crate::streams::checkpoint::Checkpointer;
use crate::time::now_millis;
pub use record::TrailDigest;
use verify::is_digest_file;

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
    /// What the digests' checks share: log files hashed, memory budgets (check.rs).
    checks: check::SyncChecks,
    book: Mutex<Book>,
}

/// The state as digests complete, and when it was last written.
struct Book {
    state: TrailState<DigestFolder>,
    checkpointer: Checkpointer,
    totals: DigestRead,
}

impl Shared {
    /// Records a folder's progress (after its digest's record is out) and checkpoints when due.
    fn progress(&self, path: &str, folder: DigestFolder, force: bool) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        if folder != DigestFolder::default() {
            book.state.folders.insert(path.to_string(), folder);
        }
        let Book {
            state,
            checkpointer,
            ..
        } = &mut *book;
        if force {
            checkpointer.write(state);
        } else {
            checkpointer.offer(state);
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
    checkpointer: Checkpointer,
) -> Result<DigestRead, Vec<Error>> {
    state.retarget(name, logs, emitter);
    let listing_began = now_millis() / 1000;
    let mut discovered = discover(bucket, logs, &["CloudTrail-Digest"])
        .await
        .map_err(|e| vec![e])?;
    // A folder that cannot be listed fails alone: the others are read and checkpointed.
    let unlisted = discovered.unlisted_errors(name)?;
    let folders = discovered.folders;
    emitter.log(
        LogLevel::Info,
        &format!(
            "{name}: {} account-region digest folders under s3://{}/{}{}",
            folders.len(),
            logs.bucket,
            logs.root(),
            super::unlisted_note(unlisted.len())
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
        checks: check::SyncChecks::new(),
        book: Mutex::new(Book {
            state,
            checkpointer,
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
    let mut errors: Vec<Error> = unlisted;
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
            match check::check_digest(shared, folder, &full_key, &key, &mut chains).await {
                Ok(Some(checked)) => {
                    let record = &checked.record;
                    let mut batch = RecordBatch::new(name);
                    if let Err(e) = batch.push(record, now_millis()) {
                        errors.push(Error::Internal(format!("a digest record: {e}")));
                        continue;
                    }
                    shared.emitter.records(&mut batch);
                    let mut book = shared.book.lock().unwrap_or_else(|e| e.into_inner());
                    book.totals.digests += 1;
                    book.totals.with_problems += u64::from(!record.problems.is_empty());
                    book.totals.log_files += checked.log_files;
                    book.totals.uncompressed_bytes += checked.bytes;
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
                let nth = shared
                    .late
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                super::report_late(
                    name,
                    &shared.emitter,
                    &shared.bucket.bucket,
                    &full_key,
                    file.landed,
                    nth,
                );
            }
            reader.finished(pass, &key);
            shared.progress(&folder.path, folder_state(&reader, &chains), false);
        }
    }
    errors
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
