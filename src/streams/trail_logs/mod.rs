//! What any stream of a trail's S3 log folders needs: the state (a cursor per account-region
//! folder), folders listed from where the state left them, files read several at a time, and
//! checkpoints as files complete, whatever order they complete in.

mod cursor;
pub mod digests;
mod file;
mod folder_reader;
mod folders;
pub mod landing;
mod provenance;
pub mod scan;
mod state;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::aws::call::RetryBudget;
use crate::aws::pages::PageGuard;
use crate::aws::s3::{listed_under, BucketClient, Listed, Listing};
use crate::config::TrailLogs;
use crate::emit::{Emitter, LogLevel, RecordTail};
use crate::error::{AwsFailure, AwsProblem, Error};
use crate::protocol::AirbyteStream;
use crate::streams::checkpoint::{Checkpointer, CHECKPOINT_EVERY};
use crate::streams::{catalog_entry, ReadContext, ReadFuture, ReadReport, Stream};
use crate::time::{format_epoch, now_millis};
pub use cursor::FolderCursor;
use file::{read_file, Decoding, FileRead};
pub use folder_reader::{FolderReader, ListRange, Pass};
pub use folders::LogFolder;
pub use folders::{account_folders, discover};
use landing::{lateness, SweepPlan};
pub use provenance::{provenance_names, LogFileColumns};
use scan::Shape;
pub use state::TrailState;

/// A stream of log files: its name (in records and messages), the folder kinds it reads
/// (`CloudTrail`, `CloudTrail-Insight`, …) and the record shape its scanner checks.
pub struct LogStream {
    pub name: &'static str,
    pub kinds: &'static [&'static str],
    pub shape: Arc<Shape>,
    /// Whether the `trail_logs` event filters apply (to `trail_events` only).
    pub filtered: bool,
}

/// A stream of a trail's event folders (`trail_events`, `trail_insight_events`,
/// `trail_aggregated_events`): what sets it apart is its folders, its record type's schema and
/// key, and whether the event filters apply; the read is the same.
pub struct EventFolderStream {
    pub name: &'static str,
    pub kinds: &'static [&'static str],
    pub schema: fn() -> Value,
    pub primary_key: &'static str,
    pub filtered: bool,
    pub log: std::sync::OnceLock<LogStream>,
}

impl EventFolderStream {
    /// The stream as the reader needs it; the shape is derived from the schema once.
    pub fn log_stream(&self) -> &LogStream {
        self.log.get_or_init(|| LogStream {
            name: self.name,
            kinds: self.kinds,
            shape: Arc::new(Shape::from_schema(&(self.schema)()).reserving(&provenance_names())),
            filtered: self.filtered,
        })
    }
}

impl Stream for EventFolderStream {
    type State = TrailState<FolderCursor>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn catalog_entry(&self) -> AirbyteStream {
        catalog_entry(
            self.name,
            (self.schema)(),
            self.primary_key,
            Some("logFileKey"),
            true,
        )
    }

    fn read(
        &'static self,
        context: Arc<ReadContext>,
        state: TrailState<FolderCursor>,
        checkpointer: Checkpointer,
    ) -> ReadFuture {
        Box::pin(read_stream(self.log_stream(), context, state, checkpointer))
    }
}

/// The read of a log-folder stream, with its summary.
async fn read_stream(
    stream: &'static LogStream,
    context: Arc<ReadContext>,
    state: TrailState<FolderCursor>,
    checkpointer: Checkpointer,
) -> ReadReport {
    let name = stream.name;
    let (logs, bucket) = match context.bucket().await {
        Ok(b) => b,
        Err(e) => return ReadReport::failed(e),
    };
    match read(stream, bucket, logs, state, &context.emitter, checkpointer).await {
        // What was read is said even when some folders or files failed.
        Ok((read, errors)) => ReadReport {
            summary: Some(format!(
                "{name}: {} records from {} files ({} MB of JSON; {} late files read by the late-file sweep, {} more landed late and are left to the next one); {} filtered out; {} files skipped, {} unreadable records skipped{}",
                read.records,
                read.files,
                read.uncompressed_bytes / 1_000_000,
                read.late_files,
                read.left_to_sweep,
                read.filtered,
                read.skipped_files,
                read.skipped_records,
                plain_json_note(read.plain_json_files)
            )),
            errors,
        },
        Err(errors) => ReadReport {
            summary: None,
            errors,
        },
    }
}

