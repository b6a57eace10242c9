//! Time windows for LookupEvents: which inclusive range of whole seconds to drain next, and how
//! long the next one should be so that a checkpoint comes every few thousand events.

/// An inclusive range of whole epoch seconds, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupWindow {
    pub start: i64,
    pub end: i64,
}

impl LookupWindow {
    pub fn len_secs(&self) -> i64 {
        self.end - self.start + 1
    }
}

/// The length of the first window of a region: short, because nothing is known of the density
/// yet and a dense account (100 events/s) would otherwise go long without a checkpoint.
pub const FIRST_WINDOW_SECS: i64 = 300;
/// Windows grow up to a day over empty stretches.
pub const MAX_WINDOW_SECS: i64 = 86_400;
/// Events per window aimed for: 50 pages, about 25 s at AWS's 2 requests/s.
pub const TARGET_EVENTS_PER_WINDOW: u64 = 2_500;

/// The next window after everything up to `read_through` is read: it starts right after, is at
/// most `len` seconds long and never ends past `horizon`. `None` when there is nothing to read.
pub fn next_window(read_through: i64, horizon: i64, len: i64) -> Option<LookupWindow> {
    let start = read_through.checked_add(1)?;
    if start > horizon {
        return None;
    }
    let end = start.saturating_add(len.max(1) - 1).min(horizon);
    Some(LookupWindow { start, end })
}

/// The length for the window after one of `len` seconds that held `events`: aim at
/// `TARGET_EVENTS_PER_WINDOW`, change by at most a factor of 2 up or 4 down each step (densities
/// drift; a spike should not collapse the window at once), within `1..=MAX_WINDOW_SECS`.
pub fn next_len(len: i64, events: u64) -> i64 {
    let len = len.clamp(1, MAX_WINDOW_SECS);
    let wanted = if events == 0 {
        len.saturating_mul(2)
    } else {
        ((len as f64) * (TARGET_EVENTS_PER_WINDOW as f64) / (events as f64)) as i64
    };
    wanted
        .clamp((len / 4).max(1), len.saturating_mul(2))
        .clamp(1, MAX_WINDOW_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn windows_stop_at_the_horizon() {
        assert_eq!(
            next_window(99, 200, 50),
            Some(LookupWindow {
                start: 100,
                end: 149
            })
        );
        assert_eq!(
            next_window(180, 200, 50),
            Some(LookupWindow {
                start: 181,
                end: 200
            })
        );
        assert_eq!(next_window(200, 200, 50), None);
        assert_eq!(next_window(i64::MAX, 200, 50), None);
    }

    #[test]
    fn lengths_adapt_to_density() {
        assert_eq!(next_len(300, 0), 600);
        assert_eq!(next_len(MAX_WINDOW_SECS, 0), MAX_WINDOW_SECS);
        assert_eq!(next_len(300, 2_500), 300);
        assert_eq!(next_len(300, 10_000), 75);
        assert_eq!(next_len(300, 1_000_000), 75);
        assert_eq!(next_len(1, 1_000_000), 1);
    }

    proptest! {
        /// Consecutive windows tile `[from, horizon]` with no gap and no overlap, whatever the
        /// densities met on the way.
        #[test]
        fn windows_tile_time(from in -10_000i64..10_000_000, span in 0i64..3_000_000, densities in proptest::collection::vec(0u64..50_000, 1..200)) {
            let horizon = from + span;
            let mut read_through = from - 1;
            let mut len = FIRST_WINDOW_SECS;
            for events in densities.iter().cycle().take(100_000) {
                let Some(w) = next_window(read_through, horizon, len) else { break };
                prop_assert_eq!(w.start, read_through + 1);
                prop_assert!(w.end >= w.start && w.end <= horizon && w.len_secs() <= len);
                read_through = w.end;
                len = next_len(w.len_secs().max(len), *events);
                prop_assert!((1..=MAX_WINDOW_SECS).contains(&len));
            }
        }

        #[test]
        fn cursors_never_move_backwards(read_through in any::<i64>(), horizon in any::<i64>(), len in any::<i64>()) {
            if let Some(w) = next_window(read_through, horizon, len) {
                prop_assert!(w.start > read_through && w.end >= w.start && w.end <= horizon);
            }
        }
    }
}
