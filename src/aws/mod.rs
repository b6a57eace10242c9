//! AWS plumbing: credentials (static keys, session tokens, the default chain, an assumed role,
//! an organization's member roles), one CloudTrail client and one pacer per account and region,
//! endpoints and timeouts.

pub mod call;
mod derive;
pub mod limits;
pub mod organization;
pub mod pacer;
pub mod pages;
pub mod public_keys;
pub mod raw;
mod requester_pays;
pub mod s3;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio_util::sync::CancellationToken;

use crate::config::{
    redact_userinfo, unfit_character, Config, CredentialSource, Role, Secret,
    DEFAULT_ROLE_SESSION_NAME,
};
use crate::error::Error;
use call::root_cause;
pub use organization::Reach;
use pacer::Pacer;

/// Everything needed to call CloudTrail in one region (of one account of an organization).
#[derive(Clone)]
pub struct RegionClient {
    /// The account read through its member role; `None`: the credentials' own account.
    pub account: Option<String>,
    pub region: String,
    /// In an organization, shared by every account of the region (a client per account costs
    /// ~160 KB: its own TLS configuration): a call sent through `send` signs with `member`,
    /// found by the client's credentials provider (no per-call configuration, which costs the
    /// SDK more than the page's parsing).
    pub client: aws_sdk_cloudtrail::Client,
    member: Option<SharedCredentialsProvider>,
    /// Shared by every stream of the account's region: the quota is per account and region.
    pub pacer: Arc<Pacer>,
    /// For the control-plane calls (DescribeTrails, GetTrailStatus…), whose quota is 10/s.
    pub control_pacer: Arc<Pacer>,
    /// The endpoint called, for messages.
    pub endpoint: String,
    /// Cancelled when stdout is closed: no call starts after it.
    pub stop: CancellationToken,
}

/// Each attempt gets this long; a slower answer is retried like a dropped connection.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Half of the 10/s quota of each control-plane call: other tools use it too.
const CONTROL_REQUESTS_PER_SECOND: f64 = 5.0;

tokio::task_local! {
    /// The member credentials of the account whose call this task is sending.
    static MEMBER: SharedCredentialsProvider;
}

/// Which of a region's quotas a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// LookupEvents: `requests_per_second` per account and region (AWS allows 2).
    Lookup,
    /// The control-plane calls (DescribeTrails, GetTrailStatus, ListPublicKeys…): 10 per second.
    Control,
}

impl RegionClient {
    /// `call` to this client's region (and account), as its failures describe it.
    pub fn site(&self, call: &'static str) -> call::CallSite {
        call::CallSite {
            service: crate::error::Service::CloudTrail,
            account: self.account.clone(),
            target: None,
            region: self.region.clone(),
            call,
            endpoint: self.endpoint.clone(),
        }
    }

    /// `call` sent by `send` (made with `client`) with the account's credentials, paced by
    /// `quota` and retried within `budget`.
    pub async fn call<T, E, Fut>(
        &self,
        call: &'static str,
        quota: Quota,
        budget: call::RetryBudget,
        mut send: impl FnMut() -> Fut,
    ) -> Result<T, crate::error::AwsFailure>
    where
        Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_cloudtrail::error::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        >,
        E: aws_sdk_cloudtrail::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let pacer = match quota {
            Quota::Lookup => &self.pacer,
            Quota::Control => &self.control_pacer,
        };
        let site = self.site(call);
        call::call_with_retries(
            pacer,
            &self.stop,
            budget,
            &site,
            |_, _| {},
            || self.send(send()),
        )
        .await
    }

    /// Sends `call` (made with `client`) signed with the account's credentials.
    pub async fn send<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        match &self.member {
            Some(member) => MEMBER.scope(member.clone(), call).await,
            None => call.await,
        }
    }
}

/// The credentials provider of an organization's shared clients: the member credentials of
/// the call being sent. A call sent without them fails (it would read the wrong account).
#[derive(Debug)]
struct MemberCredentials;

impl ProvideCredentials for MemberCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        match MEMBER.try_with(SharedCredentialsProvider::clone) {
            Ok(member) => {
                future::ProvideCredentials::new(async move { member.provide_credentials().await })
            }
            Err(_) => future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
                "an organization's call sent without its account's credentials",
            ))),
        }
    }
}

/// Member roles assumed at once when an organization's accounts are connected.
const ASSUMED_AT_ONCE: usize = 16;

