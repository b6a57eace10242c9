//! Every failure the connector can report, with its context, its Airbyte `failure_type` and the
//! wording a person reads; the one place where failures are classified.

use std::fmt;

/// Airbyte's `failure_type`: who has to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureType {
    /// The user must change the config, the catalog, the state or the AWS permissions.
    Config,
    /// Retrying later may succeed (throttling, outages, network).
    Transient,
    /// A defect or an answer the connector does not understand.
    System,
}

impl FailureType {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureType::Config => "config_error",
            FailureType::Transient => "transient_error",
            FailureType::System => "system_error",
        }
    }
}

/// The AWS service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    CloudTrail,
    S3,
    Sts,
    Organizations,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::CloudTrail => "CloudTrail",
            Service::S3 => "S3",
            Service::Sts => "STS",
            Service::Organizations => "AWS Organizations",
        }
    }

    /// The IAM action a call needs, and the call when its name is not the action's
    /// (`s3:ListBucket for ListObjectsV2`): a person searches the policy for the one and the
    /// logs for the other.
    fn permission_for(self, call: &str) -> String {
        let permission = self.permission(call);
        match permission.split_once(':') {
            Some((_, action)) if action == call => permission,
            _ => format!("{permission} for {call}"),
        }
    }

    /// The IAM action a call needs.
    fn permission(self, call: &str) -> String {
        match (self, call) {
            (Service::S3, "ListObjectsV2") => "s3:ListBucket".into(),
            (Service::S3, c) => format!("s3:{c}"),
            (Service::CloudTrail, c) => format!("cloudtrail:{c}"),
            (Service::Sts, c) => format!("sts:{c}"),
            (Service::Organizations, c) => format!("organizations:{c}"),
        }
    }
}

/// What went wrong on one AWS call, as far as the connector needs to distinguish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsProblem {
    /// `UnrecognizedClientException`: the access key id (or session token) is unknown.
    UnknownAccessKey,
    /// `InvalidSignatureException` / `SignatureDoesNotMatch`: wrong secret.
    WrongSecret,
    /// `ExpiredTokenException`.
    ExpiredToken,
    /// `AccessDeniedException` and friends.
    AccessDenied,
    /// An `Invalid…Exception` about a parameter we sent.
    InvalidParameter,
    /// `ThrottlingException` (or HTTP 429).
    Throttled,
    /// HTTP 5xx.
    ServiceFault { status: u16 },
    /// `NoSuchBucket`, `NoSuchKey`.
    NotFound,
    /// The bucket is in another region than the one called (`PermanentRedirect`, a 301), and
    /// that region when S3 said it (`x-amz-bucket-region`).
    WrongRegion { bucket_region: Option<String> },
    /// A temporary redirect (302, 307) that names no other region: S3 answers so while a new
    /// bucket's DNS name propagates.
    Redirected { status: u16 },
    /// An answer over the size any real answer has: not the service, or altered on the way.
    AnswerTooLarge,
    /// No connection could be made, or it was dropped.
    Unreachable,
    /// No answer in time.
    Timeout,
    /// Not attempted: stdout was closed, nobody reads what the call would fetch.
    Stopped,
    /// Anything else AWS answered.
    Other,
}

/// One failed AWS call with everything needed to explain it.
#[derive(Debug, Clone)]
pub struct AwsFailure {
    pub problem: AwsProblem,
    pub service: Service,
    /// What the call was about (`s3://bucket/key`), when known.
    pub target: Option<String>,
    pub region: String,
    /// The account of an organization called, when one is read.
    pub account: Option<String>,
    /// The API call, e.g. `LookupEvents`.
    pub call: &'static str,
    /// The endpoint called, for network problems.
    pub endpoint: String,
    /// AWS error code, when AWS answered.
    pub code: Option<String>,
    /// AWS's message or the transport's cause.
    pub detail: String,
    /// How long the service asked to wait (`Retry-After`) before trying again.
    pub retry_after: Option<std::time::Duration>,
}

