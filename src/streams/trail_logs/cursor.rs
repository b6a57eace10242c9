//! How far the log files of one account-region folder have been read: the key below which every
//! listed file is read, when the folder's last complete listing began, the files read that a
//! next listing may meet again (out of order, or late within the lookback), and the key the next
//! listing starts after. Keys are relative to the folder.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::time::{epoch_of, utc};

/// A folder's cursor, as kept in the state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderCursor {
    /// Every file listed up to this key has been read.
    #[serde(default)]
    pub after: Option<String>,
    /// Files read whose key is after where the next listing starts (files above `after`
    /// included): that listing skips these.
    #[serde(default, deserialize_with = "null_as_default")]
    pub done: BTreeSet<String>,
    /// When (epoch seconds, the connector's clock) the last complete listing of the folder
    /// began. A file is visible a lookback after the time in its name at the latest, so every
    /// file named before this minus the lookback was listed then: the next listing need not
    /// start before that. Absent (states before it was kept, a folder never listed whole): the
    /// next listing starts a lookback before `after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_at: Option<i64>,
    /// Files being read when the state was written, with how many `Records` elements were
    /// already written: a resumed sync skips those.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub partial: BTreeMap<String, u64>,
    /// Late files (landed more than the lookback after the time in their name) are read up to
    /// this landing time (S3's clock, epoch seconds), by the folder's first listing or a
    /// sweep. Absent: the folder's first listing has not completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<i64>,
    /// The watermark of the folder's first listing while it is not finished: it reads the late
    /// files landed up to it, the sweeps those after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_to: Option<i64>,
    /// The sweep the folder is in, while it is not finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepCursor>,
}

/// States written by hand or by tools may say `null` for an empty collection.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The delivery time in a file's name, as epoch seconds, with the name's part before the time
/// and whether the time has seconds. Log files end `…_<region>_YYYYMMDDTHHmmZ_<16 chars>.json.gz`
/// (whatever the kind token after the account: `CloudTrail`, `CloudTrail-Insight`, …), digests
/// `…_<home-region>_YYYYMMDDTHHMMSSZ[_backfill].json.gz`: the time is the name's last
/// `_`-separated part of either form. Keys sort by delivery time among names of one form, and a
/// folder holds one form (a trail names all files of a kind alike), so the floor is built with
/// the form of the key it is the floor of.
pub(super) fn delivery_time(key: &str) -> Option<(i64, &str, bool)> {
    let name_at = key.rfind('/').map_or(0, |i| i + 1);
    let name = &key[name_at..];
    if !name.contains("_CloudTrail") {
        return None;
    }
    let mut at = 0;
    let mut found = None;
    for part in name.split('_') {
        let bare = part.strip_suffix(".json.gz").unwrap_or(part);
        if at > 0 && is_stamp(bare.as_bytes()) {
            found = Some((at, bare.as_bytes()));
        }
        at += part.len() + 1;
    }
    let (head_end, stamp) = found?;
    let number = |r: std::ops::Range<usize>| -> Option<u8> {
        let digits = &stamp[r];
        let n = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        u8::try_from(n).ok()
    };
    let year = stamp[..4]
        .iter()
        .fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
    let mut time = epoch_of(
        year,
        number(4..6)?,
        number(6..8)?,
        number(9..11)?,
        number(11..13)?,
    )?;
    let seconds = stamp.len() == 16;
    if seconds {
        let s = number(13..15)?;
        if s > 59 {
            return None;
        }
        time += i64::from(s);
    }
    Some((time, &name[..head_end], seconds))
}

/// The smallest key a file delivered `lookback_secs` before `key`'s file can have: listing
/// after it finds every file delivered since, late ones included. A key without the standard
/// name is its own floor.
pub fn lookback_floor(key: &str, lookback_secs: i64) -> String {
    let Some((time, name_head, seconds)) = delivery_time(key) else {
        return key.to_string();
    };
    key_up_to_time(name_head, time - lookback_secs.max(0), seconds)
}