/// Files read at once. A GET waits tens of milliseconds for its first byte and CloudTrail
/// files are small, so many downloads must overlap to keep every core decoding.
fn concurrent_files() -> usize {
    (std::thread::available_parallelism().map_or(2, |n| n.get()) * 8).clamp(16, 64)
}

/// Listed files waiting to be read, at most; listing pauses beyond.
const QUEUE_LIMIT: usize = 2_000;
/// Folders listed at once: S3 answers a LIST in about 30 ms, so an organization's thousands of
/// folders need many in flight (17,000 folders at 64: about 8 s of listing).
const CONCURRENT_FOLDERS: usize = 64;

/// What a read did.
#[derive(Debug, Default)]
pub struct TrailRead {
    pub files: u64,
    pub records: u64,
    pub skipped_files: u64,
    /// Records skipped one by one (their files were read on).
    pub skipped_records: u64,
    /// Records the event filter left out.
    pub filtered: u64,
    pub uncompressed_bytes: u64,
    /// Files the late-file sweep read.
    pub late_files: u64,
    /// Late files met by the folders' listings and left to the next sweep.
    pub left_to_sweep: u64,
    /// Files of plain JSON under a `.json.gz` name, read as JSON.
    pub plain_json_files: u64,
}

/// One page of a folder's listing: keys relative to the folder.
struct Page {
    folder: usize,
    pass: Pass,
    keys: Result<Vec<Listed>, AwsFailure>,
    last: bool,
}

/// Lists a folder's range, page by page, into `pages`; a sweep's listing ends at the first key
/// beyond its last day folder.
async fn list_folder(
    bucket: BucketClient,
    folder: usize,
    pass: Pass,
    path: String,
    range: ListRange,
    pages: mpsc::Sender<Page>,
) {
    let mut listing = Listing {
        start_after: range.start_after.as_ref().map(|a| format!("{path}{a}")),
        ..Listing::default()
    };
    let mut guard = PageGuard::default();
    loop {
        let (keys, next) = match bucket.list_page(&path, &listing, RetryBudget::SYNC).await {
            Ok((page, next)) => match guard.check(page.contents().len(), next.as_deref()) {
                Ok(()) => {
                    let mut keys = listed_under(&page, &path);
                    let within = keys.iter().take_while(|l| !range.is_past(&l.key)).count();
                    let next = if within < keys.len() { None } else { next };
                    keys.truncate(within);
                    (Ok(keys), next)
                }
                // The keys of this page are dropped too: the state stays before them.
                Err(why) => (
                    Err(PageGuard::failure(
                        &bucket.site("ListObjectsV2", Some(&path)),
                        why,
                    )),
                    None,
                ),
            },
            Err(f) => (Err(f), None),
        };
        let last = next.is_none();
        let page = Page {
            folder,
            pass,
            keys,
            last,
        };
        if pages.send(page).await.is_err() || last {
            return;
        }
        listing.page = next;
    }
}

/// Whether a key of an event folder (`CloudTrail/<region>/`, `CloudTrail-Insight/<region>/`, …;
/// relative to it) is an event file: in a `YYYY/MM/DD/` day folder, a `.json.gz`, not a digest
/// (digests live in a folder of their own, but are told apart by name too). The folder, not the
/// kind token of the name (`_CloudTrail_`, `_CloudTrail-Insight_`), says what a file holds.
/// Anything else is ignored, and never becomes the folder's cursor: a stray key sorting after
/// the day folders would stop the listing there.
fn is_event_file(key: &str) -> bool {
    let b = key.as_bytes();
    let dated = b.len() > 11
        && [4, 7, 10].iter().all(|&i| b[i] == b'/')
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    let name = key.rsplit('/').next().unwrap_or(key);
    dated && name.ends_with(".json.gz") && !name.contains("_CloudTrail-Digest_")
}

