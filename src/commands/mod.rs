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

/// The async runtime for commands that call AWS.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(4);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}
