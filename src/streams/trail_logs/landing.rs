//! Which pass of a sync reads a listed file, by when it landed in S3 (`LastModified`, S3's clock)
//! against the delivery time in its name. A file that lands within the lookback of its name is
//! read by the folder's narrow listing (its key cursor); one that lands later is read by the
//! late-file sweep whose window of landing times holds its `LastModified`. The sweeps' windows
//! are consecutive, so each late file falls in exactly one; a folder's first listing (no sweep
//! yet) reads every late file landed up to the sync's watermark, and its first sweep starts
//! there. The state keeps a few watermarks per folder, no key set that grows with the horizon.

use super::cursor::{delivery_time, FolderCursor, SweepCursor};
use crate::time::utc;

/// Uploads still in flight: S3 gives an object the time its upload began, so an object may
/// show up in listings a little after that time. The watermark stays this far behind S3's
/// clock; a log file's upload takes seconds.
pub const IN_FLIGHT_SECS: i64 = 120;

/// How late a file landed: its `LastModified` minus the time in its name (seconds); `None`
/// for a name without a delivery time (read by the narrow listing, as any on-time file).
pub fn lateness(key: &str, landed: i64) -> Option<i64> {
    delivery_time(key).map(|(named, _, _)| landed - named)
}

/// Whether a file landed later than the lookback after the time in its name.
pub fn is_late(key: &str, landed: i64, lookback_secs: i64) -> bool {
    lateness(key, landed).is_some_and(|l| l > lookback_secs.max(0))
}

/// Whether a folder's narrow listing reads a listed file it has not read: an on-time file
/// always; a late one only in the folder's first listing (`first_to`: no sweep has covered the
/// folder yet), when it landed by that sync's watermark. Every other late file is a sweep's.
pub fn narrow_reads(key: &str, landed: i64, lookback_secs: i64, first_to: Option<i64>) -> bool {
    !is_late(key, landed, lookback_secs) || first_to.is_some_and(|to| landed <= to)
}

/// Whether the sweep of landing times `(from, to]` reads a listed file.
pub fn sweep_reads(key: &str, landed: i64, lookback_secs: i64, from: i64, to: i64) -> bool {
    is_late(key, landed, lookback_secs) && landed > from && landed <= to
}