/// The provenance columns of a folder's file.
pub fn provenance(bucket: &str, folder: &LogFolder, key: &str) -> Value {
    serde_json::to_value(LogFileColumns::of(
        bucket,
        folder,
        format!("{}{key}", folder.path),
    ))
    .unwrap_or_default()
}

/// Reads every new file of the bucket; the state is written as files complete. Failures of
/// single folders or files are collected, with what was read: the others are still read and
/// checkpointed. `Err` when nothing could be read (the root cannot be listed, say).
pub async fn read(
    stream: &LogStream,
    bucket: &BucketClient,
    logs: &TrailLogs,
    mut state: TrailState<FolderCursor>,
    emitter: &Arc<Emitter>,
    mut checkpointer: Checkpointer,
) -> Result<(TrailRead, Vec<Error>), Vec<Error>> {
    let name = stream.name;
    state.retarget(name, logs, emitter);
    // Before any listing: every listing of this sync began at or after it.
    let listing_began = now_millis() / 1000;
    let mut discovered = discover(bucket, logs, stream.kinds)
        .await
        .map_err(|e| vec![e])?;
    // A folder that cannot be listed fails alone: the others are read and checkpointed.
    let mut errors = discovered.unlisted_errors(name)?;
    let folders = discovered.folders;
    emitter.log(
        LogLevel::Info,
        &format!(
            "{name}: {} account-region folders under s3://{}/{}{}",
            folders.len(),
            logs.bucket,
            logs.root(),
            unlisted_note(errors.len())
        ),
    );
    let cursors: Vec<FolderCursor> = folders
        .iter()
        .map(|f| state.folders.get(&f.path).cloned().unwrap_or_default())
        .collect();
    let plan = sweep_plan(name, bucket, logs, &cursors, emitter);
    let mut readers: Vec<FolderReader> = cursors
        .into_iter()
        .map(|cursor| {
            FolderReader::new(
                cursor,
                &plan,
                logs.lookback_secs,
                logs.horizon_secs,
                logs.start_day.as_deref(),
            )
        })
        .collect();

    let (page_tx, mut page_rx) = mpsc::channel::<Page>(CONCURRENT_FOLDERS * 2);
    let mut unlisted: VecDeque<(usize, Pass, ListRange)> = readers
        .iter()
        .enumerate()
        .flat_map(|(f, r)| r.listings().into_iter().map(move |(p, l)| (f, p, l)))
        .collect();
    let mut listing = 0usize;
    // Listings are aborted with the read (a closed stdout, a failed reader).
    let mut listers = JoinSet::new();
    let mut queue: VecDeque<Queued> = VecDeque::new();
    // Every key queued in this sync: a key a listing gives twice is read once.
    let mut queued: HashSet<(usize, Pass, String)> = HashSet::new();
    let mut reading: JoinSet<(Queued, Result<FileRead, AwsFailure>)> = JoinSet::new();
    // Files being read, with how many of their elements are out.
    let mut in_flight: HashMap<(usize, Pass, String), Arc<AtomicU64>> = HashMap::new();
    let mut total = TrailRead::default();
    // While a large file is read, the loop wakes this often to see whether a state is due.
    let mut tick = Instant::now() + CHECKPOINT_EVERY;
    let mut dirty = false;
    let decoding = Arc::new(Decoding {
        shape: stream.shape.clone(),
        filter: (stream.filtered && !logs.events.is_empty()).then(|| logs.events.clone()),
    });
    let workers = concurrent_files();

    loop {
        while listing < CONCURRENT_FOLDERS {
            let Some((f, pass, range)) = unlisted.pop_front() else {
                break;
            };
            listers.spawn(list_folder(
                bucket.clone(),
                f,
                pass,
                folders[f].path.clone(),
                range,
                page_tx.clone(),
            ));
            listing += 1;
        }
        while reading.len() < workers {
            let Some(file) = queue.pop_front() else {
                break;
            };
            let tail = Arc::new(RecordTail::new(
                &provenance(&logs.bucket, &folders[file.folder], &file.key),
                now_millis(),
            ));
            let (bucket, decoding, emitter) = (bucket.clone(), decoding.clone(), emitter.clone());
            let full_key = format!("{}{}", folders[file.folder].path, file.key);
            let written = Arc::new(AtomicU64::new(file.skip));
            in_flight.insert((file.folder, file.pass, file.key.clone()), written.clone());
            reading.spawn(async move {
                let result =
                    read_file(name, &bucket, &full_key, decoding, tail, emitter, written).await;
                (file, result)
            });
        }
        if listing == 0 && queue.is_empty() && reading.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = bucket.stop.cancelled() => {
                errors.push(Error::aws(bucket.site("ListObjectsV2", None).failure(AwsProblem::Stopped, None, String::new())).for_stream(name));
                break;
            }
            Some(page) = page_rx.recv(), if listing > 0 && queue.len() < QUEUE_LIMIT => {
                if page.last {
                    listing -= 1;
                }
                match page.keys {
                    Ok(keys) => {
                        let reader = &mut readers[page.folder];
                        for file in keys.into_iter().filter(|l| is_event_file(&l.key)) {
                            let id = (page.folder, page.pass, file.key.clone());
                            if queued.contains(&id) {
                                continue;
                            }
                            if let Some(skip) = reader.listed(page.pass, &file) {
                                queued.insert(id);
                                queue.push_back(Queued { folder: page.folder, pass: page.pass, key: file.key, landed: file.landed, skip });
                            }
                        }
                        // Not a reason for a state of its own: a state without it only
                        // lists the folder from further back next time.
                        if page.last {
                            reader.listing_done(page.pass, listing_began);
                        }
                    }
                    Err(f) => errors.push(Error::aws(f).for_stream(name)),
                }
            }
            Some(done) = reading.join_next(), if !reading.is_empty() => {
                let (file, result) = done.map_err(|e| {
                    vec![Error::Internal(format!("a file reader stopped: {e}"))]
                })?;
                let full_key = format!("{}{}", folders[file.folder].path, file.key);
                let reader = &mut readers[file.folder];
                if let Some(written) = in_flight.remove(&(file.folder, file.pass, file.key.clone())) {
                    reader.written(file.pass, &file.key, written.load(Ordering::Acquire));
                }
                match result {
                    Ok(read) => {
                        total.files += 1;
                        total.records += read.records;
                        total.skipped_records += read.unreadable;
                        total.filtered += read.filtered;
                        total.uncompressed_bytes += read.uncompressed_bytes;
                        report_file(name, emitter, &full_key, &read);
                        if read.plain_json {
                            total.plain_json_files += 1;
                            report_plain_json(name, emitter, &logs.bucket, &full_key, total.plain_json_files);
                        }
                        if read.problem.is_some() {
                            total.skipped_files += 1;
                        }
                        if FolderReader::is_sweep(file.pass) {
                            total.late_files += 1;
                            report_late(name, emitter, &logs.bucket, &full_key, file.landed, total.late_files);
                        }
                        reader.finished(file.pass, &file.key);
                        dirty = true;
                    }
                    Err(failure) if failure.problem == AwsProblem::NotFound => {
                        emitter.log(
                            LogLevel::Warn,
                            &format!("{name}: s3://{}/{full_key} was deleted before it could be read: skipped", logs.bucket),
                        );
                        total.skipped_files += 1;
                        reader.finished(file.pass, &file.key);
                        dirty = true;
                    }
                    // The file stays pending: the checkpoint never moves past it.
                    Err(failure) => errors.push(Error::aws(failure).for_stream(name)),
                }
            }
            // A large file being read is checkpointed while it is read.
            _ = tokio::time::sleep_until(tick.into()), if !in_flight.is_empty() => {
                tick = Instant::now() + CHECKPOINT_EVERY;
            }
            else => break,
        }
        if (dirty || !in_flight.is_empty()) && checkpointer.due() {
            for ((f, pass, key), written) in &in_flight {
                readers[*f].written(*pass, key, written.load(Ordering::Acquire));
            }
            checkpoint(&mut state, &folders, &readers, &mut checkpointer);
            dirty = false;
        }
    }
    checkpoint(&mut state, &folders, &readers, &mut checkpointer);
    total.left_to_sweep = readers.iter().map(FolderReader::left_to_sweep).sum();
    Ok((total, errors))
}

