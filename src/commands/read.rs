//! `read`: validate config, catalog and every stream's state up front, then read the configured
//! streams concurrently (their quotas are independent), each through `run_stream`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{runtime, Outcome};
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::Error;
use crate::protocol::{read_input, ConfiguredCatalog};
use crate::state::InputState;
use crate::streams::{self, run_stream, ReadContext};

/// How long blocking work (a decoder finishing a file) may hold the exit after the read.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

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
    let offered = streams::offered(&config);
    let names: Vec<&str> = offered.iter().map(|s| s.name()).collect();
    let context = ReadContext::new(config, emitter.clone());

    // Every state is checked before anything is read: a corrupt one stops the sync at once.
    let rt = runtime()?;
    let mut reads = Vec::new();
    let mut outcome = Outcome::Success;
    for configured in &catalog.streams {
        let name = configured.stream.name.as_str();
        let Some(stream) = offered.iter().find(|s| s.name() == name) else {
            emitter.error(
                &Error::config(format!(
                    "the catalog names stream '{name}', which this source does not offer (it offers: {}); refresh the source schema",
                    names.join(", ")
                )),
                Some(name),
            );
            outcome = Outcome::Failed;
            continue;
        };
        let saved = input_state.streams.get(name);
        reads.push((
            stream.name(),
            stream.prepare(&context, configured.sync_mode, saved)?,
        ));
    }

    let completed = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (name, read) in reads {
            tasks.spawn(run_stream(name, read, emitter.clone()));
        }
        let mut all = true;
        while let Some(done) = tasks.join_next().await {
            all &= done.unwrap_or_else(|e| {
                emitter.error(
                    &Error::Internal(format!("a stream's read stopped: {e}")),
                    None,
                );
                false
            });
        }
        all
    });
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    if !completed {
        outcome = Outcome::Failed;
    }
    Ok(outcome)
}