impl AwsFailure {
    /// Worth trying again after a pause.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.problem,
            AwsProblem::Throttled
                | AwsProblem::ServiceFault { .. }
                | AwsProblem::Unreachable
                | AwsProblem::Timeout
                | AwsProblem::Redirected { .. }
        )
    }

    fn code_suffix(&self) -> String {
        self.code
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    }
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (call, code, service) = (self.call, self.code_suffix(), self.service.name());
        let region = match (&self.target, &self.account) {
            (Some(t), _) => format!("{} ({t})", self.region),
            (None, Some(a)) => format!("account {a}, {}", self.region),
            (None, None) => self.region.clone(),
        };
        let hint = match self.service {
            Service::S3 => " of trail_logs (or the top-level ones when it has none)",
            _ => "",
        };
        let grantee = match (&self.account, self.service) {
            (Some(_), _) => "the member role (organization.member_role_name) in that account, and check that no service control policy denies it there",
            (None, Service::Organizations) => "these credentials, or list the accounts in organization.accounts (ListAccounts works only for the management account or a delegated administrator)",
            (None, _) => "these credentials",
        };
        match &self.problem {
            AwsProblem::UnknownAccessKey => write!(
                f,
                "AWS rejected the access key id{code} in {region}: check aws_key_id{hint} (and aws_session_token for temporary credentials)"
            ),
            AwsProblem::WrongSecret => write!(
                f,
                "the secret key does not match the access key id{code} in {region}: check aws_secret_key{hint}"
            ),
            AwsProblem::ExpiredToken => write!(
                f,
                "the credentials have expired{code} in {region}: renew aws_session_token or use long-lived keys or a role"
            ),
            AwsProblem::AccessDenied => write!(
                f,
                "no permission {}{code} in {region}: grant it to {grantee}.{} AWS said: {}",
                self.service.permission_for(call),
                match self.service {
                    // S3 denies a Requester Pays bucket's requests that do not say who pays.
                    Service::S3 => " A Requester Pays bucket also needs trail_logs.requester_pays set to true.",
                    _ => "",
                },
                self.detail
            ),
            AwsProblem::InvalidParameter => write!(
                f,
                "{service} rejected the {call} parameters{code} in {region}: {}",
                self.detail
            ),
            AwsProblem::Throttled => match self.service {
                Service::CloudTrail => write!(
                    f,
                    "CloudTrail kept throttling {call}{code} in {region}: other clients may be using the account's quota of 2 requests/s per region; lower requests_per_second or retry later"
                ),
                _ => write!(
                    f,
                    "{service} kept throttling {call}{code} in {region}: retry later"
                ),
            },
            // A success status with what the service never sends: a proxy's page, a cut body,
            // an endless listing.
            AwsProblem::ServiceFault { status } if (200..300).contains(status) => write!(
                f,
                "{service} answered {call} in {region} with HTTP {status}, but not as {service} does{code}: {}. Check that {} is {service} and that no proxy alters its answers; retry later",
                self.detail, self.endpoint
            ),
            AwsProblem::ServiceFault { status } => write!(
                f,
                "{service} failed with HTTP {status}{code} on {call} in {region}: {}",
                self.detail
            ),
            AwsProblem::NotFound => write!(
                f,
                "{call} found nothing{code} in {region}: check trail_logs.bucket and trail_logs.prefix. AWS said: {}",
                self.detail
            ),
            AwsProblem::WrongRegion {
                bucket_region: Some(actual),
            } => write!(
                f,
                "the bucket is in {actual}, not in {region}{code}: set trail_logs.bucket_region to {actual}"
            ),
            AwsProblem::WrongRegion {
                bucket_region: None,
            } => write!(
                f,
                "the bucket is not in {region}{code}: set trail_logs.bucket_region to the bucket's region (shown in the S3 console). AWS said: {}",
                self.detail
            ),
            AwsProblem::Redirected { status } => write!(
                f,
                "{service} redirected {call} temporarily (HTTP {status}{code}) in {region}: a bucket created moments ago is answered so until its DNS name spreads; retry later. {}",
                self.detail
            ),
            AwsProblem::AnswerTooLarge => write!(
                f,
                "{service} sent an answer to {call} in {region} that no real {service} sends: {} ({}). Check that {} is {service} and no proxy alters its answers",
                self.detail,
                match call {
                    "LookupEvents" => "a page holds at most 50 events of at most 256 KB",
                    "DescribeTrails" => "an answer describes each trail in a few KB, and an account has a few trails per region",
                    _ => "no real answer to it is that large",
                },
                self.endpoint
            ),
            AwsProblem::Unreachable => write!(
                f,
                "cannot reach {}: {} ({call} in {region}); check endpoint_url, the network and proxies",
                self.endpoint, self.detail
            ),
            AwsProblem::Timeout => write!(
                f,
                "no answer from {} in time ({call} in {region}): {}",
                self.endpoint, self.detail
            ),
            AwsProblem::Stopped => write!(
                f,
                "{call} in {region} was not made: stdout was closed, so the sync stopped"
            ),
            AwsProblem::Other => write!(f, "{call} failed in {region}{code}: {}", self.detail),
        }
    }
}