/// What the folder count leaves out: the account or organization folders that could not be
/// listed (each named in a TRACE error at the end).
pub(super) fn unlisted_note(unlisted: usize) -> String {
    match unlisted {
        0 => String::new(),
        1 => "; 1 account or organization folder cannot be listed and is left out (its error follows)".into(),
        n => format!("; {n} account or organization folders cannot be listed and are left out (their errors follow)"),
    }
}

/// A listed file waiting to be read.
struct Queued {
    folder: usize,
    pass: Pass,
    key: String,
    /// `LastModified`, S3's clock.
    landed: i64,
    /// `Records` elements a previous sync wrote.
    skip: u64,
}

/// This sync's watermark, from S3's clock (the `Date` of its answers to the discovery), and
/// whether a late-file sweep is due; said in a LOG line with what it costs.
pub fn sweep_plan(
    name: &str,
    bucket: &BucketClient,
    logs: &TrailLogs,
    cursors: &[FolderCursor],
    emitter: &Emitter,
) -> SweepPlan {
    let s3_now = bucket.server_clock.now().unwrap_or_else(|| {
        emitter.log(
            LogLevel::Warn,
            &format!("{name}: S3 sent no Date header: late files are timed by the connector's clock instead (keep it in time)"),
        );
        now_millis() / 1000
    });
    let oldest = cursors.iter().filter_map(|c| c.swept).min();
    let plan = SweepPlan::new(s3_now, oldest, logs.sweep_every_secs);
    let sweeping = cursors
        .iter()
        .filter(|c| c.sweep.is_some() || (plan.due && c.swept.is_some()))
        .count();
    if sweeping > 0 {
        emitter.log(
            LogLevel::Info,
            &format!(
                "{name}: late-file sweep of {sweeping} folders: files that landed up to {} more than {} minutes after the time in their name, listing the last {} days of each folder",
                format_epoch(plan.watermark),
                logs.lookback_secs / 60,
                logs.horizon_secs / 86_400
            ),
        );
    }
    plan
}

