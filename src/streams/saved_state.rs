//! A stream's saved state as every stream handles it: parsed from the input (in any form the
//! stream ever wrote, a problem located in it), and the one resumption rule: a full refresh
//! resumes only its own interrupted state, an incremental sync continues any state, stepped back
//! by what the stream declares.

use serde::Serialize;
use serde_json::Value;

use super::ReadContext;
use crate::error::Error;
use crate::protocol::SyncMode;

/// The state a stream keeps between syncs.
pub trait SavedState: Serialize + Sized {
    /// Parses `saved` (this stream's part of the input state), in any form the stream wrote or
    /// continues (earlier versions, the connector it replaces); the problem says where it is
    /// wrong. Warnings a person should see (a cursor ahead of every clock) go to the log here.
    fn parse(saved: &Value, stream: &'static str, context: &ReadContext) -> Result<Self, String>;

    /// The state of a stream read from its start; `full_refresh` marks a full refresh's own.
    fn fresh(full_refresh: bool) -> Self;

    /// Whether a full refresh wrote it (its cursors reach the moment it ran).
    fn written_by_full_refresh(&self) -> bool;

    /// The state an incremental sync continues from, with what the stream steps back (events
    /// that may still appear below a full refresh's cursors) and the full-refresh mark cleared.
    fn for_incremental(self, context: &ReadContext) -> Self;
}

/// The state a read in `mode` starts from, given the stream's saved one.
pub fn resume<S: SavedState>(
    stream: &'static str,
    context: &ReadContext,
    mode: SyncMode,
    saved: Option<&Value>,
) -> Result<S, Error> {
    let parsed = saved
        .map(|v| S::parse(v, stream, context))
        .transpose()
        .map_err(|problem| Error::State { stream, problem })?;
    Ok(match (mode, parsed) {
        (SyncMode::Incremental, state) => state
            .unwrap_or_else(|| S::fresh(false))
            .for_incremental(context),
        (SyncMode::FullRefresh, Some(state)) if state.written_by_full_refresh() => state,
        (SyncMode::FullRefresh, _) => S::fresh(true),
    })
}

/// The state of a stream read whole every time (full refresh only): `{}`, which only marks the
/// stream as synced, as the protocol expects. Whatever was saved is ignored.
#[derive(Debug, Default, Serialize)]
pub struct NoState {}

impl SavedState for NoState {
    fn parse(_: &Value, _: &'static str, _: &ReadContext) -> Result<Self, String> {
        Ok(NoState {})
    }

    fn fresh(_: bool) -> Self {
        NoState {}
    }

    fn written_by_full_refresh(&self) -> bool {
        false
    }

    fn for_incremental(self, _: &ReadContext) -> Self {
        self
    }
}