/// Every failure the connector reports.
#[derive(Debug, Clone)]
pub enum Error {
    /// Bad config, catalog or state: the message says which field and why.
    Config(String),
    /// A stream's saved state cannot be continued: `problem` says where in it and why.
    State {
        stream: &'static str,
        problem: String,
    },
    /// Credentials could not be obtained (no credentials, a role that cannot be assumed…).
    Credentials(String),
    /// A failed AWS call, for a stream when known.
    Aws {
        stream: Option<String>,
        failure: Box<AwsFailure>,
    },
    /// Stdout could not be written (e.g. the reader went away).
    Output(String),
    /// A defect: should never happen.
    Internal(String),
}

impl Error {
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    pub fn aws(failure: AwsFailure) -> Self {
        Error::Aws {
            stream: None,
            failure: Box::new(failure),
        }
    }

    pub fn for_stream(self, name: &str) -> Self {
        match self {
            Error::Aws { failure, .. } => Error::Aws {
                stream: Some(name.to_string()),
                failure,
            },
            other => other,
        }
    }

    pub fn stream(&self) -> Option<&str> {
        match self {
            Error::Aws { stream, .. } => stream.as_deref(),
            _ => None,
        }
    }

    /// The one classification of failures into Airbyte failure types.
    pub fn failure_type(&self) -> FailureType {
        match self {
            Error::Config(_) | Error::Credentials(_) | Error::State { .. } => FailureType::Config,
            Error::Aws { failure, .. } => match failure.problem {
                AwsProblem::UnknownAccessKey
                | AwsProblem::WrongSecret
                | AwsProblem::ExpiredToken
                | AwsProblem::AccessDenied
                | AwsProblem::InvalidParameter
                | AwsProblem::NotFound
                | AwsProblem::WrongRegion { .. } => FailureType::Config,
                AwsProblem::Throttled
                | AwsProblem::ServiceFault { .. }
                | AwsProblem::Unreachable
                | AwsProblem::Timeout
                | AwsProblem::Redirected { .. } => FailureType::Transient,
                AwsProblem::Other | AwsProblem::Stopped | AwsProblem::AnswerTooLarge => {
                    FailureType::System
                }
            },
            Error::Output(_) | Error::Internal(_) => FailureType::System,
        }
    }

    /// Technical detail for `internal_message`.
    pub fn internal_message(&self) -> String {
        match self {
            Error::Aws { failure, .. } => format!(
                "{} {} in {} -> {:?} {}: {}",
                failure.call,
                failure.endpoint,
                failure.region,
                failure.problem,
                failure.code.as_deref().unwrap_or("-"),
                failure.detail
            ),
            Error::State { .. } => format!("State({:?})", self.to_string()),
            other => format!("{other:?}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) | Error::Credentials(m) | Error::Output(m) => f.write_str(m),
            Error::Aws { failure, .. } => failure.fmt(f),
            Error::Internal(m) => write!(f, "internal error: {m}"),
            Error::State { stream, problem } => write!(
                f,
                "the saved state of stream {stream} is not valid: {problem}. Fix the state or reset the stream"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// A value's JSON, cut for messages.
pub fn brief(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(77) {
        Some((i, _)) if text.len() > 80 => format!("{}…", &text[..i]),
        _ => text,
    }
}