/// `YYYY/MM/DD` of `time`, as day folders are named (sorts before that day's keys).
pub fn day_folder(time: i64) -> String {
    let t = utc(time);
    format!("{:04}/{:02}/{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The keys a sweep of landing times `(from, to]` lists: from the day folder of `from` minus the
/// horizon (a file landed after `from` and within the horizon is named after it), not before
/// the start date; up to the day folder of `to` minus the lookback (a late file landed by `to`
/// is named before it). Returns where the listing starts after and the last day folder.
pub fn sweep_range(
    from: i64,
    to: i64,
    horizon_secs: i64,
    lookback_secs: i64,
    start_day: Option<&str>,
) -> (String, String) {
    let mut first = day_folder(from.saturating_sub(horizon_secs));
    if let Some(start) = start_day.filter(|s| **s > *first) {
        first = start.to_string();
    }
    (first, day_folder(to - lookback_secs.max(0)))
}

/// Whether `key` (relative to its folder) is beyond a sweep's last day folder.
pub fn past_range(key: &str, last_day: &str) -> bool {
    key.get(..last_day.len()).is_some_and(|day| day > last_day)
}

/// What a sync does about late files: the watermark of S3's clock it reads up to, and whether
/// folders whose last sweep is older than the interval sweep now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPlan {
    pub watermark: i64,
    pub due: bool,
}

impl SweepPlan {
    /// `s3_now`: S3's clock at the sync's start; `oldest_sweep`: the oldest watermark any
    /// folder was swept to (none: no folder swept yet).
    pub fn new(s3_now: i64, oldest_sweep: Option<i64>, every_secs: i64) -> SweepPlan {
        let watermark = s3_now - IN_FLIGHT_SECS;
        let due = oldest_sweep.is_some_and(|s| watermark - s >= every_secs.max(0));
        SweepPlan { watermark, due }
    }

    /// The sweep a folder does in this sync, if any: the one it began (resumed whatever the
    /// interval), else a new one up to the watermark when due and the folder has been swept (or
    /// first listed whole) before. Returns the window's start and the cursor.
    pub fn sweep_of(&self, folder: &FolderCursor) -> Option<(i64, SweepCursor)> {
        let from = folder.swept?;
        match &folder.sweep {
            Some(s) => Some((from, s.clone())),
            None if self.due && self.watermark > from => Some((
                from,
                SweepCursor {
                    to: self.watermark,
                    ..SweepCursor::default()
                },
            )),
            None => None,
        }
    }

    /// The watermark of a folder's first listing, while no sweep has covered it: the one a
    /// resumed first listing began with (a late file it left to the sweeps because it landed
    /// after that must stay theirs), else this sync's.
    pub fn first_to(&self, folder: &FolderCursor) -> Option<i64> {
        match folder.swept {
            Some(_) => None,
            None => Some(folder.first_to.unwrap_or(self.watermark)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::cursor::key_at;
    use super::super::folder_reader::FolderReader;
    use super::*;
    use crate::aws::s3::Listed;
    use proptest::prelude::*;

    const MINUTE: i64 = 60;
    const DAY: i64 = 86_400;

    #[test]
    fn files_are_split_by_how_late_they_landed() {
        let k = key_at(10_000 * MINUTE, 1);
        let named = 10_000 * MINUTE;
        assert!(narrow_reads(&k, named + 20 * MINUTE, 30 * MINUTE, None));
        assert!(!narrow_reads(&k, named + 2 * 3600, 30 * MINUTE, None));
        assert!(narrow_reads(
            &k,
            named + 2 * 3600,
            30 * MINUTE,
            Some(named + 2 * 3600)
        ));
        assert!(!narrow_reads(
            &k,
            named + 2 * 3600,
            30 * MINUTE,
            Some(named + 3600)
        ));
        assert!(sweep_reads(
            &k,
            named + 3 * DAY,
            30 * MINUTE,
            named,
            named + 3 * DAY
        ));
        assert!(!sweep_reads(
            &k,
            named + 3 * DAY,
            30 * MINUTE,
            named + 3 * DAY,
            named + 4 * DAY
        ));
        assert!(!sweep_reads(
            &k,
            named + 10 * MINUTE,
            30 * MINUTE,
            0,
            named + DAY
        ));
        // A name without a time is on time: the narrow listing reads it.
        assert!(narrow_reads("2025/11/24/notes.json.gz", i64::MAX, 0, None));
        let (first, last) = sweep_range(named, named + DAY, 7 * DAY, 30 * MINUTE, None);
        assert!(first < k && past_range(&key_at(named + 2 * DAY, 0), &last));
        assert!(!past_range(&key_at(named + DAY - 31 * MINUTE, 0), &last));
        let (first, _) = sweep_range(named, named + DAY, 7 * DAY, 0, Some("2099/01/01"));
        assert_eq!(first, "2099/01/01");
    }

    /// One file of the simulation: named at `named`, landed (and visible) at `landed`.
    #[derive(Debug, Clone)]
    struct File {
        key: String,
        landed: i64,
    }

    /// A folder over time, both passes of every sync as the reader runs them: the clock moves,
    /// files land (some late by minutes, some by days, some replaced), a sync lists and reads
    /// its narrow pass and, when due, its sweep, in a shuffled order with a checkpoint after
    /// each file; some syncs die after any file and the next resumes from the last checkpoint.
    /// Returns how often each (key, landing) was read.
    fn simulate(
        events: &[(i64, i64, u8)],
        lookback: i64,
        horizon: i64,
        every: i64,
        seed: u64,
        kills: &[usize],
    ) -> (BTreeMap<(String, i64), usize>, Vec<File>) {
        let mut bucket: BTreeMap<String, File> = BTreeMap::new();
        let mut landed_all = Vec::new();
        let mut reads: BTreeMap<(String, i64), usize> = BTreeMap::new();
        let mut state = FolderCursor::default();
        let mut clock = 100 * DAY;
        let mut seed = seed;
        let mut kill = kills.iter();
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize % n
        };
        for i in 0..events.len() + 2 {
            let last = i >= events.len();
            if let Some(&(gap, delay, kind)) = events.get(i) {
                clock += gap * MINUTE;
                let (key, landed) = match kind {
                    // Replaced: the same key lands again, now.
                    0 if !bucket.is_empty() => {
                        let k = bucket.keys().nth(next(bucket.len())).unwrap().clone();
                        (k, clock)
                    }
                    _ => (key_at(clock - delay * MINUTE, i as u32), clock),
                };
                let f = File {
                    key: key.clone(),
                    landed,
                };
                landed_all.push(f.clone());
                bucket.insert(key, f);
            }
            if last {
                // Two syncs long after the last landing: the first may finish a sweep a kill
                // cut, the second sweeps what landed since.
                clock += every.max(MINUTE) + IN_FLIGHT_SECS + MINUTE;
            }
            // Everything landed is visible; the watermark lags the clock by the margin.
            let plan = SweepPlan::new(clock, state.swept, every);
            let die_after = match last {
                true => usize::MAX,
                false => kill.next().copied().unwrap_or(usize::MAX),
            };
            let mut n = 0;
            let mut reader = FolderReader::new(state.clone(), &plan, lookback, horizon, None);
            let mut died = false;
            for (pass, range) in reader.listings() {
                let mut todo: Vec<File> = bucket
                    .values()
                    .filter(|f| range.start_after.as_ref().is_none_or(|a| f.key > *a))
                    .filter(|f| !range.is_past(&f.key))
                    .filter(|f| {
                        let listed = Listed {
                            key: f.key.clone(),
                            landed: f.landed,
                        };
                        reader.listed(pass, &listed).is_some()
                    })
                    .cloned()
                    .collect();
                reader.listing_done(pass, clock);
                while !todo.is_empty() {
                    let f = todo.swap_remove(next(todo.len()));
                    *reads.entry((f.key.clone(), f.landed)).or_default() += 1;
                    if n == die_after {
                        died = true;
                        break;
                    }
                    reader.finished(pass, &f.key);
                    state = reader.cursor();
                    n += 1;
                }
                if died {
                    break;
                }
            }
            if !died {
                state = reader.cursor();
            }
        }
        (reads, landed_all)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Every landing within the horizon is read; nothing is read twice but the file a kill
        /// interrupted (whose reading a real sync resumes after its written records).
        #[test]
        fn every_landing_within_the_horizon_is_read_once(
            events in prop::collection::vec(
                (0i64..600, prop_oneof![4 => 0i64..40, 2 => 40i64..600, 2 => 600i64..12_000, 1 => 12_000i64..20_000], 0u8..12),
                1..50),
            lookback in 0i64..60,
            horizon_days in 1i64..8,
            every in prop_oneof![Just(0i64), 1i64..3000],
            seed in any::<u64>(),
            kills in prop::collection::vec(0usize..6, 0..8),
        ) {
            let (lookback, horizon, every) = (lookback * MINUTE, horizon_days * DAY, every * MINUTE);
            let (reads, landed) = simulate(&events, lookback, horizon, every, seed, &kills);
            let total: usize = reads.values().sum();
            prop_assert!(total <= reads.len() + kills.len(), "{} reads of {} landings, {} kills", total, reads.len(), kills.len());
            if kills.is_empty() {
                prop_assert!(reads.values().all(|n| *n == 1), "a landing read twice: {:?}", reads);
            }
            // The last landing of each key within the horizon was read (earlier landings of a
            // replaced key may be gone before any sync lists them).
            let mut latest: BTreeMap<&str, &File> = BTreeMap::new();
            for f in &landed {
                latest.insert(&f.key, f);
            }
            for f in latest.values() {
                let late = lateness(&f.key, f.landed).unwrap();
                if late <= horizon {
                    prop_assert!(reads.contains_key(&(f.key.clone(), f.landed)) || late <= lookback && landed.iter().filter(|g| g.key == f.key).count() > 1,
                        "{} landed {} s late, never read", f.key, late);
                }
            }
        }
    }
}
