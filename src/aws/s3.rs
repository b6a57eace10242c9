//! The S3 client of the trail's bucket: its own credentials (or the connector's), the bucket's
//! region, a custom endpoint addressed path-style, and the one retry layer of every AWS call.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};

use aws_config::retry::RetryConfig;
use aws_config::Region;

use super::pacer::Pacer;
use super::{credentials, timeouts};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use tokio_util::sync::CancellationToken;

use crate::aws::call::{call_with_retries, CallSite, RetryBudget};
use crate::config::{redact_userinfo, Config, TrailLogs};
use crate::error::AwsFailure;
use crate::error::{Error, Service};

/// S3 serves thousands of requests per second per prefix: the pacer only spaces retries and
/// backs everyone off on `SlowDown`.
const S3_REQUESTS_PER_SECOND: f64 = 1000.0;

/// Everything needed to read the trail's bucket.
#[derive(Clone)]
pub struct BucketClient {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub region: String,
    pub pacer: Arc<Pacer>,
    pub endpoint: String,
    /// Cancelled when stdout is closed: no call starts after it.
    pub stop: CancellationToken,
    /// S3's own clock: the latest `Date` its answers gave (epoch seconds; 0 before any).
    pub server_clock: Arc<ServerClock>,
}

/// The latest `Date` header of S3's answers. Object times (`LastModified`) are S3's clock, so
/// the windows they are compared with are taken from it too, never from the connector's.
#[derive(Debug, Default)]
pub struct ServerClock(AtomicI64);

impl ServerClock {
    /// Epoch seconds of the latest `Date` seen, if any answer had one.
    pub fn now(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Acquire)).filter(|t| *t > 0)
    }

    fn saw(&self, date: &str) {
        if let Ok(t) = DateTime::from_str(date.trim(), Format::HttpDate) {
            self.0.fetch_max(t.secs(), Ordering::AcqRel);
        }
    }
}

impl Intercept for ClockReader {
    fn name(&self) -> &'static str {
        "ClockReader"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            self.0.saw(date);
        }
        Ok(())
    }
}

/// The client's interceptor that keeps `ServerClock` up to date.
#[derive(Debug)]
struct ClockReader(Arc<ServerClock>);

/// A listed object: its key (relative to the listed prefix) and when it landed, by S3's clock
/// (`LastModified`, epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub landed: i64,
}

/// The objects of a listing page under `prefix`, their keys relative to it.
pub fn listed_under(page: &ListObjectsV2Output, prefix: &str) -> Vec<Listed> {
    page.contents()
        .iter()
        .filter_map(|o| {
            Some(Listed {
                key: o.key()?.strip_prefix(prefix)?.to_string(),
                landed: o.last_modified().map_or(0, |t| t.secs()),
            })
        })
        .collect()
}

/// What one ListObjectsV2 call asks for, besides the prefix.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Group keys into sub-folders (`/`).
    pub folders_only: bool,
    pub start_after: Option<String>,
    pub max_keys: Option<i32>,
    /// The token of the page to fetch (none: the first).
    pub page: Option<String>,
}

impl BucketClient {
    /// One page of ListObjectsV2 under `prefix`, through the retry layer, with the token of the
    /// next page (none after the last).
    pub async fn list_page(
        &self,
        prefix: &str,
        listing: &Listing,
        budget: RetryBudget,
    ) -> Result<(ListObjectsV2Output, Option<String>), AwsFailure> {
        let site = self.site("ListObjectsV2", Some(prefix));
        let request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_delimiter(listing.folders_only.then(|| "/".to_string()))
            .set_start_after(listing.start_after.clone())
            .set_max_keys(listing.max_keys)
            .set_continuation_token(listing.page.clone());
        let page = call_with_retries(
            &self.pacer,
            &self.stop,
            budget,
            &site,
            |_, _| {},
            || request.clone().send(),
        )
        .await?;
        let next = match page.is_truncated() {
            Some(true) => page.next_continuation_token().map(String::from),
            _ => None,
        };
        Ok((page, next))
    }

    /// The call site of `call` on `key` (or the bucket), for retries and messages.
    pub fn site(&self, call: &'static str, key: Option<&str>) -> CallSite {
        CallSite {
            service: Service::S3,
            account: None,
            region: self.region.clone(),
            call,
            endpoint: self.endpoint.clone(),
            target: Some(format!("s3://{}/{}", self.bucket, key.unwrap_or(""))),
        }
    }
}

/// The endpoint given in the config or by the SDK's variables, if any (as given: the client's).
fn custom_endpoint(logs: &TrailLogs) -> Option<String> {
    logs.endpoint_url.clone().or_else(|| {
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|u| !u.trim().is_empty())
    })
}

