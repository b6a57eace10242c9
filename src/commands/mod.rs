//! The four Airbyte commands, one orchestrator each.

mod check;
mod discover;
mod read;
mod spec;

use std::sync::Arc;

use crate::cli::Command;
use crate::emit::Emitter;
use crate::error::Error;

/// How a command ended when it did not return an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Failures were reported (TRACE errors); the process must exit non-zero.
    Failed,
}

pub fn run(command: Command, emitter: &Arc<Emitter>) -> Result<Outcome, Error> {
    match command {
        Command::Spec => spec::spec(emitter),
        Command::Check { config } => check::check(&config, emitter),
        Command::Discover { config } => discover::discover(&config, emitter),
        Command::Read {
            config,
            catalog,
            state,
        } => read::read(&config, &catalog, state.as_deref(), emitter),
    }
}

/// The async runtime for commands that call AWS: one thread. What runs on it waits on AWS's
/// quotas and moves bytes; the CPU-heavy work (a log file's gunzip and scan, a digest's hash)
/// runs on the blocking pool, in parallel. A single thread keeps every answer, its parsing and
/// its writing on one core: with a worker per core, the hand-offs between them (waking a parked
/// worker, stealing a task, the page's bytes moving to another core's cache) cost more CPU than
/// they buy (10 accounts, throttle off, back to back: 208,000-235,000 records per CPU-second on
/// one thread, 189,000-219,000 with a worker per core; trail_events no slower).
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}