/// Late files named one by one in a sync; the rest are counted in the summary.
const LATE_NAMED: u64 = 20;

/// A file the sweep read: it landed long after the time in its name, or it was replaced.
pub(super) fn report_late(
    name: &str,
    emitter: &Emitter,
    bucket: &str,
    key: &str,
    landed: i64,
    nth: u64,
) {
    if nth > LATE_NAMED {
        return;
    }
    let late = lateness(key, landed).unwrap_or(0);
    emitter.log(
        LogLevel::Info,
        &format!(
            "{name}: s3://{bucket}/{key} landed {} after the time in its name (S3 LastModified {}): a late delivery, or an object replaced after delivery; read by the late-file sweep",
            in_words(late),
            format_epoch(landed)
        ),
    );
}

/// A file of plain JSON under a `.json.gz` name (a copy tool that stores logs uncompressed but
/// keeps their name): said for the first of a sync, the others are counted in the summary.
fn report_plain_json(name: &str, emitter: &Emitter, bucket: &str, key: &str, nth: u64) {
    if nth == 1 {
        emitter.log(
            LogLevel::Info,
            &format!(
                "{name}: s3://{bucket}/{key} is plain JSON, not gzip as its name says (stored uncompressed by a copy tool?): read as JSON; other such files are counted in the summary"
            ),
        );
    }
}

