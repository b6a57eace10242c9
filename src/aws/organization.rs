//! An organization's accounts: who the base credentials are (STS GetCallerIdentity, which gives
//! the partition), which accounts to read (the list, or AWS Organizations ListAccounts), and the
//! member role's credentials per account, cached and refreshed before they expire.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::call::{call_with_retries, CallSite, RetryBudget};
use super::pacer::Pacer;
use super::pages::PageGuard;
use super::{sts_cause, HeaderSafe, Origin};
use crate::config::{is_account_id, redact_userinfo, Organization, Role};
use crate::error::{Error, Service};

/// Credentials are renewed this long before they expire, so no call is signed with keys about
/// to lapse...
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// ...or, for credentials that live shorter than four times that, after three quarters of
/// their life.
const REFRESH_SHARE_LEFT: f64 = 0.25;
/// Credentials that arrive expired, or without an expiry (AWS always sends one: STS's clock or
/// ours is off, or the answer is not STS's), are kept this long rather than assumed again for
/// every call; AWS says with ExpiredToken when they are really stale.
const STALE_HOLD: Duration = Duration::from_secs(300);
/// The shortest time credentials are kept, however close their expiry: one AssumeRole per call
/// would exhaust STS's quota.
const MIN_HOLD: Duration = Duration::from_secs(1);
/// ListAccounts pages asked per second (and GetCallerIdentity): Organizations throttles its
/// API at a few calls per second; a throttle is retried.
const LIST_ACCOUNTS_PER_SECOND: f64 = 4.0;

/// Who the base credentials are.
pub struct Caller {
    pub account: String,
    pub arn: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: the partition of the member roles' ARNs.
    pub partition: String,
}

pub async fn caller(
    sts: &aws_sdk_sts::Client,
    sdk: &SdkConfig,
    stop: &CancellationToken,
) -> Result<Caller, Error> {
    let site = CallSite {
        service: Service::Sts,
        target: None,
        region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
        account: None,
        call: "GetCallerIdentity",
        endpoint: super::service_endpoint("STS", "sts.amazonaws.com"),
    };
    let pacer = Pacer::new(LIST_ACCOUNTS_PER_SECOND);
    let out = call_with_retries(
        &pacer,
        stop,
        RetryBudget::CHECK,
        &site,
        |_, _| {},
        || sts.get_caller_identity().send(),
    )
    .await
    .map_err(Error::aws)?;
    let arn = out.arn().unwrap_or_default().to_string();
    let account = out.account().unwrap_or_default().to_string();
    let partition = arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws");
    Ok(Caller {
        partition: partition.to_string(),
        account,
        arn,
    })
}

/// How many of an organization's accounts a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every account: `read`.
    Every,
    /// At most this many, spread over the accounts (`check`: assuming 100,000 roles to say
    /// that the credentials work would take hours); ListAccounts is read only for its first
    /// `CHECK_LIST_PAGES` pages then.
    Sample(usize),
}

/// ListAccounts pages `check` reads: enough to sample from, answered in about a second.
const CHECK_LIST_PAGES: u64 = 5;
/// ListAccounts pages in a row that bring no account not seen before: AWS may answer a short
/// page now and then, never dozens in a row; a listing that does would page forever.
const LIST_ACCOUNTS_IDLE_PAGES: u64 = 50;
/// ListAccounts pages of one listing: a million accounts at AWS's 20 a page.
const LIST_ACCOUNTS_MAX_PAGES: u64 = 50_000;
/// Ids that are not account ids named in a warning; the rest are counted.
const BAD_IDS_NAMED: usize = 5;
/// Characters of such an id shown.
const BAD_ID_CHARS: usize = 40;

/// The accounts a command reads.
#[derive(Debug, Default)]
pub struct Accounts {
    /// The accounts to connect to, in the organization's order: all of them, or a sample.
    pub selected: Vec<String>,
    /// How many accounts there are to read (more than `selected` when it is a sample).
    pub total: usize,
    /// ListAccounts had more pages than were read (`check`): `total` is a lower bound.
    pub more: bool,
    /// What a person should know: ids ListAccounts gave that are no account ids.
    pub warnings: Vec<String>,
}

