//! Time windows for LookupEvents: which inclusive range of whole seconds to drain next, and how
//! long the next one should be so that a checkpoint comes every few thousand events.

/// An inclusive range of whole epoch seconds, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupWindow {
    pub start: i64,
    pub end: i64,
}

impl LookupWindow {
    /// Whether `second` lies in the window (both ends included).
    pub fn contains(&self, second: i64) -> bool {
        (self.start..=self.end).contains(&second)
    }

    pub fn len_secs(&self) -> i64 {
        self.end - self.start + 1
    }
}

/// The length of a region's first window: an hourly incremental sync is one window; a window
/// found dense is split (`SPLIT_AFTER_EVENTS`), and later ones follow the density met.
pub const FIRST_WINDOW_SECS: i64 = 3_600;
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

/// A window holding more events than this is split instead of drained whole: after an empty
/// stretch windows are long, and one dense window must not go without a checkpoint.
pub const SPLIT_AFTER_EVENTS: u64 = 2 * TARGET_EVENTS_PER_WINDOW;

/// Part of a split window already emitted: every event in `(boundary, top]`, and the events at
/// second `boundary` described by `emitted_at_boundary` (the reader's skip list).
#[derive(Debug)]
struct EmittedAbove<T> {
    boundary: i64,
    top: i64,
    emitted_at_boundary: T,
}

/// What a region's reader does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Drain this window (newest first).
    Read(LookupWindow),
    /// Everything up to this second is now emitted: checkpoint.
    Checkpoint(i64),
}

/// The plan of one region's sync: ascending windows from its cursor to the horizon, adapting
/// their length to the density met, and splitting a window found too dense.
///
/// LookupEvents answers newest first, so when a window is split after some pages, its upper
/// part `(boundary, end]` is already emitted while its lower part is not: the lower part is read
/// next in smaller windows, with checkpoints, then the cursor jumps over the upper part.
#[derive(Debug)]
pub struct RegionPlan<T> {
    read_through: i64,
    horizon: i64,
    len: i64,
    above: Vec<EmittedAbove<T>>,
}

impl<T> RegionPlan<T> {
    pub fn new(read_through: i64, horizon: i64) -> Self {
        RegionPlan {
            read_through,
            horizon,
            len: FIRST_WINDOW_SECS,
            above: Vec::new(),
        }
    }

    pub fn next_step(&mut self) -> Option<Step> {
        let limit = self.above.last().map_or(self.horizon, |a| a.boundary);
        if let Some(w) = next_window(self.read_through, limit, self.len) {
            return Some(Step::Read(w));
        }
        let done = self.above.pop()?;
        self.read_through = done.top;
        Some(Step::Checkpoint(done.top))
    }

    /// `window` was drained whole and held `events`: returns the second to checkpoint.
    pub fn drained(&mut self, window: LookupWindow, events: u64) -> i64 {
        self.read_through = window.end;
        self.len = next_len(window.len_secs(), events);
        window.end
    }

    /// Whether a window should be split after `events` of it were emitted, the oldest at second
    /// `oldest_seen`: only when it is too dense and the split leaves a smaller window to read.
    pub fn should_split(window: LookupWindow, events: u64, oldest_seen: i64) -> bool {
        events >= SPLIT_AFTER_EVENTS && oldest_seen > window.start && oldest_seen <= window.end
    }

    /// `window` was abandoned after `events` events from `oldest_seen` up to its end were
    /// emitted (the ones at `oldest_seen` possibly not all), the newest at `newest_seen`: read
    /// below it next, in windows sized by the density between the two (an empty stretch at the
    /// top of the window would make them too long, and split again, delaying the checkpoint).
    pub fn split(
        &mut self,
        window: LookupWindow,
        events: u64,
        (oldest_seen, newest_seen): (i64, i64),
        emitted_at_boundary: T,
    ) {
        let seen_secs = newest_seen.clamp(oldest_seen, window.end) - oldest_seen + 1;
        self.len = next_len(seen_secs, events).min(oldest_seen - window.start + 1);
        self.above.push(EmittedAbove {
            boundary: oldest_seen,
            top: window.end,
            emitted_at_boundary,
        });
    }

    /// What split windows already emitted at their boundary seconds: to skip when met again.
    pub fn emitted_at_boundaries(&self) -> impl Iterator<Item = &T> {
        self.above.iter().map(|a| &a.emitted_at_boundary)
    }
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

