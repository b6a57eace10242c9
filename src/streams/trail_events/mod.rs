//! The `trail_events` stream: every event a trail delivered to S3. Folders are listed per
//! account and region from where the state left them, files are read several at a time, and the
//! state is checkpointed as files complete, whatever order they complete in.

mod cursor;
mod file;
mod folders;
pub mod record;
mod scan;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::aws::call::RetryBudget;
use crate::aws::s3::{BucketClient, Listing};
use crate::config::TrailLogs;
use crate::emit::{Emitter, LogLevel};
use crate::error::{AwsFailure, AwsProblem, Error};
use crate::schema::schema_for;
use crate::time::now_millis;
use cursor::{FolderCursor, FolderProgress};
use file::{read_file, FileRead, Framing};
use folders::{discover, LogFolder};
use scan::Shape;

pub const NAME: &str = "trail_events";

pub fn schema() -> Value {
    schema_for::<record::TrailEvent>()
}

/// The record schema as the scanner checks it.
fn shape() -> Arc<Shape> {
    static SHAPE: OnceLock<Arc<Shape>> = OnceLock::new();
    SHAPE
        .get_or_init(|| Arc::new(Shape::from_schema(&schema())))
        .clone()
}

pub fn catalog_entry() -> Value {
    json!({
        "name": NAME,
        "json_schema": schema(),
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": true,
        "default_cursor_field": ["logFileKey"],
        "source_defined_primary_key": [["eventID"]],
        "is_resumable": true
    })
}

/// The stream's state: a cursor per account-region folder, for one bucket and prefix.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrailState {
    pub bucket: String,
    pub prefix: String,
    pub folders: BTreeMap<String, FolderCursor>,
}

impl TrailState {
    pub fn to_json(&self) -> Value {
        let folders: Map<String, Value> = self
            .folders
            .iter()
            .map(|(path, c)| (path.clone(), c.to_json()))
            .collect();
        json!({"bucket": self.bucket, "prefix": self.prefix, "folders": folders})
    }

    pub fn from_json(v: &Value) -> Result<TrailState, String> {
        let obj = v.as_object().ok_or("it is not a JSON object")?;
        if obj.is_empty() {
            return Ok(TrailState::default());
        }
        let text = |k: &str| match obj.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Ok(String::new()),
            Some(_) => Err(format!("'{k}' is not a string")),
        };
        let mut folders = BTreeMap::new();
        match obj.get("folders") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (path, c) in map {
                    let cursor =
                        FolderCursor::from_json(c).map_err(|e| format!("folder {path}: {e}"))?;
                    folders.insert(path.clone(), cursor);
                }
            }
            Some(_) => return Err("'folders' is not an object".into()),
        }
        Ok(TrailState {
            bucket: text("bucket")?,
            prefix: text("prefix")?,
            folders,
        })
    }
}

/// Files read at once. A GET waits tens of milliseconds for its first byte and CloudTrail
/// files are small, so many downloads must overlap to keep every core decoding.
fn concurrent_files() -> usize {
    (std::thread::available_parallelism().map_or(2, |n| n.get()) * 8).clamp(16, 64)
}

/// Listed files waiting to be read, at most; listing pauses beyond.
const QUEUE_LIMIT: usize = 2_000;
/// Folders listed at once.
const CONCURRENT_FOLDERS: usize = 8;
/// Checkpoints come at most this often (and after the last file).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// What a read did.
#[derive(Debug, Default)]
pub struct TrailRead {
    pub files: u64,
    pub records: u64,
    pub skipped_files: u64,
    pub uncompressed_bytes: u64,
}

/// One page of a folder's listing: keys relative to the folder.
struct Page {
    folder: usize,
    keys: Result<Vec<String>, AwsFailure>,
    last: bool,
}

/// Lists a folder from `after`, page by page, into `pages`.
async fn list_folder(
    bucket: BucketClient,
    folder: usize,
    path: String,
    after: Option<String>,
    pages: mpsc::Sender<Page>,
) {
    let mut listing = Listing {
        start_after: after.map(|a| format!("{path}{a}")),
        ..Listing::default()
    };
    loop {
        let (keys, next) = match bucket.list_page(&path, &listing, RetryBudget::SYNC).await {
            Ok((page, next)) => (
                Ok(page
                    .contents()
                    .iter()
                    .filter_map(|o| o.key()?.strip_prefix(path.as_str()).map(String::from))
                    .collect()),
                next,
            ),
            Err(f) => (Err(f), None),
        };
        let last = next.is_none();
        if pages.send(Page { folder, keys, last }).await.is_err() || last {
            return;
        }
        listing.page = next;
    }
}