/// The accounts to read: the configured list, or the organization's ACTIVE accounts; without
/// the excluded ones either way; for `Reach::Sample`, a sample of them.
pub async fn accounts(
    sdk: &SdkConfig,
    org: &Organization,
    reach: Reach,
    stop: &CancellationToken,
) -> Result<Accounts, Error> {
    let mut found = match &org.accounts {
        Some(list) => Accounts {
            selected: list.clone(),
            ..Accounts::default()
        },
        None => list_accounts(sdk, org, reach, stop).await?,
    };
    found.total = found.selected.len();
    if let Reach::Sample(n) = reach {
        found.selected = sample(std::mem::take(&mut found.selected), n);
    }
    Ok(found)
}

/// At most `n` of `all`, evenly spread, in order (all of them when they are not more).
pub fn sample(all: Vec<String>, n: usize) -> Vec<String> {
    let len = all.len();
    if len <= n {
        return all;
    }
    // i * len / n grows by at least 1 per step since len > n: distinct indices.
    let picks: HashSet<usize> = (0..n).map(|i| i * len / n).collect();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| picks.contains(i))
        .map(|(_, a)| a)
        .collect()
}

/// The organization's ACTIVE accounts from AWS Organizations ListAccounts, each page through
/// the guard; an id that is not 12 digits is never used (it would become a role ARN, a state
/// key, a message) but named, escaped, in a warning.
async fn list_accounts(
    sdk: &SdkConfig,
    org: &Organization,
    reach: Reach,
    stop: &CancellationToken,
) -> Result<Accounts, Error> {
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(super::timeouts())
            .build(),
    );
    let site = CallSite {
        service: Service::Organizations,
        target: None,
        region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
        account: None,
        call: "ListAccounts",
        endpoint: super::service_endpoint("ORGANIZATIONS", "organizations.us-east-1.amazonaws.com"),
    };
    let (budget, max_pages) = match reach {
        Reach::Every => (RetryBudget::SYNC_FIRST_CONTACT, None),
        Reach::Sample(_) => (RetryBudget::CHECK, Some(CHECK_LIST_PAGES)),
    };
    let pacer = Pacer::new(LIST_ACCOUNTS_PER_SECOND);
    let mut guard = PageGuard::with_limits(LIST_ACCOUNTS_IDLE_PAGES, LIST_ACCOUNTS_MAX_PAGES);
    let mut token: Option<String> = None;
    let (mut seen, mut bad) = (HashSet::new(), Vec::new());
    let mut active = Vec::new();
    let mut pages = 0;
    let more = loop {
        let request = client.list_accounts().set_next_token(token.clone());
        let page = call_with_retries(
            &pacer,
            stop,
            budget,
            &site,
            |_, _| {},
            || request.clone().send(),
        )
        .await
        .map_err(Error::aws)?;
        pages += 1;
        let mut new = 0;
        for a in page.accounts() {
            let Some(id) = a.id() else { continue };
            if !seen.insert(id.to_string()) {
                continue;
            }
            new += 1;
            if !is_account_id(id) {
                bad.push(id.to_string());
                continue;
            }
            // `State` replaces the deprecated `Status`; either says ACTIVE for a readable account.
            #[allow(deprecated)]
            let status = a.status().map(|s| s.as_str().to_string());
            let state = a.state().map(|s| s.as_str().to_string()).or(status);
            if state.as_deref() == Some("ACTIVE") {
                active.push(id.to_string());
            }
        }
        token = page.next_token().map(String::from);
        guard
            .check(new, token.as_deref())
            .map_err(|why| Error::aws(PageGuard::failure(&site, why)))?;
        match &token {
            None => break false,
            Some(_) if max_pages.is_some_and(|m| pages >= m) => break true,
            Some(_) => {}
        }
    };
    let selected = org.select(active);
    let mut warnings = Vec::new();
    if !bad.is_empty() {
        warnings.push(bad_ids_warning(&bad));
    }
    if selected.is_empty() {
        let why = match bad.is_empty() {
            true => String::new(),
            false => format!(" ({})", warnings.join("; ")),
        };
        let pages = match more {
            true => format!(" in the first {CHECK_LIST_PAGES} pages check reads (more follow: a sync reads them all)"),
            false => String::new(),
        };
        return Err(Error::config(format!(
            "ListAccounts found no ACTIVE account to read (after organization.exclude_accounts){pages}{why}"
        )));
    }
    Ok(Accounts {
        selected,
        total: 0,
        more,
        warnings,
    })
}

