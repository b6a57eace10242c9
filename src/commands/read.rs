//! `read`: validate config, catalog and state up front, then read each configured stream,
//! its regions concurrently, with stream statuses around it and TRACE errors for what failed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use super::{runtime, Outcome};
use crate::aws::{self, RegionClient};
use crate::config::{Config, TrailLogs};
use crate::emit::{Emitter, LogLevel, StreamStatus};
use crate::error::Error;
use crate::protocol::{read_input, ConfiguredCatalog, ConfiguredStream, SyncMode};
use crate::state::{EventStreamState, InputState};
use crate::streams::lookup::{lookup_attribute, RegionRead, StateBook, SyncRange};
use crate::streams::trail_events::{self, TrailState};
use crate::streams::{self, trails, LookupKind};
use crate::time::now_secs;

pub fn read(
    config: &Path,
    catalog: &Path,
    state: Option<&Path>,
    emitter: &Arc<Emitter>,
) -> Result<Outcome, Error> {
    let config = Config::load(config)?;
    let catalog = ConfiguredCatalog::load(catalog)?;
    let input_state = match state {
        Some(path) => InputState::parse(&read_input(path, "state")?)?,
        None => InputState::default(),
    };
    let offered = streams::names(&config);
    let (known, unknown): (Vec<_>, Vec<_>) = catalog
        .streams
        .iter()
        .partition(|s| offered.contains(&s.stream.name.as_str()));

    // Every state is checked before anything is read: a corrupt one stops the sync at once.
    let invalid_state = |name: &str, e: String| {
        Error::config(format!(
            "the saved state of stream {name} is not valid: {e}. Fix the state or reset the stream"
        ))
    };
    let mut plans = Vec::new();
    // trail_events reads S3, not CloudTrail: read on its own, after the others.
    let mut trail_events_state = None;
    for configured in known {
        let name = configured.stream.name.as_str();
        let saved = input_state
            .streams
            .get(name)
            .filter(|_| configured.sync_mode == SyncMode::Incremental);
        if name == trail_events::NAME {
            let state = match saved {
                Some(v) => TrailState::from_json(v).map_err(|e| invalid_state(name, e))?,
                None => TrailState::default(),
            };
            trail_events_state = Some(state);
            continue;
        }
        let Some(kind) = streams::lookup_kind(name) else {
            // A full-refresh inventory (PyAirbyte asks for incremental: it is read whole anyway).
            plans.push(Plan::Trails);
            continue;
        };
        let state = match saved {
            Some(v) => EventStreamState::from_json(v, &config.regions, config.max_event_delay_secs)
                .map_err(|e| invalid_state(name, e))?,
            None => EventStreamState::default(),
        };
        let incremental = configured.sync_mode == SyncMode::Incremental;
        plans.push(Plan::Lookup(kind, incremental, state));
    }

    let mut outcome = Outcome::Success;
    if plans.is_empty() && trail_events_state.is_none() {
        return Ok(finish_unknown(&unknown, &offered, emitter, outcome));
    }
    let rt = runtime()?;
    if !plans.is_empty() {
        match rt.block_on(aws::connect(&config)) {
            Ok(clients) => {
                for plan in plans {
                    let completed = match plan {
                        Plan::Lookup(kind, incremental, state) => rt.block_on(read_lookup_stream(
                            kind,
                            &config,
                            &clients,
                            incremental,
                            state,
                            emitter,
                        )),
                        Plan::Trails => rt.block_on(read_trails(&clients, emitter)),
                    };
                    if !completed {
                        outcome = Outcome::Failed;
                    }
                }
            }
            // Alone, the failure is the run's; beside trail_events (whose bucket may have
            // credentials of its own) it is these streams'.
            Err(e) => {
                for plan in &plans {
                    incomplete(emitter, plan.name());
                }
                if trail_events_state.is_none() {
                    return Err(e);
                }
                emitter.error(&e, None);
                outcome = Outcome::Failed;
            }
        }
    }
    if let (Some(state), Some(logs)) = (trail_events_state, &config.trail_logs) {
        if !rt.block_on(read_trail_events(&config, logs, state, emitter)) {
            outcome = Outcome::Failed;
        }
    }
    Ok(finish_unknown(&unknown, &offered, emitter, outcome))
}

/// A stream that could not even start.
fn incomplete(emitter: &Emitter, name: &str) {
    emitter.stream_status(name, StreamStatus::Started);
    emitter.stream_status(name, StreamStatus::Incomplete);
}

/// Reports the catalog's streams this source does not offer; the outcome with them.
fn finish_unknown(
    unknown: &[&ConfiguredStream],
    offered: &[&str],
    emitter: &Emitter,
    mut outcome: Outcome,
) -> Outcome {
    for s in unknown {
        emitter.error(
            &Error::config(format!(
                "the catalog names stream '{}', which this source does not offer (it offers: {}); refresh the source schema",
                s.stream.name,
                offered.join(", ")
            )),
            Some(&s.stream.name),
        );
        outcome = Outcome::Failed;
    }
    outcome
}