/// The clients to read with, and the accounts of an organization that cannot be read at all.
pub struct Connection {
    /// One per region, or per account and region of an organization (its accounts in order).
    pub clients: Vec<RegionClient>,
    /// The first region's, with the base credentials (an organization's too): for the calls
    /// that are not an account's (public keys, a trail's lookup).
    pub base: RegionClient,
    /// Why each unreadable account is so (its member role cannot be assumed), naming it.
    pub unreadable: Vec<Error>,
    /// The account of the base credentials, when an organization is read: a single-account
    /// state is continued as its.
    pub base_account: Option<String>,
    /// How many accounts were to be read (0 without an organization).
    pub accounts: usize,
    /// Accounts whose member role was assumed or tried: all of them, or `check`'s sample.
    pub sampled: usize,
    /// ListAccounts had more pages than `check` read: `accounts` is a lower bound.
    pub more_accounts: bool,
    /// What the person running the sync should know, e.g. ids ListAccounts gave that are no
    /// account ids.
    pub warnings: Vec<String>,
}

/// The base credentials' SDK config and provider, resolved once.
async fn base_credentials(
    config: &Config,
) -> Result<(SdkConfig, SharedCredentialsProvider), Error> {
    let (sdk, provider) = credentials(
        &config.credentials,
        config.role.as_ref(),
        &config.regions[0],
        "aws_key_id and aws_secret_key",
    )
    .await?;
    let sdk = sdk
        .into_builder()
        .credentials_provider(provider.clone())
        .build();
    Ok((sdk, provider))
}

/// The client of the first region with the base credentials, for the calls that are not an
/// account's (a trail's lookup, public keys): no member role is assumed for it.
pub async fn connect_base(config: &Config, stop: CancellationToken) -> Result<RegionClient, Error> {
    let (sdk, provider) = base_credentials(config).await?;
    Ok(region_client(
        config,
        &sdk,
        &provider,
        false,
        &config.regions[0],
        &stop,
    ))
}

/// Resolves credentials once (so a bad role or missing credentials fail now, with a clear
/// message) and builds a client per configured region; with an organization, per account (whose
/// member role is assumed now, an account that refuses it being set aside) and region: every
/// account, or for `check` a sample (`reach`).
pub async fn connect(
    config: &Config,
    reach: Reach,
    stop: CancellationToken,
) -> Result<Connection, Error> {
    let (sdk, provider) = base_credentials(config).await?;
    let base = region_client(config, &sdk, &provider, false, &config.regions[0], &stop);
    let Some(org) = &config.organization else {
        let clients = config
            .regions
            .iter()
            .map(|region| region_client(config, &sdk, &provider, false, region, &stop))
            .collect();
        return Ok(Connection {
            base,
            clients,
            unreadable: vec![],
            base_account: None,
            accounts: 0,
            sampled: 0,
            more_accounts: false,
            warnings: vec![],
        });
    };
    let sts = aws_sdk_sts::Client::new(&sdk);
    let caller = Arc::new(organization::caller(&sts, &sdk, &stop).await?);
    let found = organization::accounts(&sdk, org, reach, &stop).await?;
    let accounts = found.selected;
    let session_name = config
        .role
        .as_ref()
        .map_or(DEFAULT_ROLE_SESSION_NAME, |r| r.session_name.as_str());
    let limit = Arc::new(tokio::sync::Semaphore::new(ASSUMED_AT_ONCE));
    let sts_endpoint = service_endpoint("STS", "sts.amazonaws.com");
    let tasks: Vec<_> = accounts
        .iter()
        .map(|account| {
            let role = organization::member_role(&caller, org, session_name, account);
            let (sts, caller, limit, account) =
                (sts.clone(), caller.clone(), limit.clone(), account.clone());
            let sts_endpoint = sts_endpoint.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                organization::assume(&sts, &sts_endpoint, &caller, &account, &role).await
            })
        })
        .collect();
    let members = SharedCredentialsProvider::new(MemberCredentials);
    let shared: Vec<RegionClient> = config
        .regions
        .iter()
        .map(|region| region_client(config, &sdk, &members, true, region, &stop))
        .collect();
    let mut clients = Vec::new();
    let mut unreadable = Vec::new();
    for (account, task) in accounts.iter().zip(tasks) {
        let assumed = task
            .await
            .map_err(|e| Error::Internal(format!("assuming the role of {account}: {e}")))?;
        match assumed {
            Ok(member) => clients.extend(shared.iter().map(|c| RegionClient {
                account: Some(account.clone()),
                member: Some(member.clone()),
                pacer: Arc::new(Pacer::new(config.requests_per_second)),
                control_pacer: Arc::new(Pacer::new(CONTROL_REQUESTS_PER_SECOND)),
                ..c.clone()
            })),
            Err(e) => unreadable.push(e),
        }
    }
    Ok(Connection {
        base,
        clients,
        unreadable,
        base_account: Some(caller.account.clone()),
        accounts: found.total,
        sampled: accounts.len(),
        more_accounts: found.more,
        warnings: found.warnings,
    })
}

