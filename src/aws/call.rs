//! The one retry layer for AWS calls: pace, send, classify the outcome, back off and retry what
//! may succeed later (throttling, 5xx, network, timeouts) until a time budget runs out; fail at
//! once on what cannot (credentials, permissions, parameters). The SDK's own retries are off.

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudtrail::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::BodyLimit;
use super::pacer::Pacer;
use crate::error::{AwsFailure, AwsProblem, Service};

/// What a call is, for messages.
#[derive(Debug, Clone)]
pub struct CallSite {
    pub service: Service,
    pub region: String,
    /// The account of an organization called, when one is read.
    pub account: Option<String>,
    pub call: &'static str,
    pub endpoint: String,
    /// What the call is about (`s3://bucket/key`), when it says more than the region.
    pub target: Option<String>,
}

impl CallSite {
    /// A failure of this call.
    pub fn failure(&self, problem: AwsProblem, code: Option<&str>, detail: String) -> AwsFailure {
        AwsFailure {
            problem,
            service: self.service,
            target: self.target.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            call: self.call,
            endpoint: self.endpoint.clone(),
            code: code.map(String::from),
            // The SDK's texts may quote the endpoint, user name and password included.
            detail: crate::config::redact_userinfo(&detail).into_owned(),
            retry_after: None,
        }
    }
}

/// How long to keep retrying a call that keeps failing transiently.
#[derive(Debug, Clone, Copy)]
pub struct RetryBudget {
    pub give_up_after: Duration,
    /// For an endpoint never reached yet: a refused or timed-out connection then means a wrong
    /// endpoint or network, which waiting does not fix.
    pub unreachable_give_up_after: Duration,
    pub max_backoff: Duration,
}

impl RetryBudget {
    /// Syncs ride out outages and throttling storms of several minutes.
    pub const SYNC: RetryBudget = RetryBudget {
        give_up_after: Duration::from_secs(600),
        unreachable_give_up_after: Duration::from_secs(600),
        max_backoff: Duration::from_secs(20),
    };
    /// Until a region has answered once in this sync.
    pub const SYNC_FIRST_CONTACT: RetryBudget = RetryBudget {
        unreachable_give_up_after: Duration::from_secs(30),
        ..RetryBudget::SYNC
    };
    /// `check` answers within seconds.
    pub const CHECK: RetryBudget = RetryBudget {
        give_up_after: Duration::from_secs(4),
        unreachable_give_up_after: Duration::from_secs(4),
        max_backoff: Duration::from_secs(2),
    };
}

/// Exponential backoff with "equal jitter": half fixed, half random, capped.
pub fn backoff(attempt: u32, max: Duration, jitter: f64) -> Duration {
    let base = Duration::from_millis(250).saturating_mul(1u32 << attempt.min(16));
    let capped = base.min(max);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Sends `send()` through the pacer until it succeeds, fails permanently, the budget is spent
/// or `stop` is cancelled. `on_retry` hears about each failure that will be retried.
pub async fn call_with_retries<T, E, F, Fut>(
    pacer: &Pacer,
    stop: &CancellationToken,
    budget: RetryBudget,
    site: &CallSite,
    on_retry: impl FnMut(&AwsFailure, Duration),
    send: F,
) -> Result<T, AwsFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    Retry::new(pacer, stop, budget)
        .call(site, on_retry, send)
        .await
}

/// The one retry loop: one budget, one attempt count, shared by every call made through it, so
/// a caller that must repeat a whole exchange (a download cut short) retries within the same
/// budget instead of stacking a loop on this one.
pub struct Retry<'a> {
    pacer: &'a Pacer,
    stop: &'a CancellationToken,
    budget: RetryBudget,
    started: Instant,
    attempt: u32,
}

