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
    let mut plans = Vec::new();
    for configured in known {
        let incremental = configured.sync_mode == SyncMode::Incremental;
        if configured.stream.name == trail_events::NAME {
            let state = match input_state.streams.get(trail_events::NAME) {
                Some(v) if incremental => TrailState::from_json(v).map_err(|e| {
                    Error::config(format!(
                        "the saved state of stream {} is not valid: {e}. Fix the state or reset the stream",
                        trail_events::NAME
                    ))
                })?,
                _ => TrailState::default(),
            };
            plans.push(Plan::TrailEvents(state));
            continue;
        }
        let Some(kind) = streams::lookup_kind(&configured.stream.name) else {
            // A full-refresh inventory (PyAirbyte asks for incremental: it is read whole anyway).
            plans.push(Plan::Trails);
            continue;
        };
        let state = match input_state.streams.get(&configured.stream.name) {
            Some(v) if incremental => EventStreamState::from_json(v, &config.regions, config.max_event_delay_secs)
                .map_err(|e| {
                    Error::config(format!(
                        "the saved state of stream {} is not valid: {e}. Fix the state or reset the stream",
                        configured.stream.name
                    ))
                })?,
            _ => EventStreamState::default(),
        };
        plans.push(Plan::Lookup(kind, incremental, state));
    }

    let mut outcome = Outcome::Success;
    let (trail_plans, plans): (Vec<Plan>, Vec<Plan>) = plans
        .into_iter()
        .partition(|p| matches!(p, Plan::TrailEvents(_)));
    let fail_all = |plans: &[Plan]| {
        for plan in plans {
            emitter.stream_status(plan.name(), StreamStatus::Started);
            emitter.stream_status(plan.name(), StreamStatus::Incomplete);
        }
    };
    if plans.is_empty() && trail_plans.is_empty() {
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
                        Plan::TrailEvents(_) => true,
                    };
                    if !completed {
                        outcome = Outcome::Failed;
                    }
                }
            }
            // Alone, the failure is the run's; beside trail_events (whose bucket may have
            // credentials of its own) it is these streams'.
            Err(e) if trail_plans.is_empty() => {
                fail_all(&plans);
                return Err(e);
            }
            Err(e) => {
                fail_all(&plans);
                emitter.error(&e, None);
                outcome = Outcome::Failed;
            }
        }
    }
    for plan in trail_plans {
        let (Plan::TrailEvents(state), Some(logs)) = (plan, &config.trail_logs) else {
            continue;
        };
        match rt.block_on(read_trail_events(&config, logs, state, emitter)) {
            Ok(true) => {}
            Ok(false) => outcome = Outcome::Failed,
            Err(e) => {
                emitter.stream_status(trail_events::NAME, StreamStatus::Started);
                emitter.stream_status(trail_events::NAME, StreamStatus::Incomplete);
                emitter.error(&e, Some(trail_events::NAME));
                outcome = Outcome::Failed;
            }
        }
    }
    Ok(finish_unknown(&unknown, &offered, emitter, outcome))
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

/// What to read for one configured stream.
enum Plan {
    Lookup(&'static LookupKind, bool, EventStreamState),
    Trails,
    /// Full refresh starts from an empty state.
    TrailEvents(TrailState),
}

impl Plan {
    fn name(&self) -> &'static str {
        match self {
            Plan::Lookup(kind, ..) => kind.name,
            Plan::Trails => trails::NAME,
            Plan::TrailEvents(_) => trail_events::NAME,
        }
    }
}

/// Reads the trail's log files; returns whether every file was read. `Err` when the bucket
/// cannot even be connected to (the statuses are then the caller's to write).
async fn read_trail_events(
    config: &Config,
    logs: &TrailLogs,
    state: TrailState,
    emitter: &Arc<Emitter>,
) -> Result<bool, Error> {
    let name = trail_events::NAME;
    let bucket = aws::s3::connect_bucket(config, logs).await?;
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
            Ok(true)
        }
        Err(errors) => {
            emitter.stream_status(name, StreamStatus::Incomplete);
            for e in &errors {
                emitter.error(e, Some(name));
            }
            Ok(false)
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