/// The client of `region`, signing with `provider`; `organization`: shared by the accounts,
/// each signing with its own member credentials (which cache themselves).
fn region_client(
    config: &Config,
    sdk: &SdkConfig,
    provider: &SharedCredentialsProvider,
    organization: bool,
    region: &str,
    stop: &CancellationToken,
) -> RegionClient {
    let mut builder = aws_sdk_cloudtrail::config::Builder::from(sdk)
        .region(Region::new(region.to_string()))
        .credentials_provider(provider.clone())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        // LimitBodies keeps bodies above a minimum throughput, and says so in its words: the
        // SDK's own watch would only add a timer to every call.
        .stalled_stream_protection(
            aws_sdk_cloudtrail::config::StalledStreamProtectionConfig::disabled(),
        )
        .interceptor(limits::LimitBodies {
            limit: Some(limits::LOOKUP_BODY_LIMIT),
            min: limits::MinThroughput::BODIES,
        })
        .interceptor(raw::KeepBody);
    if organization {
        builder = builder.identity_cache(aws_sdk_cloudtrail::config::IdentityCache::no_cache());
    }
    if let Some(url) = &config.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    RegionClient {
        account: None,
        member: None,
        region: region.to_string(),
        client: aws_sdk_cloudtrail::Client::from_conf(builder.build()),
        pacer: Arc::new(Pacer::new(config.requests_per_second)),
        control_pacer: Arc::new(Pacer::new(CONTROL_REQUESTS_PER_SECOND)),
        endpoint: endpoint_for(config, region),
        stop: stop.clone(),
    }
}

/// The endpoint of another service than CloudTrail, for messages: the SDK's variables or AWS's.
fn service_endpoint(service: &str, default: &str) -> String {
    for var in [
        format!("AWS_ENDPOINT_URL_{service}"),
        "AWS_ENDPOINT_URL".into(),
    ] {
        if let Ok(url) = std::env::var(var) {
            if !url.is_empty() {
                return redact_userinfo(&url).into_owned();
            }
        }
    }
    format!("https://{default}")
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The SDK config of `region` with a credentials provider that has already delivered once:
/// `source`, then `role` assumed on top. `fields` names the config fields to fix.
async fn credentials(
    source: &CredentialSource,
    role: Option<&Role>,
    region: &str,
    fields: &str,
) -> Result<(SdkConfig, SharedCredentialsProvider), Error> {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_string()));
    if let CredentialSource::Static {
        key_id,
        secret,
        session_token,
    } = source
    {
        loader = loader.credentials_provider(Credentials::new(
            key_id.expose(),
            secret.expose(),
            session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "airbyte-config",
        ));
    }
    let mut sdk = loader.load().await;
    // The base credentials sign the STS call of the role too: checked before that.
    if let Some(base) = sdk.credentials_provider() {
        sdk = sdk
            .into_builder()
            .credentials_provider(HeaderSafe::wrap(base, Origin::Chain))
            .build();
    }
    let provider = match role {
        Some(role) => {
            let mut builder = AssumeRoleProvider::builder(&role.arn)
                .session_name(&role.session_name)
                .configure(&sdk);
            if let Some(id) = &role.external_id {
                builder = builder.external_id(id.expose());
            }
            let origin = Origin::Sts {
                role: role.arn.clone(),
                endpoint: service_endpoint("STS", &format!("sts.{region}.{}", dns_suffix(region))),
                external_id: role.external_id.clone(),
            };
            HeaderSafe::wrap(
                SharedCredentialsProvider::new(builder.build().await),
                origin,
            )
        }
        None => sdk
            .credentials_provider()
            .ok_or_else(|| Error::Credentials(format!("no AWS credentials: set {fields}")))?,
    };
    if let Err(e) = provider.provide_credentials().await {
        let cause = redact_userinfo(&credentials_cause(&e)).into_owned();
        return Err(Error::Credentials(match role {
            Some(role) => format!(
                "cannot assume role {}: {cause}. Check the role ARN, its external id and the role's trust policy",
                role.arn
            ),
            None => format!(
                "cannot obtain AWS credentials: {cause}. Set {fields}, or provide credentials to the AWS default chain (environment, profile, web identity, container or instance role)"
            ),
        }));
    }
    Ok((sdk, provider))
}

/// Where credentials come from, for a message to say where to fix them.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// The config, the environment, a profile: fixed where they are set.
    Chain,
    /// An STS AssumeRole answer for `role`, from `endpoint`, asked with `external_id`: the
    /// external id is never shown, even when STS quotes the request in its error.
    Sts {
        role: String,
        endpoint: String,
        external_id: Option<Secret>,
    },
}

/// Stands in for an external id in messages.
const EXTERNAL_ID_SHOWN_AS: &str = "[external id, not shown]";

