//! When a stream's next STATE is due: by time and by bytes written since the last one, so that
//! states stay a small share of stdout however many folders or regions a state holds, while
//! progress without records is still saved now and then; and the checkpointer `run_stream` hands
//! every stream's read, the one way a stream writes its state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::emit::Emitter;

/// STATE messages come at most this often per stream...
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// ...and only once the output since the last one is this many times a state's size (states are
/// then at most 1/17 of stdout)...
pub const OUTPUT_PER_STATE: u64 = 16;
/// ...unless this long passed: progress without records (empty windows, skipped files) is
/// still saved.
pub const CHECKPOINT_QUIET_EVERY: Duration = Duration::from_secs(5);

/// The last STATE written: when, stdout's size after it, and its size.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckpointPace {
    /// When the last state was written, and stdout's size then; none yet: the first is due.
    last: Option<(Instant, u64)>,
    /// The size of the last state line.
    state_len: u64,
}

impl CheckpointPace {
    /// Whether a state is due at `now`, with `written` bytes on stdout so far.
    pub fn due(&self, now: Instant, written: u64) -> bool {
        let Some((at, written_then)) = self.last else {
            return true;
        };
        let elapsed = now.saturating_duration_since(at);
        elapsed >= CHECKPOINT_EVERY
            && (written.saturating_sub(written_then) >= OUTPUT_PER_STATE * self.state_len
                || elapsed >= CHECKPOINT_QUIET_EVERY)
    }

    /// A state was written at `now`: stdout had `before` bytes, then `after`.
    pub fn wrote(&mut self, now: Instant, before: u64, after: u64) {
        self.last = Some((now, after));
        self.state_len = after.saturating_sub(before);
    }

    /// Started now, as if a state had just been written (the first one waits its turn).
    pub fn started(now: Instant, written: u64) -> CheckpointPace {
        CheckpointPace {
            last: Some((now, written)),
            state_len: 0,
        }
    }
}

/// A stream's STATE writer, at the one pace of every stream.
pub struct Checkpointer {
    stream: &'static str,
    emitter: Arc<Emitter>,
    pace: CheckpointPace,
}

impl Checkpointer {
    /// The first state waits its turn like the others: a read's first moments rarely have
    /// progress worth a line.
    pub fn new(stream: &'static str, emitter: Arc<Emitter>) -> Checkpointer {
        let pace = CheckpointPace::started(Instant::now(), emitter.bytes_written());
        Checkpointer {
            stream,
            emitter,
            pace,
        }
    }

    /// Whether a state is due now (a stream whose state is costly to build asks first).
    pub fn due(&self) -> bool {
        self.pace.due(Instant::now(), self.emitter.bytes_written())
    }

    /// Writes `state` if one is due; whether it was written.
    pub fn offer(&mut self, state: &impl Serialize) -> bool {
        self.due() && self.write(state)
    }

    /// Writes `state` now, due or not (a sync's last, or before a pause); whether it was written
    /// (not when it is the state already written: the attempt still counts for the pace, so an
    /// unchanged state is not built again at every turn).
    pub fn write(&mut self, state: &impl Serialize) -> bool {
        let before = self.emitter.bytes_written();
        let written = self.emitter.state(self.stream, state);
        self.pace
            .wrote(Instant::now(), before, self.emitter.bytes_written());
        written
    }

    /// The first state is due at once (a stream whose first progress is worth saving early: a
    /// LookupEvents window took seconds of its quota).
    pub fn first_due_now(mut self) -> Checkpointer {
        self.pace = CheckpointPace::default();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the timing and output, states written whenever due are at most one per
        /// `CHECKPOINT_EVERY`, and beyond one per `CHECKPOINT_QUIET_EVERY` each is preceded by
        /// `OUTPUT_PER_STATE` times its size of other output.
        #[test]
        fn checkpoints_are_bounded_by_time_and_bytes(
            steps in proptest::collection::vec((0u64..400, 0u64..20_000), 1..300),
            state_len in 1u64..50_000,
        ) {
            let t0 = Instant::now();
            let mut pace = CheckpointPace::default();
            let (mut now, mut written) = (t0, 0u64);
            let mut last: Option<(Instant, u64)> = None;
            for (ms, bytes) in steps {
                now += Duration::from_millis(ms);
                written += bytes;
                if pace.due(now, written) {
                    if let Some((at, then)) = last {
                        let elapsed = now - at;
                        prop_assert!(elapsed >= CHECKPOINT_EVERY);
                        prop_assert!(elapsed >= CHECKPOINT_QUIET_EVERY || written - then >= OUTPUT_PER_STATE * state_len);
                    }
                    pace.wrote(now, written, written + state_len);
                    written += state_len;
                    last = Some((now, written));
                }
            }
            prop_assert!(last.is_some(), "the first state is always due");
        }

        /// A pace started without a state waits `CHECKPOINT_EVERY` for its first.
        #[test]
        fn a_started_pace_waits_its_turn(ms in 0u64..1_000) {
            let t0 = Instant::now();
            let pace = CheckpointPace::started(t0, 100);
            prop_assert_eq!(pace.due(t0 + Duration::from_millis(ms), 100), Duration::from_millis(ms) >= CHECKPOINT_EVERY);
        }
    }
}
