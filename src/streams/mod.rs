//! The streams this source offers, all read through one interface: a stream gives its catalog
//! entry and, from its saved state (`saved_state::resume`), a read; `run_stream` hands every read
//! its checkpointer and wraps it in the same statuses, summary and TRACE errors.

pub mod checkpoint;
pub mod lookup;
pub mod saved_state;
pub mod trail_aggregated_events;
pub mod trail_digests;
pub mod trail_events;
pub mod trail_insight_events;
pub mod trail_logs;
pub mod trails;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::aws::s3::BucketClient;
use crate::aws::{self, Connection};
use crate::config::{Config, TrailLogs};
use crate::emit::{Emitter, LogLevel, StreamStatus};
use crate::error::Error;
use crate::protocol::{AirbyteStream, SyncMode};
use checkpoint::Checkpointer;
use saved_state::{resume, SavedState};

/// What a stream's read ended with.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// One line on what was read, logged whether the read failed or not.
    pub summary: Option<String>,
    /// Empty when the stream read everything it should.
    pub errors: Vec<Error>,
}

impl ReadReport {
    pub fn failed(error: Error) -> ReadReport {
        ReadReport {
            summary: None,
            errors: vec![error],
        }
    }
}

/// A stream's read, ready to run once given its checkpointer: its state is already resumed.
pub type StreamRead = Box<dyn FnOnce(Checkpointer) -> ReadFuture + Send>;
pub type ReadFuture = Pin<Box<dyn Future<Output = ReadReport> + Send>>;

/// Every stream: a new stream is a new implementation of this (and its line in `offered`), not
/// a branch in `read`. The framework resumes its state (`saved_state::resume`) and hands its
/// read the checkpointer it writes its states through.
pub trait Stream: Send + Sync + 'static {
    /// What the stream keeps between syncs.
    type State: SavedState + Send + 'static;

    fn name(&self) -> &'static str;

    fn catalog_entry(&self) -> AirbyteStream;

    /// The read from `state`, writing its states through `checkpointer`.
    fn read(
        &'static self,
        context: Arc<ReadContext>,
        state: Self::State,
        checkpointer: Checkpointer,
    ) -> ReadFuture;
}

/// A stream as `discover` and `read` take it: its state's type left out.
pub trait OfferedStream: Send + Sync {
    fn name(&self) -> &'static str;

    fn catalog_entry(&self) -> AirbyteStream;

    /// Checks `saved` (the stream's state from the input, if any) before anything is read and
    /// returns the read from the state it resumes.
    fn prepare(
        &'static self,
        context: &Arc<ReadContext>,
        mode: SyncMode,
        saved: Option<&Value>,
    ) -> Result<StreamRead, Error>;
}

impl<S: Stream> OfferedStream for S {
    fn name(&self) -> &'static str {
        Stream::name(self)
    }

    fn catalog_entry(&self) -> AirbyteStream {
        Stream::catalog_entry(self)
    }

    fn prepare(
        &'static self,
        context: &Arc<ReadContext>,
        mode: SyncMode,
        saved: Option<&Value>,
    ) -> Result<StreamRead, Error> {
        let state = resume::<S::State>(Stream::name(self), context, mode, saved)?;
        let context = context.clone();
        Ok(Box::new(move |checkpointer| {
            self.read(context, state, checkpointer)
        }))
    }
}

/// The streams offered for `config`, in catalog order: the S3 streams only with `trail_logs`.
pub fn offered(config: &Config) -> Vec<&'static dyn OfferedStream> {
    let mut streams: Vec<&'static dyn OfferedStream> = vec![
        &lookup::MANAGEMENT_EVENTS,
        &lookup::INSIGHT_EVENTS,
        &trails::TRAILS,
    ];
    if config.trail_logs.is_some() {
        streams.push(&trail_events::TRAIL_EVENTS);
        streams.push(&trail_insight_events::TRAIL_INSIGHT_EVENTS);
        streams.push(&trail_aggregated_events::TRAIL_AGGREGATED_EVENTS);
        streams.push(&trail_digests::TRAIL_DIGESTS);
    }
    streams
}