/// The summary's words for the plain JSON files of a sync, if any.
fn plain_json_note(files: u64) -> String {
    match files {
        0 => String::new(),
        1 => "; 1 file of plain JSON under a .json.gz name read as JSON".into(),
        n => format!("; {n} files of plain JSON under a .json.gz name read as JSON"),
    }
}

/// A duration as a person says it: minutes, hours or days.
fn in_words(secs: i64) -> String {
    match secs {
        s if s < 2 * 3600 => format!("{} minutes", s / 60),
        s if s < 2 * 86_400 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn checkpoint(
    state: &mut TrailState,
    folders: &[LogFolder],
    readers: &[FolderReader],
    checkpointer: &mut Checkpointer,
) {
    for (folder, r) in folders.iter().zip(readers) {
        let cursor = r.cursor();
        if !cursor.is_blank() {
            state.folders.insert(folder.path.clone(), cursor);
        }
    }
    checkpointer.write(state);
}

/// Warnings about one file: what was skipped and why.
fn report_file(name: &str, emitter: &Emitter, key: &str, read: &FileRead) {
    if let Some(problem) = &read.problem {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: {key}: {problem}; the rest of the file is skipped ({} records read before)",
                read.records
            ),
        );
    }
    for (index, problem) in &read.unreadable_named {
        emitter.log(
            LogLevel::Warn,
            &format!("{name}: {key}: record {index} of Records (counting from 0) is skipped: {problem}; the rest of the file is read"),
        );
    }
    let unnamed = read.unreadable - read.unreadable_named.len() as u64;
    if unnamed > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: {key}: {unnamed} more records of Records cannot be read and are skipped"
            ),
        );
    }
    if read.rebuilt > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: {key}: {} records had a field of an unexpected type, written as null",
                read.rebuilt
            ),
        );
    }
    if read.dropped > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: {key}: {} elements of Records are not event objects: skipped",
                read.dropped
            ),
        );
    }
}

/// Account folders `check` lists at once (one LIST each, about 30 ms on S3: an organization
/// of 1,000 accounts takes about half a second).
const PROBES_AT_ONCE: usize = 64;

/// `check`: can the bucket's trail folder, and each account's folder under it, be listed with
/// these credentials? A policy may deny one account's folder (an `s3:prefix` condition) while
/// allowing the root: such folders are named with what to grant. `Err` (the message) when
/// nothing can be read: the root, or every account folder, is refused.
pub async fn probe(name: &str, bucket: &BucketClient, logs: &TrailLogs) -> Result<String, String> {
    let root = logs.root();
    let listing = Listing {
        max_keys: Some(1),
        ..Listing::default()
    };
    let (page, _) = bucket
        .list_page(&root, &listing, RetryBudget::CHECK)
        .await
        .map_err(|f| f.to_string())?;
    let (accounts, mut refused) = account_folders(bucket, logs, RetryBudget::CHECK)
        .await
        .map_err(|f| f.to_string())?;
    let at_once = Arc::new(tokio::sync::Semaphore::new(PROBES_AT_ONCE));
    let mut probes = JoinSet::new();
    for (index, account) in accounts.iter().enumerate() {
        let (bucket, at_once, path) = (bucket.clone(), at_once.clone(), account.path.clone());
        let listing = Listing {
            folders_only: true,
            ..listing.clone()
        };
        probes.spawn(async move {
            let _permit = at_once.acquire_owned().await;
            let listed = bucket.list_page(&path, &listing, RetryBudget::CHECK).await;
            (index, listed.err())
        });
    }
    let mut failed: Vec<(usize, AwsFailure)> = Vec::new();
    while let Some(done) = probes.join_next().await {
        let (index, failure) = done.map_err(|e| format!("a folder probe stopped: {e}"))?;
        failed.extend(failure.map(|f| (index, f)));
    }
    failed.sort_by_key(|(index, _)| *index);
    let readable_accounts = accounts.len() - failed.len();
    let unreadable_accounts = failed.len();
    refused.extend(failed.into_iter().map(|(_, f)| f));
    let not_readable = refused
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if readable_accounts == 0 && !refused.is_empty() {
        return Err(format!(
            "s3://{}/{root} is readable, but no account folder under it is: NOT readable: {not_readable}",
            logs.bucket
        ));
    }
    let mut readable = if page.contents().is_empty() {
        format!(
            "{name}: s3://{}/{root} is readable but holds no log files yet",
            logs.bucket
        )
    } else {
        format!("{name}: s3://{}/{root} is readable", logs.bucket)
    };
    if !refused.is_empty() {
        let orgs = match refused.len() - unreadable_accounts {
            0 => String::new(),
            1 => ", nor is 1 organization folder".into(),
            n => format!(", nor are {n} organization folders"),
        };
        readable.push_str(&format!(
            "; {readable_accounts} of {} account folders are readable{orgs}. A sync reads the others and fails these alone until the permission is granted. NOT readable: {not_readable}",
            accounts.len()
        ));
    }
    Ok(format!("{readable}; {}", sweep_cost(logs)))
}