/// The warning naming ids ListAccounts gave that are not account ids: escaped (a line break
/// or a quote shows as `\n`, `\"`) and cut, so an id can neither forge a line nor flood one.
fn bad_ids_warning(bad: &[String]) -> String {
    let named: Vec<String> = bad
        .iter()
        .take(BAD_IDS_NAMED)
        .map(|id| {
            let shown: String = id.chars().take(BAD_ID_CHARS).collect();
            let cut = if shown.len() < id.len() { "…" } else { "" };
            format!("\"{}{cut}\"", shown.escape_default())
        })
        .collect();
    let rest = match bad.len().saturating_sub(BAD_IDS_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "ListAccounts gave {} id(s) that are not AWS account ids (12 digits), not read: {}{rest}. AWS Organizations, or whatever answers at its endpoint, sent them",
        bad.len(),
        named.join(", ")
    )
}

/// The member role of `account`.
pub fn member_role(caller: &Caller, org: &Organization, session_name: &str, account: &str) -> Role {
    Role {
        arn: format!(
            "arn:{}:iam::{account}:role/{}",
            caller.partition, org.member_role_name
        ),
        external_id: org.external_id.clone(),
        session_name: session_name.to_string(),
    }
}

/// The member role's credentials, assumed with the base credentials (`sts`, one client for
/// every account: an account costs its credentials, not a client); checked once here so an
/// account whose role cannot be assumed is known before anything is read.
pub async fn assume(
    sts: &aws_sdk_sts::Client,
    sts_endpoint: &str,
    caller: &Caller,
    account: &str,
    role: &Role,
) -> Result<SharedCredentialsProvider, Error> {
    let member = MemberRole {
        sts: sts.clone(),
        role: role.clone(),
    };
    let origin = Origin::Sts {
        role: role.arn.clone(),
        endpoint: sts_endpoint.to_string(),
        external_id: role.external_id.clone(),
    };
    let provider = Cached::wrap(HeaderSafe::wrap(
        SharedCredentialsProvider::new(member),
        origin,
    ));
    if let Err(e) = provider.provide_credentials().await {
        let (refused, cause) = sts_cause(&e);
        let cause = redact_userinfo(&cause).into_owned();
        let fix = match refused {
            true => format!(
                "Let {} assume it in the role's trust policy (sts:AssumeRole{})",
                caller.arn,
                if role.external_id.is_some() {
                    " with the external id"
                } else {
                    ""
                },
            ),
            false => format!(
                "Check that {sts_endpoint} is STS, reachable, and that no proxy alters its answers, then retry"
            ),
        };
        return Err(Error::Credentials(format!(
            "account {account}: cannot assume {}: {cause}. {fix}, or exclude the account with organization.exclude_accounts",
            role.arn,
        )));
    }
    Ok(provider)
}

/// AssumeRole of one member role.
#[derive(Debug)]
struct MemberRole {
    sts: aws_sdk_sts::Client,
    role: Role,
}

