//! A guard for paginated calls (LookupEvents' NextToken, ListObjectsV2's continuation token): a
//! service that hands back a token it gave before, or pages without end, would keep a sync
//! looping forever with nothing to show; the guard ends the listing with a transient error.
//! A listing paced at a few pages per second (ListAccounts) sets tighter limits of its own.

use std::collections::HashSet;

use super::call::CallSite;
use crate::error::{AwsFailure, AwsProblem};

/// Empty pages in a row that no real listing gives (S3 and CloudTrail return empty pages only
/// rarely, and never this many in a row).
const EMPTY_PAGES_IN_A_ROW: u64 = 1_000;
/// Pages of one listing beyond any real one (a day of a busy trail is ~10⁵ pages of 50 events).
const MAX_PAGES: u64 = 10_000_000;

/// Tokens seen in one listing.
#[derive(Debug)]
pub struct PageGuard {
    seen: HashSet<String>,
    pages: u64,
    empty_in_a_row: u64,
    max_empty_in_a_row: u64,
    max_pages: u64,
}

impl Default for PageGuard {
    fn default() -> Self {
        PageGuard::with_limits(EMPTY_PAGES_IN_A_ROW, MAX_PAGES)
    }
}

impl PageGuard {
    /// A guard ending the listing after `empty_in_a_row` pages in a row without an item (or,
    /// for a caller that counts only new items, without progress), or after `max_pages`.
    pub fn with_limits(empty_in_a_row: u64, max_pages: u64) -> Self {
        PageGuard {
            seen: HashSet::new(),
            pages: 0,
            empty_in_a_row: 0,
            max_empty_in_a_row: empty_in_a_row.max(1),
            max_pages: max_pages.max(1),
        }
    }

    /// Checks a page of `items` that hands over `next`; `Err` describes why the listing cannot
    /// go on.
    pub fn check(&mut self, items: usize, next: Option<&str>) -> Result<(), String> {
        self.pages += 1;
        self.empty_in_a_row = if items == 0 {
            self.empty_in_a_row + 1
        } else {
            0
        };
        let Some(token) = next else { return Ok(()) };
        if !self.seen.insert(token.to_string()) {
            return Err(format!(
                "page {} hands back a token an earlier page gave: the listing would never end; the service misbehaves, a later sync lists again",
                self.pages
            ));
        }
        if self.empty_in_a_row >= self.max_empty_in_a_row {
            return Err(format!(
                "{} pages in a row brought nothing new, and still a token for more: the listing looks endless; a later sync lists again",
                self.empty_in_a_row
            ));
        }
        if self.pages >= self.max_pages {
            return Err(format!(
                "{} pages and still no end: the listing looks endless; a later sync lists again",
                self.pages
            ));
        }
        Ok(())
    }

    /// The failure to report for `why`: transient, since the service, not the config, is at fault.
    pub fn failure(site: &CallSite, why: String) -> AwsFailure {
        site.failure(
            AwsProblem::ServiceFault { status: 200 },
            Some("EndlessPagination"),
            why,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn distinct_tokens_pass_and_any_repeat_is_caught(tokens in prop::collection::vec("[a-c]{1,3}", 1..60)) {
            let mut guard = PageGuard::default();
            let mut seen = HashSet::new();
            for t in &tokens {
                let fresh = seen.insert(t.clone());
                prop_assert_eq!(guard.check(1, Some(t)).is_ok(), fresh);
                if !fresh {
                    break;
                }
            }
        }
    }

    #[test]
    fn endless_empty_pages_are_caught_and_the_last_page_always_passes() {
        let mut guard = PageGuard::default();
        let stopped = (0..2 * EMPTY_PAGES_IN_A_ROW)
            .position(|i| guard.check(0, Some(&i.to_string())).is_err());
        assert_eq!(stopped, Some(EMPTY_PAGES_IN_A_ROW as usize - 1));
        assert!(PageGuard::default().check(0, None).is_ok());
    }

    #[test]
    fn tighter_limits_apply() {
        let mut guard = PageGuard::with_limits(3, 5);
        let stopped = (0..10).position(|i| guard.check(0, Some(&i.to_string())).is_err());
        assert_eq!(stopped, Some(2));
        let mut guard = PageGuard::with_limits(3, 5);
        let stopped = (0..10).position(|i| guard.check(1, Some(&i.to_string())).is_err());
        assert_eq!(stopped, Some(4));
    }
}