/// Whether a key of a `CloudTrail/<region>/` folder (relative to it) is an event file: in a
/// `YYYY/MM/DD/` day folder, a `.json.gz`, not a digest or Insights file (they live in folders of
/// their own, but are told apart by name too). Anything else is ignored, and never becomes the
/// folder's cursor: a stray key sorting after the day folders would stop the listing there.
fn is_event_file(key: &str) -> bool {
    let b = key.as_bytes();
    let dated = b.len() > 11
        && [4, 7, 10].iter().all(|&i| b[i] == b'/')
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    let name = key.rsplit('/').next().unwrap_or(key);
    dated
        && name.ends_with(".json.gz")
        && !name.contains("_CloudTrail-Digest_")
        && !name.contains("_CloudTrail-Insight_")
}

/// The provenance columns of a folder's file.
fn provenance(bucket: &str, folder: &LogFolder, key: &str) -> Value {
    json!({
        "logFileBucket": bucket,
        "logFileKey": format!("{}{key}", folder.path),
        "logFileAccountId": folder.account,
        "logFileRegion": folder.region,
        "logFileOrganizationId": folder.organization_id,
    })
}

/// Reads every new file of the bucket; the state is written as files complete. Failures of
/// single folders or files are collected: the others are still read and checkpointed.
pub async fn read(
    bucket: &BucketClient,
    logs: &TrailLogs,
    mut state: TrailState,
    emitter: &Arc<Emitter>,
) -> Result<TrailRead, Vec<Error>> {
    if (state.bucket != logs.bucket || state.prefix != logs.prefix) && !state.folders.is_empty() {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{NAME}: the state is of s3://{}/{}, the config reads s3://{}/{}: reading from the start",
                state.bucket, state.prefix, logs.bucket, logs.prefix
            ),
        );
        state.folders.clear();
    }
    state.bucket = logs.bucket.clone();
    state.prefix = logs.prefix.clone();
    let folders = discover(bucket, logs).await.map_err(|e| vec![e])?;
    emitter.log(
        LogLevel::Info,
        &format!(
            "{NAME}: {} account-region folders under s3://{}/{}",
            folders.len(),
            logs.bucket,
            logs.root()
        ),
    );
    let mut progress: Vec<FolderProgress> = folders
        .iter()
        .map(|f| {
            let cursor = state.folders.get(&f.path).cloned().unwrap_or_default();
            FolderProgress::new(cursor, logs.lookback_secs)
        })
        .collect();

    let (page_tx, mut page_rx) = mpsc::channel::<Page>(CONCURRENT_FOLDERS * 2);
    let mut unlisted: VecDeque<usize> = (0..folders.len()).collect();
    let mut listing = 0usize;
    let mut queue: VecDeque<(usize, String, u64)> = VecDeque::new();
    let mut reading: JoinSet<(usize, String, Result<FileRead, AwsFailure>)> = JoinSet::new();
    // Files being read, with how many of their elements are out.
    let mut in_flight: HashMap<(usize, String), Arc<AtomicU64>> = HashMap::new();
    let mut errors: Vec<Error> = Vec::new();
    let mut total = TrailRead::default();
    let mut last_checkpoint = Instant::now();
    let mut dirty = false;
    let shape = shape();
    let workers = concurrent_files();

    loop {
        while listing < CONCURRENT_FOLDERS {
            let Some(f) = unlisted.pop_front() else { break };
            let from = progress[f]
                .cursor
                .list_after(logs.lookback_secs, logs.start_day.as_deref());
            tokio::spawn(list_folder(
                bucket.clone(),
                f,
                folders[f].path.clone(),
                from,
                page_tx.clone(),
            ));
            listing += 1;
        }
        while reading.len() < workers {
            let Some((f, key, skip)) = queue.pop_front() else {
                break;
            };
            let framing = Arc::new(Framing::new(
                &provenance(&logs.bucket, &folders[f], &key),
                now_millis(),
            ));
            let (bucket, shape, emitter) = (bucket.clone(), shape.clone(), emitter.clone());
            let full_key = format!("{}{key}", folders[f].path);
            let written = Arc::new(AtomicU64::new(skip));
            in_flight.insert((f, key.clone()), written.clone());
            reading.spawn(async move {
                let result = read_file(&bucket, &full_key, shape, framing, emitter, written).await;
                (f, key, result)
            });
        }
        if listing == 0 && queue.is_empty() && reading.is_empty() {
            break;
        }
        tokio::select! {
            Some(page) = page_rx.recv(), if listing > 0 && queue.len() < QUEUE_LIMIT => {
                if page.last {
                    listing -= 1;
                }
                match page.keys {
                    Ok(keys) => {
                        for key in keys.into_iter().filter(|k| is_event_file(k)) {
                            if let Some(skip) = progress[page.folder].listed(&key) {
                                queue.push_back((page.folder, key, skip));
                            }
                        }
                    }
                    Err(f) => errors.push(Error::aws(f).for_stream(NAME)),
                }
            }
            Some(done) = reading.join_next(), if !reading.is_empty() => {
                let (f, key, result) = done.map_err(|e| {
                    vec![Error::Internal(format!("a file reader stopped: {e}"))]
                })?;
                let full_key = format!("{}{key}", folders[f].path);
                if let Some(written) = in_flight.remove(&(f, key.clone())) {
                    progress[f].written(&key, written.load(Ordering::Acquire));
                }
                match result {
                    Ok(read) => {
                        total.files += 1;
                        total.records += read.records;
                        total.uncompressed_bytes += read.uncompressed_bytes;
                        report_file(emitter, &full_key, &read);
                        if read.problem.is_some() {
                            total.skipped_files += 1;
                        }
                        progress[f].finished(&key);
                        dirty = true;
                    }
                    Err(failure) if failure.problem == AwsProblem::NotFound => {
                        emitter.log(
                            LogLevel::Warn,
                            &format!("{NAME}: s3://{}/{full_key} was deleted before it could be read: skipped", logs.bucket),
                        );
                        total.skipped_files += 1;
                        progress[f].finished(&key);
                        dirty = true;
                    }
                    // The file stays pending: the checkpoint never moves past it.
                    Err(failure) => errors.push(Error::aws(failure).for_stream(NAME)),
                }
            }
            // A large file being read is checkpointed while it is read.
            _ = tokio::time::sleep_until((last_checkpoint + CHECKPOINT_EVERY).into()), if !in_flight.is_empty() => {}
            else => break,
        }
        if (dirty || !in_flight.is_empty()) && last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            for ((f, key), written) in &in_flight {
                progress[*f].written(key, written.load(Ordering::Acquire));
            }
            checkpoint(&mut state, &folders, &progress, emitter);
            last_checkpoint = Instant::now();
            dirty = false;
        }
    }
    checkpoint(&mut state, &folders, &progress, emitter);
    if errors.is_empty() {
        Ok(total)
    } else {
        Err(errors)
    }
}

