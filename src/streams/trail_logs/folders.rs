//! The account-region folders of a trail's bucket (`AWSLogs/[o-…/]<account>/<kind>/<region>/`,
//! kind `CloudTrail`, `CloudTrail-Digest`, …), found by listing with a delimiter and narrowed by
//! the configured filters.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::call::RetryBudget;
use crate::aws::s3::{BucketClient, Listing};
use crate::config::TrailLogs;
use crate::error::{AwsFailure, Error};

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

/// Every account-region folder of the `kinds` to read, in key order.
pub async fn discover(
    bucket: &BucketClient,
    logs: &TrailLogs,
    kinds: &[&str],
) -> Result<Vec<LogFolder>, Error> {
    let root = logs.root();
    let budget = RetryBudget::SYNC_FIRST_CONTACT;
    // (organization, account, account folder path)
    let mut accounts: Vec<(Option<String>, String, String)> = Vec::new();
    let mut orgs = Vec::new();
    for name in subfolders(bucket, &root, budget)
        .await
        .map_err(Error::aws)?
    {
        match root_entry(&name) {
            RootEntry::Account if logs.organization_ids.is_none() => {
                accounts.push((None, name.clone(), format!("{root}{name}/")))
            }
            RootEntry::Organization if wanted(&logs.organization_ids, &name) => orgs.push(name),
            _ => {}
        }
    }
    for org in orgs {
        let org_root = format!("{root}{org}/");
        for name in subfolders(bucket, &org_root, budget)
            .await
            .map_err(Error::aws)?
        {
            if root_entry(&name) == RootEntry::Account {
                accounts.push((
                    Some(org.clone()),
                    name.clone(),
                    format!("{org_root}{name}/"),
                ));
            }
        }
    }
    accounts.retain(|(_, account, _)| wanted(&logs.accounts, account));

    let limit = Arc::new(Semaphore::new(CONCURRENT_LISTINGS));
    let mut listings = JoinSet::new();
    for (index, (org, account, path)) in accounts.into_iter().enumerate() {
        for kind in kinds {
            let bucket = bucket.clone();
            let limit = limit.clone();
            let (org, account) = (org.clone(), account.clone());
            let kind_root = format!("{path}{kind}/");
            listings.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let trail_root = kind_root;
                let regions = subfolders(&bucket, &trail_root, budget).await;
                (index, org, account, trail_root, regions)
            });
        }
    }
    let mut folders = Vec::new();
    while let Some(done) = listings.join_next().await {
        let (index, org, account, trail_root, regions) =
            done.map_err(|e| Error::Internal(format!("a folder listing stopped: {e}")))?;
        for region in regions.map_err(Error::aws)? {
            if wanted(&logs.regions, &region) {
                folders.push((
                    index,
                    LogFolder {
                        path: format!("{trail_root}{region}/"),
                        organization_id: org.clone(),
                        account: account.clone(),
                        region,
                    },
                ));
            }
        }
    }
    folders.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
    Ok(folders.into_iter().map(|(_, f)| f).collect())
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