/// Resolves the bucket's credentials once and builds its client.
pub async fn connect_bucket(
    config: &Config,
    logs: &TrailLogs,
    stop: CancellationToken,
) -> Result<BucketClient, Error> {
    let source = logs.credentials.as_ref().unwrap_or(&config.credentials);
    let fields = if logs.credentials.is_some() {
        "trail_logs.aws_key_id and trail_logs.aws_secret_key"
    } else {
        "aws_key_id and aws_secret_key (or trail_logs.aws_key_id and trail_logs.aws_secret_key)"
    };
    let (sdk, provider) =
        credentials(source, logs.role.as_ref(), &logs.bucket_region, fields).await?;
    let server_clock = Arc::new(ServerClock::default());
    let mut builder = aws_sdk_s3::config::Builder::from(&sdk)
        .interceptor(ClockReader(server_clock.clone()))
        .region(Region::new(logs.bucket_region.clone()))
        .credentials_provider(provider)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts());
    let endpoint = match custom_endpoint(logs) {
        Some(url) => {
            // S3-compatible servers and VPC endpoints rarely serve bucket subdomains.
            builder = builder.endpoint_url(&url).force_path_style(true);
            redact_userinfo(&url).into_owned()
        }
        None => format!(
            "https://s3.{}.{}",
            logs.bucket_region,
            super::dns_suffix(&logs.bucket_region)
        ),
    };
    if logs.requester_pays {
        builder = builder.interceptor(super::requester_pays::RequesterPays);
    }
    Ok(BucketClient {
        client: aws_sdk_s3::Client::from_conf(builder.build()),
        bucket: logs.bucket.clone(),
        region: logs.bucket_region.clone(),
        pacer: Arc::new(Pacer::new(S3_REQUESTS_PER_SECOND)),
        endpoint,
        stop,
        server_clock,
    })
}

/// `logs` with the bucket and prefix of `trail_logs.trail` when no bucket is configured, found
/// with DescribeTrails (shadow trails included) in the ARN's region, else the first configured
/// region; the bucket's region defaults to the trail's home region.
/// `budget`: `check`'s short one, or a sync's.
pub async fn resolve_trail(
    config: &Config,
    logs: &TrailLogs,
    budget: RetryBudget,
    stop: CancellationToken,
) -> Result<TrailLogs, Error> {
    let Some(trail) = logs.trail.as_deref().filter(|_| logs.bucket.is_empty()) else {
        return Ok(logs.clone());
    };
    // The base credentials' own call: no organization's member role is needed for it.
    let base = super::connect_base(config, stop).await?;
    let region = crate::config::trail_arn_region(trail).unwrap_or(&config.regions[0]);
    let client = base.in_region(region, config);
    let site = CallSite {
        service: Service::CloudTrail,
        account: None,
        region: region.to_string(),
        call: "DescribeTrails",
        endpoint: client.endpoint.clone(),
        target: Some(format!("trail {trail}")),
    };
    let request = client
        .client
        .describe_trails()
        .trail_name_list(trail)
        .include_shadow_trails(true);
    let found = call_with_retries(
        &client.control_pacer,
        &client.stop,
        budget,
        &site,
        |_, _| {},
        || request.clone().send(),
    )
    .await
    .map_err(Error::aws)?;
    let described = found
        .trail_list()
        .iter()
        .find(|t| t.name() == Some(trail) || t.trail_arn() == Some(trail))
        .ok_or_else(|| {
            Error::config(format!(
                "trail_logs.trail: no trail {trail} is visible from {region} (DescribeTrails): check the name, or give its ARN, or set trail_logs.bucket"
            ))
        })?;
    let bucket = described.s3_bucket_name().unwrap_or_default().to_string();
    if bucket.is_empty() {
        return Err(Error::config(format!(
            "trail_logs.trail: DescribeTrails gives no S3 bucket for {trail}: set trail_logs.bucket"
        )));
    }
    // The rule trail_logs.bucket passes, for the bucket the trail names.
    if !crate::config::is_bucket_name(&bucket) {
        return Err(Error::config(format!(
            "trail_logs.trail: DescribeTrails gives '{}' as the S3 bucket of {trail}, which is not {}: set trail_logs.bucket",
            bucket.chars().take(300).collect::<String>().escape_default(),
            crate::config::BUCKET_NAME_RULE
        )));
    }
    let mut resolved = logs.clone();
    resolved.bucket = bucket;
    resolved.prefix = described
        .s3_key_prefix()
        .unwrap_or_default()
        .trim_matches('/')
        .to_string();
    if !logs.bucket_region_given {
        if let Some(home) = described.home_region() {
            resolved.bucket_region = home.to_string();
        }
    }
    Ok(resolved)
}
