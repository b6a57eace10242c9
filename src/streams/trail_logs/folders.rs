//! The account-region folders of a trail's bucket (`AWSLogs/[o-…/]<account>/<kind>/<region>/`,
//! kind `CloudTrail`, `CloudTrail-Digest`, …), found by listing with a delimiter and narrowed by
//! the configured filters.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::call::RetryBudget;
use crate::aws::s3::{BucketClient, Listing};
use crate::config::TrailLogs;
use crate::error::{AwsFailure, AwsProblem, Error};

/// One account-region folder of event files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFolder {
    /// The key prefix of the folder, ending with `/`.
    pub path: String,
    pub organization_id: Option<String>,
    pub account: String,
    pub region: String,
}

/// What a folder name under `AWSLogs/` is.
#[derive(Debug, PartialEq, Eq)]
pub enum RootEntry {
    Organization,
    Account,
    /// Anything else (other services' logs): not a trail's.
    Other,
}

pub fn root_entry(name: &str) -> RootEntry {
    if name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit()) {
        RootEntry::Account
    } else if name.strip_prefix("o-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) {
        RootEntry::Organization
    } else {
        RootEntry::Other
    }
}

/// Listings of folders run this many at a time (S3 answers one in about 30 ms; an organization
/// has an account folder per member).
const CONCURRENT_LISTINGS: usize = 64;

/// The sub-folder names directly under `prefix` (which ends with `/`).
pub async fn subfolders(
    bucket: &BucketClient,
    prefix: &str,
    budget: RetryBudget,
) -> Result<Vec<String>, AwsFailure> {
    let mut names = Vec::new();
    let mut listing = Listing {
        folders_only: true,
        ..Listing::default()
    };
    loop {
        let (page, next) = bucket.list_page(prefix, &listing, budget).await?;
        for p in page.common_prefixes() {
            if let Some(name) = p
                .prefix()
                .and_then(|p| p.strip_prefix(prefix))
                .and_then(|p| p.strip_suffix('/'))
            {
                names.push(name.to_string());
            }
        }
        match next {
            Some(token) => listing.page = Some(token),
            None => return Ok(names),
        }
    }
}

fn wanted(filter: &Option<Vec<String>>, name: &str) -> bool {
    filter.as_ref().is_none_or(|f| f.iter().any(|x| x == name))
}

/// An account's folder under the root: `AWSLogs/[o-…/]<account>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFolder {
    pub organization_id: Option<String>,
    pub account: String,
    /// The key prefix, ending with `/`.
    pub path: String,
}

/// The account folders to read, in key order, narrowed by the filters, and the failures of the
/// organization folders that could not be listed (their accounts fail alone). `Err` when the
/// root itself cannot be listed: then nothing can be read.
pub async fn account_folders(
    bucket: &BucketClient,
    logs: &TrailLogs,
    budget: RetryBudget,
) -> Result<(Vec<AccountFolder>, Vec<AwsFailure>), AwsFailure> {
    let root = logs.root();
    let mut accounts = Vec::new();
    let mut orgs = Vec::new();
    let mut unlisted = Vec::new();
    for name in subfolders(bucket, &root, budget).await? {
        match root_entry(&name) {
            RootEntry::Account if logs.organization_ids.is_none() => accounts.push(AccountFolder {
                organization_id: None,
                path: format!("{root}{name}/"),
                account: name,
            }),
            RootEntry::Organization if wanted(&logs.organization_ids, &name) => orgs.push(name),
            _ => {}
        }
    }
    for org in orgs {
        let org_root = format!("{root}{org}/");
        let names = match subfolders(bucket, &org_root, budget).await {
            Ok(names) => names,
            Err(f) if f.problem == AwsProblem::Stopped => return Err(f),
            Err(f) => {
                unlisted.push(f);
                continue;
            }
        };
        for name in names {
            if root_entry(&name) == RootEntry::Account {
                accounts.push(AccountFolder {
                    organization_id: Some(org.clone()),
                    path: format!("{org_root}{name}/"),
                    account: name,
                });
            }
        }
    }
    accounts.retain(|a| wanted(&logs.accounts, &a.account));
    Ok((accounts, unlisted))
}