/// The key of a file of `key`'s form delivered at `time`, up to the time in its name: every key
/// of that form named at `time` or later sorts after it. `None` for a non-standard name.
fn floor_at(key: &str, time: i64) -> Option<String> {
    let (_, name_head, seconds) = delivery_time(key)?;
    Some(key_up_to_time(name_head, time, seconds))
}

/// The stamp (`YYYYMMDDTHHmm[SS]Z`) of a log or digest file's name part after its
/// `<account>_<kind>_<region>_` head (`<stamp>_<random>`, `<trail>_<home>_<stamp>[_backfill]`):
/// its last `_`-separated part of that shape.
pub fn stamp_of(tail: &str) -> Option<&str> {
    tail.split('_').rev().find(|part| is_stamp(part.as_bytes()))
}

fn is_stamp(part: &[u8]) -> bool {
    (part.len() == 14 || part.len() == 16)
        && part[8] == b'T'
        && part[part.len() - 1] == b'Z'
        && part[..8].iter().all(u8::is_ascii_digit)
        && part[9..part.len() - 1].iter().all(u8::is_ascii_digit)
}

/// `YYYY/MM/DD/<name_head>YYYYMMDDTHHmm[SS]Z` for `time`: the key of a file delivered then, up
/// to the delivery time in its name.
fn key_up_to_time(name_head: &str, time: i64, seconds: bool) -> String {
    let t = utc(time);
    let (y, m, d, h, min) = (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute());
    let sec = if seconds {
        format!("{:02}", t.second())
    } else {
        String::new()
    };
    format!("{y:04}/{m:02}/{d:02}/{name_head}{y:04}{m:02}{d:02}T{h:02}{min:02}{sec}Z")
}

impl FolderCursor {
    /// Where the next listing starts: `after`, or before it the key of a file named a lookback
    /// before the last complete listing began (a later file may not be visible yet), or without
    /// that time the lookback floor of `after`; without `after` the start date's day folder
    /// (`YYYY/MM/DD`, which sorts before that day's keys), else the beginning.
    pub fn list_after(&self, lookback_secs: i64, start_day: Option<&str>) -> Option<String> {
        let lookback_secs = lookback_secs.max(0);
        match (&self.after, self.listed_at) {
            (Some(after), Some(listed)) => Some(match floor_at(after, listed - lookback_secs) {
                Some(floor) if floor < *after => floor,
                _ => after.clone(),
            }),
            (Some(after), None) => Some(lookback_floor(after, lookback_secs)),
            (None, _) => start_day.map(String::from),
        }
    }

    /// Forgets the files read that the next listing will not meet again.
    fn prune(&mut self, lookback_secs: i64) {
        if let Some(from) = self.list_after(lookback_secs, None) {
            let mut kept = self.done.split_off(&from);
            kept.remove(&from);
            self.done = kept;
        }
    }

    /// Whether the cursor says nothing a listing needs: no file read, none being read.
    pub fn is_blank(&self) -> bool {
        self.after.is_none()
            && self.done.is_empty()
            && self.partial.is_empty()
            && self.swept.is_none()
            && self.first_to.is_none()
            && self.sweep.is_none()
    }

    pub fn is_done(&self, key: &str) -> bool {
        self.done.contains(key)
    }
}

/// A folder's cursor while a sync reads it: which listed files are still being read.
#[derive(Debug, Clone)]
pub struct FolderProgress {
    pub cursor: FolderCursor,
    lookback_secs: i64,
    /// Listed, not yet read.
    pending: BTreeSet<String>,
    /// Listed and read (or found read) in this sync, above `after`.
    seen: BTreeSet<String>,
}

impl FolderProgress {
    pub fn new(cursor: FolderCursor, lookback_secs: i64) -> Self {
        FolderProgress {
            cursor,
            lookback_secs,
            pending: BTreeSet::new(),
            seen: BTreeSet::new(),
        }
    }

    /// A listed key, in listing (ascending) order; returns `None` when it was read already,
    /// else how many of its `Records` elements a previous sync wrote.
    pub fn listed(&mut self, key: &str) -> Option<u64> {
        if self.cursor.is_done(key) {
            self.seen.insert(key.to_string());
            self.advance();
            None
        } else {
            self.pending.insert(key.to_string());
            Some(self.cursor.partial.get(key).copied().unwrap_or(0))
        }
    }

