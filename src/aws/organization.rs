//! An organization's accounts: who the base credentials are (STS GetCallerIdentity, which gives
//! the partition), which accounts to read (the list, or AWS Organizations ListAccounts), and the
//! member role's credentials per account, cached and refreshed before they expire.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::call::{call_with_retries, CallSite, RetryBudget};
use super::pacer::Pacer;
use super::{credentials_cause, HeaderSafe};
use crate::config::{redact_userinfo, Organization, Role};
use crate::error::{Error, Service};

/// Credentials are renewed this long before they expire, so no call is signed with keys about
/// to lapse...
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// ...or, for credentials that live shorter than four times that, after three quarters of
/// their life.
const REFRESH_SHARE_LEFT: f64 = 0.25;
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

/// The accounts to read: the configured list, or the organization's ACTIVE accounts; without
/// the excluded ones either way.
pub async fn accounts(
    sdk: &SdkConfig,
    org: &Organization,
    stop: &CancellationToken,
) -> Result<Vec<String>, Error> {
    if let Some(list) = &org.accounts {
        return Ok(list.clone());
    }
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
    let pacer = Pacer::new(LIST_ACCOUNTS_PER_SECOND);
    let mut token: Option<String> = None;
    let mut active = Vec::new();
    loop {
        let request = client.list_accounts().set_next_token(token.clone());
        let page = call_with_retries(
            &pacer,
            stop,
            RetryBudget::SYNC_FIRST_CONTACT,
            &site,
            |_, _| {},
            || request.clone().send(),
        )
        .await
        .map_err(Error::aws)?;
        for a in page.accounts() {
            // `State` replaces the deprecated `Status`; either says ACTIVE for a readable account.
            #[allow(deprecated)]
            let status = a.status().map(|s| s.as_str().to_string());
            let state = a.state().map(|s| s.as_str().to_string()).or(status);
            if let (Some(id), Some("ACTIVE")) = (a.id(), state.as_deref()) {
                active.push(id.to_string());
            }
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let selected = org.select(active);
    if selected.is_empty() {
        return Err(Error::config(
            "ListAccounts found no ACTIVE account to read (after organization.exclude_accounts)",
        ));
    }
    Ok(selected)
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
    caller: &Caller,
    account: &str,
    role: &Role,
) -> Result<SharedCredentialsProvider, Error> {
    let member = MemberRole {
        sts: sts.clone(),
        role: role.clone(),
    };
    let provider = Cached::wrap(HeaderSafe::wrap(SharedCredentialsProvider::new(member)));
    if let Err(e) = provider.provide_credentials().await {
        let cause = redact_userinfo(&credentials_cause(&e)).into_owned();
        return Err(Error::Credentials(format!(
            "account {account}: cannot assume {}: {cause}. Let {} assume it in the role's trust policy (sts:AssumeRole{}), or exclude the account with organization.exclude_accounts",
            role.arn,
            caller.arn,
            if role.external_id.is_some() { " with the external id" } else { "" },
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
            let renew = renew_at(SystemTime::now(), fresh.expiry());
            // Credentials without an expiry are kept for the whole sync.
            let renew = renew.unwrap_or(SystemTime::now() + Duration::from_secs(86_400 * 365));
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
    fn hour_long_credentials_are_renewed_five_minutes_early() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let expiry = now + Duration::from_secs(3600);
        assert_eq!(renew_at(now, Some(expiry)), Some(expiry - REFRESH_BEFORE));
        assert_eq!(renew_at(now, None), None);
    }
}