fn checkpoint(
    state: &mut TrailState,
    folders: &[LogFolder],
    progress: &[FolderProgress],
    emitter: &Emitter,
) {
    for (folder, p) in folders.iter().zip(progress) {
        if p.cursor != FolderCursor::default() {
            state.folders.insert(folder.path.clone(), p.cursor.clone());
        }
    }
    emitter.state(NAME, &state.to_json());
}

/// Warnings about one file: what was skipped and why.
fn report_file(emitter: &Emitter, key: &str, read: &FileRead) {
    if let Some(problem) = &read.problem {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{NAME}: {key}: {problem}; the rest of the file is skipped ({} records read before)",
                read.records
            ),
        );
    }
    if read.rebuilt > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{NAME}: {key}: {} records had a field of an unexpected type, written as null",
                read.rebuilt
            ),
        );
    }
    if read.dropped > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{NAME}: {key}: {} elements of Records are not event objects: skipped",
                read.dropped
            ),
        );
    }
}

/// `check`: can the bucket's trail folder be listed with these credentials?
pub async fn probe(bucket: &BucketClient, logs: &TrailLogs) -> Result<String, AwsFailure> {
    let root = logs.root();
    let listing = Listing {
        max_keys: Some(1),
        ..Listing::default()
    };
    let (page, _) = bucket
        .list_page(&root, &listing, RetryBudget::CHECK)
        .await?;
    Ok(if page.contents().is_empty() {
        format!(
            "{NAME}: s3://{}/{root} is readable but holds no log files yet",
            logs.bucket
        )
    } else {
        format!("{NAME}: s3://{}/{root} is readable", logs.bucket)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_the_native_names_and_no_names_differing_by_case() {
        let s = schema();
        fn walk(v: &Value, path: &str) {
            if let Some(props) = v.get("properties").and_then(Value::as_object) {
                let mut lower: Vec<String> = props.keys().map(|k| k.to_lowercase()).collect();
                lower.sort();
                let n = lower.len();
                lower.dedup();
                assert_eq!(lower.len(), n, "names differing by case under {path}");
                for (k, p) in props {
                    walk(p, &format!("{path}.{k}"));
                }
            }
            if let Some(items) = v.get("items") {
                walk(items, path);
            }
        }
        walk(&s, "");
        for name in [
            "eventTime",
            "eventID",
            "userIdentity",
            "requestParameters",
            "sourceIPAddress",
            "logFileKey",
        ] {
            assert!(s["properties"].get(name).is_some(), "{name}");
        }
        assert_eq!(s["properties"]["requestParameters"].get("type"), None);
        assert_eq!(s["properties"]["eventTime"]["format"], "date-time");
        assert!(matches!(*shape(), Shape::Object(_)));
    }

    /// The polymorphic fields are a `oneOf` of every JSON type, so any value passes the scanner as
    /// the bytes it was; the top-level ones carry `airbyte_type: object` for PyAirbyte's caches.
    #[test]
    fn polymorphic_fields_are_json_columns_that_take_any_value_unchanged() {
        let s = schema();
        let nested = |v: &Value| {
            assert_eq!(v.get("type"), None, "{v}");
            assert_eq!(v.get("anyOf"), None, "{v}");
            assert_eq!(v["oneOf"].as_array().map(Vec::len), Some(6), "{v}");
        };
        let any = |v: &Value| {
            nested(v);
            assert_eq!(v["airbyte_type"], "object", "{v}");
        };
        let top = [
            "requestParameters",
            "responseElements",
            "additionalEventData",
            "serviceEventDetails",
            "sessionCredentialFromConsole",
            "edgeDeviceDetails",
            "addendum",
            "insightDetails",
        ];
        for name in top {
            any(&s["properties"][name]);
        }
        let identity = &s["properties"]["userIdentity"]["properties"];
        let context = &identity["sessionContext"]["properties"];
        for v in [
            &identity["onBehalfOf"],
            &identity["inScopeOf"],
            &context["webIdFederationData"],
            &context["assumedRoot"],
        ] {
            nested(v);
            assert_eq!(v.get("airbyte_type"), None, "only columns carry it: {v}");
        }

        let values = [
            json!({"bucketName": "b", "key": {"pk": 1}}),
            json!([1, "two", {"three": 3}]),
            json!("012345678901"),
            json!(12),
            json!(-1.5e3),
            json!(true),
            json!(null),
        ];
        for value in &values {
            let mut record = json!({"eventID": "e", "logFileKey": "k"});
            for name in top {
                record[name] = value.clone();
            }
            record["userIdentity"] = json!({"type": "AWSService", "onBehalfOf": value,
                "sessionContext": {"assumedRoot": value, "webIdFederationData": value}});
            let text = format!("{{\"Records\":[{record}]}}");
            let mut splitter = scan::RecordSplitter::with_window(text.as_bytes(), Vec::new());
            match splitter.next(&shape()).unwrap() {
                Some(scan::Element::Record { bytes, fits }) => {
                    assert!(fits, "{record}");
                    assert_eq!(bytes, record.to_string().as_bytes());
                }
                _ => panic!("no record in {text}"),
            }
            let mut coerced = record.clone();
            assert_eq!(shape().coerce(&mut coerced), 0, "{record}");
            assert_eq!(coerced, record);
        }
    }

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
        assert_eq!(TrailState::from_json(&st.to_json()).unwrap(), st);
        assert_eq!(
            TrailState::from_json(&json!({})).unwrap(),
            TrailState::default()
        );
        let bad = TrailState::from_json(&json!({"folders": {"x/": {"after": 5}}})).unwrap_err();
        assert!(bad.contains("x/"), "{bad}");
        assert!(TrailState::from_json(&json!([])).is_err());
    }

    #[test]
    fn only_event_files_are_read() {
        assert!(is_event_file(
            "2025/11/24/1_CloudTrail_us-east-1_20251124T1600Z_abc.json.gz"
        ));
        assert!(!is_event_file(
            "2025/11/24/1_CloudTrail-Digest_us-east-1_t_us-east-1_20251124T010000Z.json.gz"
        ));
        assert!(!is_event_file("2025/11/24/notes.txt"));
        assert!(!is_event_file("2025/11/24/"));
        assert!(
            !is_event_file("zz-notes.json.gz"),
            "outside the day folders"
        );
        assert!(!is_event_file("2025/1/24/x.json.gz"));
    }

    #[test]
    fn generated_records_fit_the_record_type_exactly() {
        let mut rng = cloudtrail_emulator::records::Rng::new(9);
        for i in 0..300 {
            let (_, text) = cloudtrail_emulator::trail_logs::trail_record(
                &mut rng,
                "111122223333",
                "eu-west-1",
                1_764_000_000 + i,
                0.05,
            );
            let mut v: Value = serde_json::from_str(&text).unwrap();
            let obj = v.as_object_mut().unwrap();
            for (k, val) in provenance(
                "b",
                &LogFolder {
                    path: "AWSLogs/111122223333/CloudTrail/eu-west-1/".into(),
                    organization_id: None,
                    account: "111122223333".into(),
                    region: "eu-west-1".into(),
                },
                "k",
            )
            .as_object()
            .unwrap()
            {
                obj.insert(k.clone(), val.clone());
            }
            // deny_unknown_fields: every generated field is a schema column.
            serde_json::from_value::<record::TrailEvent>(v.clone())
                .unwrap_or_else(|e| panic!("{e}: {v}"));
            assert_eq!(shape().coerce(&mut v), 0, "{v}");
        }
    }
}