    /// `elements` of a pending file's `Records` have been written.
    pub fn written(&mut self, key: &str, elements: u64) {
        if elements > 0 && self.pending.contains(key) {
            self.cursor.partial.insert(key.to_string(), elements);
        }
    }

    /// A listed file was read (or given up as unreadable).
    pub fn finished(&mut self, key: &str) {
        if self.pending.remove(key) {
            self.cursor.partial.remove(key);
            self.cursor.done.insert(key.to_string());
            self.seen.insert(key.to_string());
            self.advance();
        }
    }

    /// The folder's listing that began at `began` (epoch seconds) has given its last page.
    pub fn listing_done(&mut self, began: i64) {
        let listed = self.cursor.listed_at.map_or(began, |l| l.max(began));
        self.cursor.listed_at = Some(listed);
        self.cursor.prune(self.lookback_secs);
    }

    /// Whether every file listed so far has been read.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    fn advance(&mut self) {
        let read_through = match self.pending.first() {
            Some(first) => self.seen.range(..first.clone()).next_back(),
            None => self.seen.last(),
        };
        let Some(key) = read_through.cloned() else {
            return;
        };
        if self.cursor.after.as_ref().is_some_and(|a| *a >= key) {
            return;
        }
        self.seen = self.seen.split_off(&key);
        self.seen.remove(&key);
        self.cursor.after = Some(key);
        self.cursor.prune(self.lookback_secs);
    }
}

/// A key delivered at `time` (epoch seconds) with a distinguishing tag, in an `eu-west-1`
/// folder of account 111122223333.
#[cfg(test)]
pub(super) fn key_at(time: i64, tag: u32) -> String {
    let head = "111122223333_CloudTrail_eu-west-1_";
    format!("{}_{tag:016}.json.gz", key_up_to_time(head, time, false))
}

/// A folder's part in a sweep that a sync began: the sweep's watermark, whether its listing
/// gave its last page, and the files read so far (as a narrow cursor keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepCursor {
    /// The sweep reads files landed up to this time (S3's clock, epoch seconds).
    pub to: i64,
    /// Every file listed up to this key has been read (or was not the sweep's).
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub done: BTreeSet<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub partial: BTreeMap<String, u64>,
}

impl SweepCursor {
    /// The sweep's files read so far, as a cursor the folder reader moves.
    pub fn keys(&self) -> FolderCursor {
        FolderCursor {
            after: self.after.clone(),
            done: self.done.clone(),
            partial: self.partial.clone(),
            ..FolderCursor::default()
        }
    }