/// What to read for one configured CloudTrail stream.
enum Plan {
    Lookup(&'static LookupKind, bool, EventStreamState),
    Trails,
}

impl Plan {
    fn name(&self) -> &'static str {
        match self {
            Plan::Lookup(kind, ..) => kind.name,
            Plan::Trails => trails::NAME,
        }
    }
}

/// Reads the trail's log files (from an empty state for a full refresh); returns whether every
/// file was read.
async fn read_trail_events(
    config: &Config,
    logs: &TrailLogs,
    state: TrailState,
    emitter: &Arc<Emitter>,
) -> bool {
    let name = trail_events::NAME;
    let bucket = match aws::s3::connect_bucket(config, logs).await {
        Ok(b) => b,
        Err(e) => {
            incomplete(emitter, name);
            emitter.error(&e, Some(name));
            return false;
        }
    };
    emitter.stream_status(name, StreamStatus::Started);
    emitter.stream_status(name, StreamStatus::Running);
    match trail_events::read(&bucket, logs, state, emitter).await {
        Ok(read) => {
            emitter.log(
                LogLevel::Info,
                &format!(
                    "{name}: {} records from {} files ({} MB of JSON); {} files skipped",
                    read.records,
                    read.files,
                    read.uncompressed_bytes / 1_000_000,
                    read.skipped_files
                ),
            );
            emitter.stream_status(name, StreamStatus::Complete);
            true
        }
        Err(errors) => {
            emitter.stream_status(name, StreamStatus::Incomplete);
            for e in &errors {
                emitter.error(e, Some(name));
            }
            false
        }
    }
}

/// Reads the trail inventory; returns whether it completed.
async fn read_trails(clients: &[RegionClient], emitter: &Emitter) -> bool {
    emitter.stream_status(trails::NAME, StreamStatus::Started);
    emitter.stream_status(trails::NAME, StreamStatus::Running);
    let result = trails::read(clients, emitter).await;
    // Full refresh: the state only marks the stream as synced, as the protocol expects.
    emitter.state(trails::NAME, &serde_json::json!({}));
    match result {
        Ok(n) => {
            emitter.log(LogLevel::Info, &format!("{}: {n} trails", trails::NAME));
            emitter.stream_status(trails::NAME, StreamStatus::Complete);
            true
        }
        Err(e) => {
            emitter.stream_status(trails::NAME, StreamStatus::Incomplete);
            emitter.error(&e, Some(trails::NAME));
            false
        }
    }
}

/// Reads a LookupEvents stream in every region; returns whether every region completed.
async fn read_lookup_stream(
    kind: &'static LookupKind,
    config: &Config,
    clients: &[RegionClient],
    incremental: bool,
    state: EventStreamState,
    emitter: &Arc<Emitter>,
) -> bool {
    let name = kind.name;
    emitter.stream_status(name, StreamStatus::Started);
    emitter.stream_status(name, StreamStatus::Running);
    let filter = lookup_attribute(config, kind);
    if let (Some(f), None) = (&config.lookup_filter, &filter) {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: lookup_attributes_filter on {} does not apply to this stream (LookupEvents accepts only {} for it): reading it unfiltered",
                f.key,
                kind.filter_keys.join(", ")
            ),
        );
    }
    let range = SyncRange::new(config, incremental, now_secs(), emitter);
    let book = Arc::new(StateBook::new(name, state));
    let warnings = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let read = RegionRead {
                kind,
                client: client.clone(),
                emitter: emitter.clone(),
                book: book.clone(),
                range,
                filter: filter.clone(),
                warnings: warnings.clone(),
                reached: AtomicBool::new(false),
            };
            (client.region.clone(), tokio::spawn(read.run()))
        })
        .collect();
    let mut failures = Vec::new();
    for (region, task) in tasks {
        match task.await {
            Ok(Ok(records)) => emitter.log(
                LogLevel::Info,
                &format!("{name} in {region}: {records} records"),
            ),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(Error::Internal(format!(
                "the reader of {region} stopped: {e}"
            ))),
        }
    }
    let unparsable = warnings.load(std::sync::atomic::Ordering::Relaxed);
    if unparsable > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!("{name}: {unparsable} events had a CloudTrailEvent that is not a JSON object"),
        );
    }
    book.emit(emitter);
    if failures.is_empty() {
        emitter.stream_status(name, StreamStatus::Complete);
        true
    } else {
        emitter.stream_status(name, StreamStatus::Incomplete);
        for e in &failures {
            emitter.error(e, Some(name));
        }
        false
    }
}