/// Why STS gave no usable credentials, in words that quote no secret: `refused` when STS
/// answered with an AWS error (a trust policy, an external id), else its answer or the
/// network was at fault.
#[derive(Debug)]
pub(crate) struct StsFailure {
    pub refused: bool,
    pub text: String,
}

impl std::fmt::Display for StsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for StsFailure {}

impl StsFailure {
    /// The failure an error chain holds, if STS's credentials were at fault.
    pub fn in_chain<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a StsFailure> {
        let mut cur = Some(err);
        while let Some(e) = cur {
            if let Some(f) = e.downcast_ref::<StsFailure>() {
                return Some(f);
            }
            cur = e.source();
        }
        None
    }
}

/// Credentials only if HTTP headers can carry them, whatever their source (environment, profile,
/// an STS answer, at every refresh): the SDK's signer panics on an access key id with a line
/// break, and a session token with one fails as if the network were down. The config's own
/// fields are checked when it is read; this covers what the SDK resolves itself. An STS
/// failure leaves here as a `StsFailure`, its text without the external id.
#[derive(Debug)]
struct HeaderSafe {
    inner: SharedCredentialsProvider,
    origin: Origin,
}

impl HeaderSafe {
    fn wrap(inner: SharedCredentialsProvider, origin: Origin) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(HeaderSafe { inner, origin })
    }
}

impl ProvideCredentials for HeaderSafe {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let credentials = match (self.inner.provide_credentials().await, &self.origin) {
                (Ok(c), _) => c,
                (Err(e), Origin::Chain) => return Err(e),
                (Err(e), Origin::Sts { external_id, .. }) => {
                    let (refused, cause) = sts_cause(&e);
                    let text = redact_userinfo(&cause).into_owned();
                    let text = match external_id {
                        Some(id) => id.redact(&text, EXTERNAL_ID_SHOWN_AS).into_owned(),
                        None => text,
                    };
                    return Err(CredentialsError::provider_error(StsFailure {
                        refused,
                        text,
                    }));
                }
            };
            let parts = [
                ("access key id", "an", Some(credentials.access_key_id())),
                (
                    "secret access key",
                    "a",
                    Some(credentials.secret_access_key()),
                ),
                ("session token", "a", credentials.session_token()),
            ];
            for (part, article, value) in parts {
                let Some(what) = value.and_then(unfit_character) else {
                    continue;
                };
                return Err(match &self.origin {
                    Origin::Chain => CredentialsError::invalid_configuration(format!(
                        "the {part} found contains {what}, which AWS does not accept there: fix it where it is set (environment variables, shared profile)"
                    )),
                    Origin::Sts { role, endpoint, .. } => {
                        CredentialsError::provider_error(StsFailure {
                            refused: false,
                            text: format!(
                                "STS at {endpoint} sent, for {role}, {article} {part} that contains {what}, which no credential AWS issues does (not STS's answer, or altered on the way)"
                            ),
                        })
                    }
                });
            }
            Ok(credentials)
        })
    }
}

/// Why credentials could not be had, in AWS's words: the STS error code and message when STS
/// answered, else the innermost cause.
fn credentials_cause(err: &(dyn std::error::Error + 'static)) -> String {
    sts_cause(err).1
}

/// `credentials_cause`, and whether STS refused (answered with an AWS error code) rather than
/// sent something unusable or could not be reached.
fn sts_cause(err: &(dyn std::error::Error + 'static)) -> (bool, String) {
    if let Some(f) = StsFailure::in_chain(err) {
        return (f.refused, f.text.clone());
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(sdk) = e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return match sdk.as_service_error() {
                Some(s) if s.code().is_some() => (
                    true,
                    format!(
                        "{}: {}",
                        s.code().unwrap_or("error"),
                        s.message().unwrap_or("")
                    ),
                ),
                Some(_) => (
                    false,
                    format!(
                        "STS answered HTTP {} without an AWS error (not STS's answer, or altered on the way): {}",
                        sdk.raw_response().map_or(0, |r| r.status().as_u16()),
                        root_cause(sdk)
                    ),
                ),
                None => (false, format!("STS: {}", root_cause(sdk))),
            };
        }
        cur = e.source();
    }
    (false, root_cause(err))
}

/// The DNS suffix of AWS's endpoints in `region`: the China regions have their own.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The endpoint a region's calls go to, as far as messages need it (redacted).
fn endpoint_for(config: &Config, region: &str) -> String {
    if let Some(url) = &config.endpoint_url {
        return redact_userinfo(url).into_owned();
    }
    for var in ["AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_ENDPOINT_URL"] {
        if let Ok(url) = std::env::var(var) {
            if !url.is_empty() {
                return redact_userinfo(&url).into_owned();
            }
        }
    }
    format!("https://cloudtrail.{region}.{}", dns_suffix(region))
}