impl<'a> Retry<'a> {
    pub fn new(pacer: &'a Pacer, stop: &'a CancellationToken, budget: RetryBudget) -> Self {
        Retry {
            pacer,
            stop,
            budget,
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Sends `send()` until it succeeds, fails permanently, the budget is spent or the stop
    /// signal comes (an attempt in flight is then abandoned).
    pub async fn call<T, E, F, Fut>(
        &mut self,
        site: &CallSite,
        mut on_retry: impl FnMut(&AwsFailure, Duration),
        mut send: F,
    ) -> Result<T, AwsFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        loop {
            let stopped = || site.failure(AwsProblem::Stopped, None, String::new());
            if self.stop.is_cancelled() {
                return Err(stopped());
            }
            let outcome = tokio::select! {
                biased;
                _ = self.stop.cancelled() => return Err(stopped()),
                outcome = async {
                    self.pacer.acquire().await;
                    send().await
                } => outcome,
            };
            let failure = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => classify(&e, site),
            };
            self.pause_after(failure, &mut on_retry).await?;
        }
    }

    /// After `failure`: waits out its backoff and returns, or returns the failure when it is
    /// not worth retrying, the budget is spent, or the stop signal comes.
    pub async fn pause_after(
        &mut self,
        failure: AwsFailure,
        mut on_retry: impl FnMut(&AwsFailure, Duration),
    ) -> Result<(), AwsFailure> {
        let mut pause = backoff(self.attempt, self.budget.max_backoff, fastrand::f64());
        // The service knows its own recovery time better than our backoff; bounded so that a
        // hostile `Retry-After: 86400` cannot park a sync (the budget still decides below).
        if let Some(asked) = failure.retry_after {
            pause = pause.max(asked.min(MAX_RETRY_AFTER));
        }
        let limit = match failure.problem {
            AwsProblem::Unreachable => self.budget.unreachable_give_up_after,
            _ => self.budget.give_up_after,
        };
        if !failure.is_retryable() || self.started.elapsed() + pause > limit {
            return Err(failure);
        }
        on_retry(&failure, pause);
        if failure.problem == AwsProblem::Throttled {
            // The quota is shared: everyone on this pacer waits.
            self.pacer.hold_off(pause).await;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.stop.cancelled() => {}
            }
        }
        self.attempt += 1;
        Ok(())
    }
}

/// Classifies an SDK error by AWS error code, HTTP status and transport cause.
pub fn classify<E>(err: &SdkError<E, HttpResponse>, site: &CallSite) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = |problem, code: Option<&str>, detail: String| site.failure(problem, code, detail);
    if let Some(limit) = BodyLimit::in_chain(err) {
        let problem = match limit {
            BodyLimit::TooLarge { .. } => AwsProblem::AnswerTooLarge,
            BodyLimit::TooSlow { .. } => AwsProblem::Timeout,
        };
        return failure(problem, None, limit.to_string());
    }
    match err {
        // A success status whose body is not AWS's JSON: cut short, or a proxy's page.
        SdkError::ServiceError(ctx)
            if ctx.err().code().is_none() && ctx.raw().status().is_success() =>
        {
            let status = ctx.raw().status().as_u16();
            failure(
                AwsProblem::ServiceFault { status },
                None,
                format!("unreadable answer: {}", root_cause(err)),
            )
        }
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            let status = raw.status().as_u16();
            let code = ctx.err().code();
            // Without a message, the SDK's own text is its `Debug` form: word the status instead.
            let message = match ctx.err().message() {
                Some(m) if !m.is_empty() => m.to_string(),
                _ => format!("HTTP {status} without an error message"),
            };
            let mut problem = problem_of(code, status);
            // S3 names the bucket's region on its redirects, with or without a body.
            if let Some(actual) = raw.headers().get("x-amz-bucket-region") {
                if (300..400).contains(&status) && actual != site.region {
                    problem = AwsProblem::WrongRegion {
                        bucket_region: Some(actual.to_string()),
                    };
                }
            }
            let message = match (&problem, raw.headers().get("location")) {
                (AwsProblem::Redirected { .. }, Some(to)) => {
                    format!("{message}; it pointed to {to}")
                }
                _ => message,
            };
            let mut failure = failure(problem, code, message);
            if matches!(status, 429 | 503) || failure.problem == AwsProblem::Throttled {
                failure.retry_after = raw
                    .headers()
                    .get("retry-after")
                    .and_then(|v| retry_after(v, std::time::SystemTime::now()));
            }
            failure
        }
        SdkError::TimeoutError(_) => failure(AwsProblem::Timeout, None, root_cause(err)),
        // A connection that cannot even be opened in time: the endpoint is not reachable.
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            failure(AwsProblem::Unreachable, None, root_cause(err))
        }
        SdkError::DispatchFailure(d) if d.is_user() => {
            failure(AwsProblem::Other, None, root_cause(err))
        }
        SdkError::DispatchFailure(_) => failure(AwsProblem::Unreachable, None, root_cause(err)),
        // A body that ends early or is not the JSON AWS sends: a proxy or a dropped connection.
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            failure(
                AwsProblem::ServiceFault { status },
                None,
                format!("unreadable answer: {}", root_cause(err)),
            )
        }
        _ => failure(AwsProblem::Other, None, root_cause(err)),
    }
}

