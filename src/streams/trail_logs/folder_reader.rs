//! One folder's reading in a sync, for every S3 stream (event folders and digests alike): its
//! narrow listing (the key cursor, from a lookback before where the last one stopped) and, when
//! one is due or under way, its late-file sweep; which listed files each reads; the folder's
//! cursor as a checkpoint writes it. The streams only list, fetch and write.

use super::cursor::SweepCursor;
use super::cursor::{FolderCursor, FolderProgress};
use super::landing::{narrow_reads, past_range, sweep_range, sweep_reads, SweepPlan};
use crate::aws::s3::Listed;

/// The two listings of a folder in a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    Narrow,
    Sweep,
}

/// Where a listing starts and, for a sweep, the last day folder it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRange {
    pub start_after: Option<String>,
    pub last_day: Option<String>,
}

impl ListRange {
    /// Whether a listed key is beyond the range (the listing can stop there).
    pub fn is_past(&self, key: &str) -> bool {
        self.last_day.as_deref().is_some_and(|d| past_range(key, d))
    }
}

/// A folder's sweep in this sync: the window of landing times and its key cursor.
#[derive(Debug, Clone)]
struct Sweep {
    from: i64,
    to: i64,
    progress: FolderProgress,
    listed_whole: bool,
}

/// One folder's reading in a sync.
#[derive(Debug, Clone)]
pub struct FolderReader {
    narrow: FolderProgress,
    /// Late files are the narrow listing's up to this landing time while no sweep covered the
    /// folder (its first listing).
    first_to: Option<i64>,
    swept: Option<i64>,
    narrow_listed_whole: bool,
    sweep: Option<Sweep>,
    lookback_secs: i64,
    horizon_secs: i64,
    start_day: Option<String>,
    /// Late files the narrow listing met and left to a sweep, in this sync.
    left_to_sweep: u64,
}

impl FolderReader {
    pub fn new(
        cursor: FolderCursor,
        plan: &SweepPlan,
        lookback_secs: i64,
        horizon_secs: i64,
        start_day: Option<&str>,
    ) -> FolderReader {
        let first_to = plan.first_to(&cursor);
        let sweep = plan.sweep_of(&cursor).map(|(from, s)| Sweep {
            from,
            to: s.to,
            progress: FolderProgress::new(s.keys(), 0),
            listed_whole: false,
        });
        let swept = cursor.swept;
        let narrow = FolderCursor {
            swept: None,
            first_to: None,
            sweep: None,
            ..cursor
        };
        FolderReader {
            narrow: FolderProgress::new(narrow, lookback_secs),
            first_to,
            swept,
            narrow_listed_whole: false,
            sweep,
            lookback_secs,
            horizon_secs,
            start_day: start_day.map(String::from),
            left_to_sweep: 0,
        }
    }

    /// The listings this sync makes of the folder, and where each starts.
    pub fn listings(&self) -> Vec<(Pass, ListRange)> {
        let mut out = vec![(
            Pass::Narrow,
            ListRange {
                start_after: self
                    .narrow
                    .cursor
                    .list_after(self.lookback_secs, self.start_day.as_deref()),
                last_day: None,
            },
        )];
        if let Some(s) = &self.sweep {
            let (first, last) = sweep_range(
                s.from,
                s.to,
                self.horizon_secs,
                self.lookback_secs,
                self.start_day.as_deref(),
            );
            let start_after = s.progress.cursor.list_after(0, Some(&first));
            out.push((
                Pass::Sweep,
                ListRange {
                    start_after,
                    last_day: Some(last),
                },
            ));
        }
        out
    }

    /// A listed file, in key order within its listing: `None` when the pass has read it or it
    /// is not the pass's (another pass reads it), else how many of its `Records` elements a
    /// previous sync wrote.
    pub fn listed(&mut self, pass: Pass, file: &Listed) -> Option<u64> {
        let (progress, reads) = match (pass, &mut self.sweep) {
            (Pass::Narrow, _) => (
                &mut self.narrow,
                narrow_reads(&file.key, file.landed, self.lookback_secs, self.first_to),
            ),
            (Pass::Sweep, Some(s)) => (
                &mut s.progress,
                sweep_reads(&file.key, file.landed, self.lookback_secs, s.from, s.to),
            ),
            (Pass::Sweep, None) => return None,
        };
        let skip = progress.listed(&file.key)?;
        if reads {
            Some(skip)
        } else {
            progress.finished(&file.key);
            if pass == Pass::Narrow {
                self.left_to_sweep += 1;
            }
            None
        }
    }

    /// Late files this sync's narrow listing met and left to a sweep (said in the summary).
    pub fn left_to_sweep(&self) -> u64 {
        self.left_to_sweep
    }

    fn progress(&mut self, pass: Pass) -> Option<&mut FolderProgress> {
        match pass {
            Pass::Narrow => Some(&mut self.narrow),
            Pass::Sweep => self.sweep.as_mut().map(|s| &mut s.progress),
        }
    }

    /// `elements` of a file being read have been written.
    pub fn written(&mut self, pass: Pass, key: &str, elements: u64) {
        if let Some(p) = self.progress(pass) {
            p.written(key, elements);
        }
    }

    /// A file was read (or given up with a warning).
    pub fn finished(&mut self, pass: Pass, key: &str) {
        if let Some(p) = self.progress(pass) {
            p.finished(key);
        }
    }

    /// A listing gave its last page; `began`: when this sync's listings began (the connector's
    /// clock, as the narrow cursor's lookback is measured).
    pub fn listing_done(&mut self, pass: Pass, began: i64) {
        match pass {
            Pass::Narrow => {
                self.narrow.listing_done(began);
                self.narrow_listed_whole = true;
            }
            Pass::Sweep => {
                if let Some(s) = &mut self.sweep {
                    s.listed_whole = true;
                }
            }
        }
    }

    /// Whether the pass is a sweep that reads files it has listed as late.
    pub fn is_sweep(pass: Pass) -> bool {
        pass == Pass::Sweep
    }

    /// The folder's cursor as a checkpoint writes it: a first listing or sweep whose listing is
    /// whole and whose files are all read moves the folder's sweep watermark.
    pub fn cursor(&self) -> FolderCursor {
        let mut swept = self.swept;
        let mut first_to = self.first_to;
        if let Some(to) = self.first_to {
            if self.narrow_listed_whole && !self.narrow.has_pending() {
                swept = Some(to);
                first_to = None;
            }
        }
        let sweep = match &self.sweep {
            Some(s) if s.listed_whole && !s.progress.has_pending() => {
                swept = Some(s.to);
                None
            }
            // A sweep that has read nothing yet is not kept: a resumed sync begins it afresh,
            // up to its own watermark, which still follows the folder's last sweep. So a state
            // written mid-sweep carries cursors only for the folders being swept.
            Some(s) if s.progress.cursor.is_blank() => None,
            Some(s) => Some(SweepCursor::with_keys(s.to, &s.progress.cursor)),
            None => None,
        };
        FolderCursor {
            swept,
            first_to,
            sweep,
            ..self.narrow.cursor.clone()
        }
    }
}