/// What discovery found: the folders to read, and the parts of the bucket below the root that
/// could not be listed (an account's folder denied by a policy, say), one failure per account
/// or organization: each fails alone, the other folders are read.
#[derive(Debug, Default)]
pub struct Discovered {
    pub folders: Vec<LogFolder>,
    pub unlisted: Vec<AwsFailure>,
    /// Account folders whose listing gave an answer (with or without folders of the kinds).
    pub listed_accounts: usize,
}

impl Discovered {
    /// The stream's errors for the folders that could not be listed; `Err` when nothing at all
    /// could be: the stream then fails whole, without a state, as when the root is denied.
    pub fn unlisted_errors(&mut self, stream: &str) -> Result<Vec<Error>, Vec<Error>> {
        let errors: Vec<Error> = self
            .unlisted
            .drain(..)
            .map(|f| Error::aws(f).for_stream(stream))
            .collect();
        if self.listed_accounts == 0 && !errors.is_empty() {
            Err(errors)
        } else {
            Ok(errors)
        }
    }
}

/// Every account-region folder of the `kinds` to read, in key order. A failure to list the
/// root is the stream's (`Err`); below it, an account or organization folder that cannot be
/// listed is named in `unlisted` and the others are read.
pub async fn discover(
    bucket: &BucketClient,
    logs: &TrailLogs,
    kinds: &[&str],
) -> Result<Discovered, Error> {
    let budget = RetryBudget::SYNC_FIRST_CONTACT;
    let (accounts, mut unlisted) = account_folders(bucket, logs, budget)
        .await
        .map_err(Error::aws)?;

    let limit = Arc::new(Semaphore::new(CONCURRENT_LISTINGS));
    let mut listings = JoinSet::new();
    for (index, account) in accounts.iter().enumerate() {
        for (nth_kind, kind) in kinds.iter().enumerate() {
            let bucket = bucket.clone();
            let limit = limit.clone();
            let trail_root = format!("{}{kind}/", account.path);
            listings.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let regions = subfolders(&bucket, &trail_root, budget).await;
                (index, nth_kind, trail_root, regions)
            });
        }
    }
    let mut folders = Vec::new();
    // Per account: whether a listing of it answered, and whether one failed (said once: a
    // policy denying the account's folder denies each of its kinds alike).
    let mut answered = vec![false; accounts.len()];
    let mut failed = vec![None; accounts.len()];
    while let Some(done) = listings.join_next().await {
        let (index, nth_kind, trail_root, regions) =
            done.map_err(|e| Error::Internal(format!("a folder listing stopped: {e}")))?;
        let regions = match regions {
            Ok(regions) => regions,
            Err(f) if f.problem == AwsProblem::Stopped => return Err(Error::aws(f)),
            Err(f) => {
                // The first kind's (`CloudTrail` for trail_events), whatever order the
                // listings end in.
                let first = &mut failed[index];
                if first.as_ref().is_none_or(|(kind, _)| nth_kind < *kind) {
                    *first = Some((nth_kind, f));
                }
                continue;
            }
        };
        answered[index] = true;
        let account = &accounts[index];
        for region in regions {
            if wanted(&logs.regions, &region) {
                folders.push((
                    index,
                    LogFolder {
                        path: format!("{trail_root}{region}/"),
                        organization_id: account.organization_id.clone(),
                        account: account.account.clone(),
                        region,
                    },
                ));
            }
        }
    }
    folders.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
    unlisted.extend(failed.into_iter().flatten().map(|(_, f)| f));
    Ok(Discovered {
        folders: folders.into_iter().map(|(_, f)| f).collect(),
        unlisted,
        listed_accounts: answered.iter().filter(|a| **a).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_entries_are_told_apart() {
        assert_eq!(root_entry("123456789012"), RootEntry::Account);
        assert_eq!(root_entry("o-a1b2c3d4e5"), RootEntry::Organization);
        assert_eq!(root_entry("12345678901"), RootEntry::Other);
        assert_eq!(root_entry("o-"), RootEntry::Other);
        assert_eq!(root_entry("O-ABC"), RootEntry::Other);
        assert_eq!(root_entry("elasticloadbalancing"), RootEntry::Other);
    }
}