fn problem_of(code: Option<&str>, status: u16) -> AwsProblem {
    match code.unwrap_or("") {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => AwsProblem::Throttled,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationTokenException" => AwsProblem::UnknownAccessKey,
        // NotSignedUp: S3's answer (s3s's too) to keys it does not know for the service.
        "InvalidAccessKeyId" | "NotSignedUp" => AwsProblem::UnknownAccessKey,
        "InvalidSignatureException" | "SignatureDoesNotMatch" => AwsProblem::WrongSecret,
        "NoSuchBucket" | "NoSuchKey" => AwsProblem::NotFound,
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => AwsProblem::WrongRegion {
            bucket_region: None,
        },
        "SlowDown" => AwsProblem::Throttled,
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => AwsProblem::ExpiredToken,
        c if c.contains("AccessDenied")
            || c == "OperationNotPermittedException"
            || c == "UnauthorizedOperation"
            || c == "NotOrganizationMasterAccountException" =>
        {
            AwsProblem::AccessDenied
        }
        c if (c.starts_with("Invalid") && c.ends_with("Exception"))
            || c == "ValidationException" =>
        {
            AwsProblem::InvalidParameter
        }
        _ if status == 429 => AwsProblem::Throttled,
        _ if status >= 500 => AwsProblem::ServiceFault { status },
        _ if status == 301 => AwsProblem::WrongRegion {
            bucket_region: None,
        },
        "TemporaryRedirect" => AwsProblem::Redirected { status },
        _ if (300..400).contains(&status) => AwsProblem::Redirected { status },
        _ => AwsProblem::Other,
    }
}

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A `Retry-After` value (delay-seconds or an HTTP date) as a wait from `now`.
pub fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let at = std::time::SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The innermost cause of an error chain, e.g. "Connection refused (os error 111)".
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_map_to_problems() {
        assert_eq!(
            problem_of(Some("ThrottlingException"), 400),
            AwsProblem::Throttled
        );
        assert_eq!(
            problem_of(Some("UnrecognizedClientException"), 400),
            AwsProblem::UnknownAccessKey
        );
        assert_eq!(
            problem_of(Some("InvalidSignatureException"), 400),
            AwsProblem::WrongSecret
        );
        assert_eq!(
            problem_of(Some("AccessDeniedException"), 400),
            AwsProblem::AccessDenied
        );
        assert_eq!(
            problem_of(Some("InvalidLookupAttributesException"), 400),
            AwsProblem::InvalidParameter
        );
        assert_eq!(
            problem_of(Some("InternalFailure"), 500),
            AwsProblem::ServiceFault { status: 500 }
        );
        assert_eq!(
            problem_of(None, 503),
            AwsProblem::ServiceFault { status: 503 }
        );
        assert_eq!(problem_of(None, 429), AwsProblem::Throttled);
        assert_eq!(problem_of(Some("Weird"), 400), AwsProblem::Other);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    proptest! {
        #[test]
        fn retry_after_seconds_round_trip(secs in 0u64..1 << 32) {
            prop_assert_eq!(retry_after(&secs.to_string(), std::time::SystemTime::now()), Some(Duration::from_secs(secs)));
        }

        #[test]
        fn backoff_grows_and_stays_capped(attempt in 0u32..100, jitter in 0.0f64..1.0) {
            let max = Duration::from_secs(20);
            let b = backoff(attempt, max, jitter);
            prop_assert!(b <= max);
            prop_assert!(b >= backoff(attempt, max, 0.0));
            prop_assert!(backoff(attempt, max, 0.0) <= backoff(attempt + 1, max, 0.0));
        }
    }
}