    pub fn with_keys(to: i64, keys: &FolderCursor) -> SweepCursor {
        SweepCursor {
            to,
            after: keys.after.clone(),
            done: keys.done.clone(),
            partial: keys.partial.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A key delivered at `minute` (minutes from 2025-11-24 00:00Z) with a distinguishing tag.
    fn key(minute: i64, tag: u32) -> String {
        key_at(1_763_942_400 + minute * 60, tag)
    }

    #[test]
    fn the_floor_is_the_key_of_a_file_delivered_a_lookback_earlier() {
        assert_eq!(
            lookback_floor(&key(24 * 60 + 10, 7), 30 * 60),
            "2025/11/24/111122223333_CloudTrail_eu-west-1_20251124T2340Z"
        );
        assert!(lookback_floor(&key(100, 1), 0) < key(100, 0));
        assert_eq!(lookback_floor("odd/name.json.gz", 600), "odd/name.json.gz");
        // Other kinds' file names, and digests (time with seconds, a backfill suffix).
        assert_eq!(
            lookback_floor(
                "2025/11/24/1_CloudTrail-NetworkActivity_eu-west-1_20251124T0010Z_abc.json.gz",
                20 * 60
            ),
            "2025/11/23/1_CloudTrail-NetworkActivity_eu-west-1_20251123T2350Z"
        );
        let digest =
            "2025/11/24/1_CloudTrail-Digest_eu-west-1_org-trail_us-east-1_20251124T170000Z.json.gz";
        assert_eq!(
            lookback_floor(digest, 3600),
            "2025/11/24/1_CloudTrail-Digest_eu-west-1_org-trail_us-east-1_20251124T160000Z"
        );
        assert!(lookback_floor(digest, 0).as_str() < digest);
        assert_eq!(
            delivery_time("x/1_CloudTrail-Digest_r_t_h_20251124T170005Z_backfill.json.gz")
                .map(|t| t.0),
            Some(1_764_003_605)
        );
        assert_eq!(
            delivery_time("2025/11/24/1_CloudTrail_us-east-1_20251124T2460Z_x.json.gz"),
            None
        );
    }

    #[test]
    fn out_of_order_completion_moves_after_only_over_contiguous_reads() {
        let mut p = FolderProgress::new(FolderCursor::default(), 0);
        let keys: Vec<String> = (0..4).map(|m| key(m * 5, 0)).collect();
        for k in &keys {
            assert_eq!(p.listed(k), Some(0));
        }
        p.finished(&keys[1]);
        assert_eq!(p.cursor.after, None);
        assert!(p.cursor.is_done(&keys[1]));
        p.finished(&keys[0]);
        assert_eq!(p.cursor.after.as_ref(), Some(&keys[1]));
        p.finished(&keys[3]);
        p.finished(&keys[2]);
        assert_eq!(p.cursor.after.as_ref(), Some(&keys[3]));
        assert!(!p.has_pending());
    }

    #[test]
    fn a_file_being_read_resumes_after_what_was_written() {
        let mut p = FolderProgress::new(FolderCursor::default(), 0);
        let k = key(5, 0);
        assert_eq!(p.listed(&k), Some(0));
        p.written(&k, 40);
        let mut resumed = FolderProgress::new(p.cursor.clone(), 0);
        assert_eq!(resumed.listed(&k), Some(40));
        resumed.finished(&k);
        assert!(resumed.cursor.partial.is_empty());
        assert_eq!(resumed.listed(&k), None);
    }

    #[test]
    fn cursors_round_trip_through_json() {
        let mut c = FolderCursor {
            after: Some(key(5, 1)),
            ..Default::default()
        };
        c.done.insert(key(6, 2));
        c.partial.insert(key(7, 3), 12);
        // Read as the state reads them: within a folder map.
        let read = |v: serde_json::Value| {
            crate::streams::trail_logs::TrailState::<FolderCursor>::from_json(
                &json!({"folders": {"f/": v}}),
            )
            .map(|s| s.folders["f/"].clone())
        };
        assert_eq!(read(serde_json::to_value(&c).unwrap()).unwrap(), c);
        assert_eq!(
            read(json!({"after": null, "done": null})).unwrap(),
            FolderCursor::default()
        );
        assert!(read(json!({"after": 1})).is_err());
        assert!(read(json!({"done": [1]})).is_err());
        assert!(read(json!({"partial": {"k": -1}})).is_err());
        assert!(read(json!([])).is_err());
    }

    /// Epoch seconds of `minute` (minutes from 2025-11-24 00:00Z), the clock of `key`.
    fn at(minute: i64) -> i64 {
        1_763_942_400 + minute * 60
    }

    /// A folder over time: the clock moves by `gap` minutes and a file named `delay` minutes
    /// before that appears; between arrivals a sync lists everything there (its listing, begun
    /// at the clock's time, completes or fails), then reads in a shuffled order, checkpointing
    /// after each file; some syncs die after any completed file and the next resumes from the
    /// last checkpoint. A last sync after the last arrival runs to its end.
    fn simulate(
        arrivals: &[(i64, i64, bool)],
        lookback_minutes: i64,
        order_seed: u64,
        kills: &[usize],
    ) -> BTreeMap<String, usize> {
        let mut bucket: BTreeSet<String> = BTreeSet::new();
        let mut reads: BTreeMap<String, usize> = BTreeMap::new();
        let mut state = FolderCursor::default();
        let mut clock = 0i64;
        let mut seed = order_seed;
        let mut kill = kills.iter();
        for i in 0..=arrivals.len() {
            let last = i == arrivals.len();
            let mut listing_completes = true;
            if let Some((gap, delay, completes)) = arrivals.get(i) {
                clock += gap;
                bucket.insert(key(clock - delay, i as u32));
                listing_completes = *completes;
            }
            let mut progress = FolderProgress::new(state.clone(), lookback_minutes * 60);
            let from = state.list_after(lookback_minutes * 60, None);
            let mut todo: Vec<String> = bucket
                .iter()
                .filter(|k| from.as_ref().is_none_or(|f| *k > f))
                .filter(|k| progress.listed(k).is_some())
                .cloned()
                .collect();
            if listing_completes || last {
                progress.listing_done(at(clock));
            }
            let die_after = match last {
                true => usize::MAX,
                false => kill.next().copied().unwrap_or(usize::MAX),
            };
            let mut n = 0;
            while !todo.is_empty() {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let k = todo.swap_remove((seed >> 33) as usize % todo.len());
                *reads.entry(k.clone()).or_default() += 1;
                if n == die_after {
                    break; // killed while reading k: its checkpoint never comes
                }
                progress.finished(&k);
                state = progress.cursor.clone();
                n += 1;
            }
            if n != die_after {
                state = progress.cursor.clone();
            }
        }
        reads
    }

    /// A folder whose files, `gaps` minutes apart, were listed and read in order; with the
    /// minute of the last.
    fn read_in_order(gaps: &[i64], lookback_minutes: i64) -> (FolderProgress, i64) {
        let mut p = FolderProgress::new(FolderCursor::default(), lookback_minutes * 60);
        let mut minute = 0;
        for (i, gap) in gaps.iter().enumerate() {
            minute += gap;
            let k = key(minute, i as u32);
            p.listed(&k);
            p.finished(&k);
        }
        (p, minute)
    }

    proptest! {
        /// Files visible within the lookback of the time in their name are all read; nothing
        /// is read twice but the file a kill interrupted.
        #[test]
        fn every_file_is_read_and_only_kills_repeat_one(
            arrivals in prop::collection::vec((0i64..20, 0i64..60, prop::bool::weighted(0.8)), 1..60),
            lookback in 0i64..40,
            seed in any::<u64>(),
            kills in prop::collection::vec(0usize..6, 0..10),
        ) {
            let reads = simulate(&arrivals, lookback, seed, &kills);
            let killed_reads = kills.len();
            let total: usize = reads.values().sum();
            let in_time = arrivals.iter().filter(|a| a.1 <= lookback).count();
            prop_assert!(reads.len() >= in_time, "a file visible within the lookback was never read");
            prop_assert!(total <= reads.len() + killed_reads, "{} reads of {} files with {} kills", total, reads.len(), killed_reads);
            if kills.is_empty() {
                prop_assert!(reads.values().all(|n| *n == 1));
            }
        }

        /// Once a listing completed a lookback after a folder's last file, its cursor is its
        /// `after` alone: an idle folder keeps no keys.
        #[test]
        fn an_idle_folder_keeps_no_keys(
            gaps in prop::collection::vec(1i64..30, 1..40),
            lookback in 0i64..60,
            idle in 0i64..120,
        ) {
            let (mut p, minute) = read_in_order(&gaps, lookback);
            p.listing_done(at(minute + idle));
            let after = p.cursor.after.clone().unwrap();
            prop_assert!(p.cursor.done.iter().all(|k| *k > after || key(minute + idle - lookback, 0) <= *k));
            if idle > lookback {
                prop_assert!(p.cursor.done.is_empty());
                prop_assert_eq!(p.cursor.list_after(lookback * 60, None), Some(after));
            }
        }

        #[test]
        fn the_done_set_stays_within_the_lookback(
            gaps in prop::collection::vec(1i64..30, 1..80),
            lookback in 0i64..60,
        ) {
            let (p, _) = read_in_order(&gaps, lookback);
            let after = p.cursor.after.clone().unwrap();
            let floor = lookback_floor(&after, lookback * 60);
            prop_assert!(p.cursor.done.iter().all(|k| *k >= floor));
            prop_assert!(p.cursor.done.len() <= (lookback as usize) + 1);
        }
    }
}