/// What every read shares: the config, the emitter, and the AWS clients, connected once on
/// first use (a stream that needs none never fails on the others' credentials).
pub struct ReadContext {
    pub config: Config,
    pub emitter: Arc<Emitter>,
    cloudtrail: OnceCell<Result<Connection, Error>>,
    bucket: OnceCell<Result<(TrailLogs, BucketClient), Error>>,
}

impl ReadContext {
    pub fn new(config: Config, emitter: Arc<Emitter>) -> Arc<ReadContext> {
        Arc::new(ReadContext {
            config,
            emitter,
            cloudtrail: OnceCell::new(),
            bucket: OnceCell::new(),
        })
    }

    /// A CloudTrail client per configured region (and account of an organization).
    pub async fn cloudtrail(&self) -> Result<&Connection, Error> {
        let stop = self.emitter.stop_signal().clone();
        self.cloudtrail
            .get_or_init(|| async {
                let connected = aws::connect(&self.config, aws::Reach::Every, stop).await;
                // Said once, when the accounts are first connected.
                for warning in connected.iter().flat_map(|c| &c.warnings) {
                    self.emitter.log(LogLevel::Warn, warning);
                }
                connected
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The `trail_logs` config (its bucket found from `trail` when needed) and the client of
    /// its bucket.
    pub async fn bucket(&self) -> Result<(&TrailLogs, &BucketClient), Error> {
        let Some(logs) = &self.config.trail_logs else {
            return Err(Error::Internal("trail_logs is not configured".into()));
        };
        let stop = self.emitter.stop_signal().clone();
        let (logs, bucket) = self
            .bucket
            .get_or_init(|| async {
                let logs = aws::s3::resolve_trail(
                    &self.config,
                    logs,
                    aws::call::RetryBudget::SYNC_FIRST_CONTACT,
                    stop.clone(),
                )
                .await?;
                if let Some(trail) = logs.trail.as_deref().filter(|_| {
                    self.config
                        .trail_logs
                        .as_ref()
                        .is_some_and(|l| l.bucket.is_empty())
                }) {
                    self.emitter.log(
                        LogLevel::Info,
                        &format!(
                            "trail_logs.trail {trail}: its logs are in s3://{}/{}",
                            logs.bucket,
                            logs.root()
                        ),
                    );
                }
                let bucket = aws::s3::connect_bucket(&self.config, &logs, stop).await?;
                Ok((logs, bucket))
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        Ok((logs, bucket))
    }
}

/// Runs one stream's read between its statuses: STARTED, RUNNING, then COMPLETE, or INCOMPLETE
/// with a TRACE error per failure. Returns whether it completed.
pub async fn run_stream(name: &'static str, read: StreamRead, emitter: Arc<Emitter>) -> bool {
    emitter.stream_status(name, StreamStatus::Started);
    emitter.stream_status(name, StreamStatus::Running);
    let report = read(Checkpointer::new(name, emitter.clone())).await;
    if let Some(summary) = &report.summary {
        emitter.log(LogLevel::Info, summary);
    }
    if report.errors.is_empty() {
        emitter.stream_status(name, StreamStatus::Complete);
        return true;
    }
    emitter.stream_status(name, StreamStatus::Incomplete);
    for e in &report.errors {
        emitter.error(e, Some(name));
    }
    false
}

/// The schema entries every stream builds its catalog entry from.
pub fn catalog_entry(
    name: &'static str,
    json_schema: Value,
    primary_key: &'static str,
    cursor: Option<&'static str>,
    is_resumable: bool,
) -> AirbyteStream {
    let supported_sync_modes = match cursor {
        Some(_) => vec![SyncMode::FullRefresh, SyncMode::Incremental],
        None => vec![SyncMode::FullRefresh],
    };
    AirbyteStream {
        name,
        json_schema,
        supported_sync_modes,
        source_defined_cursor: cursor.map(|_| true),
        default_cursor_field: cursor.map(|c| vec![c]),
        source_defined_primary_key: vec![vec![primary_key]],
        is_resumable,
    }
}
