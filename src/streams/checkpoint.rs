//! When a stream's next STATE is due: by time and by bytes written since the last one, so that
//! states stay a small share of stdout however many folders or regions a state holds, while
//! progress without records is still saved now and then.

use std::time::{Duration, Instant};

/// STATE messages come at most this often per stream...
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// ...and only once the output since the last one is this many times a state's size...
pub const OUTPUT_PER_STATE: u64 = 8;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// States written because enough output came since the last one are at most
        /// 1/OUTPUT_PER_STATE of the records they follow; others only come every
        /// CHECKPOINT_QUIET_EVERY (or first).
        #[test]
        fn states_are_a_bounded_share_of_output(
            steps in prop::collection::vec((1u64..200_000, 0u64..300), 1..300),
            state_len in 1u64..50_000,
        ) {
            let start = Instant::now();
            let (mut pace, mut written, mut at) = (CheckpointPace::default(), 0u64, start);
            let (mut records, mut states, mut by_time) = (0u64, 0u64, 0u64);
            let mut last_at: Option<Instant> = None;
            for (n, millis) in steps {
                written += n;
                records += n;
                at += Duration::from_millis(millis);
                if pace.due(at, written) {
                    if let Some(prev) = last_at {
                        prop_assert!(at - prev >= CHECKPOINT_EVERY);
                    }
                    let by_bytes = pace.last.is_some_and(|(_, then)| written - then >= OUTPUT_PER_STATE * pace.state_len);
                    if !by_bytes {
                        by_time += 1;
                    }
                    pace.wrote(at, written, written + state_len);
                    written += state_len;
                    states += 1;
                    last_at = Some(at);
                }
            }
            prop_assert!(states * state_len <= records / OUTPUT_PER_STATE + by_time * state_len);
        }
    }
}