    /// Replays a sync over `times` (event seconds, any order) the way the reader does: windows
    /// drained newest first, split when too dense. Returns the emitted events (as indexes into
    /// `times`) and the checkpoints.
    fn simulate(times: &[i64], read_through: i64, horizon: i64) -> (Vec<usize>, Vec<(i64, usize)>) {
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse((times[i], i)));
        let mut plan: RegionPlan<Vec<usize>> = RegionPlan::new(read_through, horizon);
        let (mut emitted, mut checkpoints) = (vec![], vec![]);
        let mut steps = 0;
        while let Some(step) = plan.next_step() {
            steps += 1;
            assert!(steps < 1_000_000, "the plan does not end");
            let w = match step {
                Step::Checkpoint(c) => {
                    checkpoints.push((c, emitted.len()));
                    continue;
                }
                Step::Read(w) => w,
            };
            let skip: Vec<usize> = plan.emitted_at_boundaries().flatten().copied().collect();
            let mut events = 0;
            let mut at_oldest: Vec<usize> = vec![];
            let mut oldest = i64::MAX;
            let mut newest = i64::MIN;
            let mut split = false;
            for &i in order
                .iter()
                .filter(|&&i| times[i] >= w.start && times[i] <= w.end)
            {
                if skip.contains(&i) {
                    continue;
                }
                // Pages of 50: a split is decided between pages.
                if events % 50 == 0 && RegionPlan::<Vec<usize>>::should_split(w, events, oldest) {
                    split = true;
                    break;
                }
                newest = newest.max(times[i]);
                if times[i] < oldest {
                    oldest = times[i];
                    at_oldest.clear();
                }
                at_oldest.push(i);
                emitted.push(i);
                events += 1;
            }
            if split {
                plan.split(w, events, (oldest, newest), at_oldest);
            } else {
                checkpoints.push((plan.drained(w, events), emitted.len()));
            }
        }
        (emitted, checkpoints)
    }

    proptest! {
        /// Whatever the distribution of events, a sync emits each event of `(cursor, horizon]`
        /// exactly once, checkpoints only ever move forward, and at each checkpoint every event
        /// up to it has been emitted.
        #[test]
        fn a_plan_emits_everything_once_and_checkpoints_only_what_is_done(
            bursts in proptest::collection::vec((0i64..200_000, 1usize..4_000, 0i64..600), 0..6),
            scattered in proptest::collection::vec(0i64..200_000, 0..300),
        ) {
            let mut times = scattered;
            for (at, n, spread) in bursts {
                times.extend((0..n as i64).map(|k| at + k % (spread + 1)));
            }
            let (read_through, horizon) = (999, 190_000);
            let (emitted, checkpoints) = simulate(&times, read_through, horizon);
            let mut seen = std::collections::HashSet::new();
            for &i in &emitted {
                prop_assert!(seen.insert(i), "event {} emitted twice", i);
            }
            let expected: std::collections::HashSet<usize> = (0..times.len()).filter(|&i| times[i] > read_through && times[i] <= horizon).collect();
            prop_assert_eq!(&seen, &expected);
            prop_assert!(checkpoints.windows(2).all(|c| c[0].0 < c[1].0));
            prop_assert_eq!(checkpoints.last().map_or(horizon, |c| c.0), horizon);
            for &(c, n) in &checkpoints {
                let done: std::collections::HashSet<usize> = emitted[..n].iter().copied().collect();
                prop_assert!(expected.iter().filter(|&&i| times[i] <= c).all(|i| done.contains(i)), "checkpoint {} before its events", c);
            }
        }

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

        /// A burst after a quiet stretch (windows grown long), wherever it falls against the
        /// windows: the split sizes the windows below by the burst's own density, so no
        /// checkpoint waits for more than a split part and a window or two (not one split inside
        /// another).
        #[test]
        fn a_burst_after_quiet_hours_is_checkpointed_within_two_split_parts(
            offset in 0i64..86_400,
            burst in 6_000i64..40_000,
            spread in 300i64..4_000,
            gap in 0i64..3_600,
        ) {
            let now = 86_400 + offset;
            let burst_end = now - gap;
            let mut times: Vec<i64> = (0..burst).map(|i| burst_end - i % spread).collect();
            times.extend((0..10).map(|i| burst_end - 30_000 - i * 1000));
            let (_, checkpoints) = simulate(&times, -1, now);
            let mut previous = 0;
            for (at, n) in checkpoints {
                prop_assert!(n - previous <= 2 * SPLIT_AFTER_EVENTS as usize + 100, "checkpoint {} after {} events", at, n - previous);
                previous = n;
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