impl ProvideCredentials for MemberRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let out = self
                .sts
                .assume_role()
                .role_arn(&self.role.arn)
                .role_session_name(&self.role.session_name)
                .set_external_id(
                    self.role
                        .external_id
                        .as_ref()
                        .map(|s| s.expose().to_string()),
                )
                .send()
                .await
                .map_err(CredentialsError::provider_error)?;
            let c = out.credentials().ok_or_else(|| {
                CredentialsError::unhandled("STS AssumeRole answered without credentials")
            })?;
            Ok(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                SystemTime::try_from(*c.expiration()).ok(),
                "organization-member-role",
            ))
        })
    }
}

/// Credentials kept until shortly before they expire and shared by every client of an account,
/// so an account costs one AssumeRole per credential lifetime, however many regions it has.
#[derive(Debug)]
struct Cached {
    inner: SharedCredentialsProvider,
    /// The credentials and when to renew them; the lock also keeps concurrent callers from
    /// assuming the role more than once.
    held: Mutex<Option<(Credentials, SystemTime)>>,
}

impl Cached {
    fn wrap(inner: SharedCredentialsProvider) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Cached {
            inner,
            held: Mutex::new(None),
        })
    }
}

/// When credentials obtained at `now` and expiring at `expiry` are renewed.
pub fn renew_at(now: SystemTime, expiry: Option<SystemTime>) -> Option<SystemTime> {
    let expiry = expiry?;
    let life = expiry.duration_since(now).unwrap_or_default();
    let early = REFRESH_BEFORE.min(life.mul_f64(REFRESH_SHARE_LEFT));
    Some(expiry - early)
}

/// When credentials obtained at `now` that expire at `expiry` are assumed again: before they
/// expire, but never sooner than `MIN_HOLD`; `STALE_HOLD` for those that arrive without a
/// future expiry (the SDK reads a missing one as 1970).
pub fn hold_until(now: SystemTime, expiry: Option<SystemTime>) -> SystemTime {
    match expiry {
        Some(expiry) if expiry > now => renew_at(now, Some(expiry))
            .unwrap_or(expiry)
            .max(now + MIN_HOLD),
        _ => now + STALE_HOLD,
    }
}

impl ProvideCredentials for Cached {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let mut held = self.held.lock().await;
            if let Some((credentials, renew)) = &*held {
                if SystemTime::now() < *renew {
                    return Ok(credentials.clone());
                }
            }
            let fresh = self.inner.provide_credentials().await?;
            let renew = hold_until(SystemTime::now(), fresh.expiry());
            *held = Some((fresh.clone(), renew));
            Ok(fresh)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Credentials are renewed before they expire, never before half their life, and at
        /// most REFRESH_BEFORE early.
        #[test]
        fn credentials_are_renewed_before_they_expire(life_ms in 1u64..10_000_000) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let expiry = now + Duration::from_millis(life_ms);
            let renew = renew_at(now, Some(expiry)).unwrap();
            prop_assert!(renew <= expiry);
            prop_assert!(renew >= now + Duration::from_millis(life_ms) / 2);
            prop_assert!(expiry.duration_since(renew).unwrap() <= REFRESH_BEFORE);
        }
    }

    #[test]
    fn stale_or_instant_credentials_are_held_not_assumed_per_call() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(hold_until(now, None), now + STALE_HOLD);
        assert_eq!(
            hold_until(now, Some(SystemTime::UNIX_EPOCH)),
            now + STALE_HOLD
        );
        assert_eq!(hold_until(now, Some(now)), now + STALE_HOLD);
        let soon = now + Duration::from_millis(10);
        assert_eq!(hold_until(now, Some(soon)), now + MIN_HOLD);
        let hour = now + Duration::from_secs(3600);
        assert_eq!(hold_until(now, Some(hour)), hour - REFRESH_BEFORE);
    }

    #[test]
    fn hour_long_credentials_are_renewed_five_minutes_early() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let expiry = now + Duration::from_secs(3600);
        assert_eq!(renew_at(now, Some(expiry)), Some(expiry - REFRESH_BEFORE));
        assert_eq!(renew_at(now, None), None);
    }
}