/// What the late-file sweep costs, as `check` says it: a sweep lists the horizon of every
/// folder (CloudTrail delivers about every 5 minutes: 288 keys a day, 1,000 keys a LIST).
fn sweep_cost(logs: &TrailLogs) -> String {
    let days = logs.horizon_secs / 86_400;
    let lists = (days * 288 + 999) / 1000;
    let every = match logs.sweep_every_secs {
        0 => "every sync".to_string(),
        86_400 => "once a day".to_string(),
        3600 => "once an hour".to_string(),
        s if s % 86_400 == 0 => format!("every {} days", s / 86_400),
        s if s % 3600 == 0 => format!("every {} hours", s / 3600),
        s => format!("every {} minutes", s / 60),
    };
    format!(
        "files landing more than {} minutes late are read by a late-file sweep {every}, which lists the last {days} days of each account-region folder (about {lists} LISTs per folder)",
        logs.lookback_secs / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_round_trip_and_bad_ones_are_named() {
        let mut st = TrailState {
            bucket: "b".into(),
            prefix: "p".into(),
            ..Default::default()
        };
        st.folders.insert(
            "AWSLogs/1/CloudTrail/us-east-1/".into(),
            FolderCursor {
                after: Some("k".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            TrailState::from_json(&serde_json::to_value(&st).unwrap()).unwrap(),
            st
        );
        assert_eq!(
            TrailState::<FolderCursor>::from_json(&json!({})).unwrap(),
            TrailState::default()
        );
        let bad = TrailState::<FolderCursor>::from_json(&json!({"folders": {"x/": {"after": 5}}}))
            .unwrap_err();
        assert!(bad.contains("x/"), "{bad}");
        assert!(TrailState::<FolderCursor>::from_json(&json!([])).is_err());
    }

    #[test]
    fn only_event_files_are_read() {
        assert!(is_event_file(
            "2025/11/24/1_CloudTrail_us-east-1_20251124T1600Z_abc.json.gz"
        ));
        assert!(!is_event_file(
            "2025/11/24/1_CloudTrail-Digest_us-east-1_t_us-east-1_20251124T010000Z.json.gz"
        ));
        // Either name form, in any event folder.
        assert!(is_event_file(
            "2025/11/24/1_CloudTrail-Insight_us-east-1_20251124T1600Z_abc.json.gz"
        ));
        assert!(!is_event_file("2025/11/24/notes.txt"));
        assert!(!is_event_file("2025/11/24/"));
        assert!(
            !is_event_file("zz-notes.json.gz"),
            "outside the day folders"
        );
        assert!(!is_event_file("2025/1/24/x.json.gz"));
    }
}
