//! `check`: one real LookupEvents call (MaxResults=1, with the configured filter) per region;
//! every problem a person can fix is a FAILED status that says what to fix.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::{runtime, Outcome};
use crate::aws::call::{call_with_retries, CallSite, RetryBudget};
use crate::aws::{self, RegionClient};
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::{AwsFailure, AwsProblem, Error, FailureType, Service};
use crate::protocol::{ConnectionStatus, Message, Status};
use crate::streams::lookup::read::lookup_attribute;
use crate::streams::lookup::{INSIGHT_EVENTS, MANAGEMENT_EVENTS};
use crate::streams::{trail_digests, trail_events, trail_logs, trails};

pub fn check(config: &Path, emitter: &Emitter) -> Result<Outcome, Error> {
    let status = match Config::load(config) {
        Err(e) => Err(e.to_string()),
        Ok(config) => runtime()?.block_on(check_all(&config))?,
    };
    let (status, message) = match status {
        Ok(message) => (Status::Succeeded, message),
        Err(message) => (Status::Failed, message),
    };
    emitter.send(&Message::ConnectionStatus {
        connection_status: ConnectionStatus { status, message },
    });
    Ok(Outcome::Success)
}

/// The LookupEvents streams and trails in every region, then the trail's bucket when
/// `trail_logs` is set: configured explicitly, it must be readable.
async fn check_all(config: &Config) -> Result<Result<String, String>, Error> {
    let lookup = check_regions(config).await?;
    let Some(logs) = &config.trail_logs else {
        return Ok(lookup);
    };
    let logs = &match aws::s3::resolve_trail(config, logs, CancellationToken::new()).await {
        Ok(l) => l,
        Err(e) if e.failure_type() != FailureType::System => {
            return Ok(Err(format!("{}: {e}", trail_events::NAME)))
        }
        Err(e) => return Err(e),
    };
    let resolved = match (
        &logs.trail,
        config
            .trail_logs
            .as_ref()
            .is_some_and(|l| l.bucket.is_empty()),
    ) {
        (Some(trail), true) => format!(
            "trail_logs.trail {trail} resolved to s3://{}/{}. ",
            logs.bucket,
            logs.root()
        ),
        _ => String::new(),
    };
    let bucket = match aws::s3::connect_bucket(config, logs, CancellationToken::new()).await {
        Ok(b) => b,
        Err(e) if e.failure_type() != FailureType::System => {
            return Ok(Err(format!("{}: {e}", trail_events::NAME)))
        }
        Err(e) => return Err(e),
    };
    let trail = match trail_logs::probe(trail_events::NAME, &bucket, logs).await {
        Err(f) => Err(format!("{}: {f}", trail_events::NAME)),
        Ok(found) => Ok(match aws::connect(config, CancellationToken::new()).await {
            Ok(clients) => {
                let digests =
                    trail_logs::digests::probe(trail_digests::NAME, &bucket, logs, &clients[0])
                        .await;
                format!("{found}. {digests}")
            }
            Err(_) => found,
        }),
    };
    Ok(match (lookup, trail) {
        (_, Err(t)) => Err(format!("{resolved}{t}")),
        (Ok(l), Ok(t)) => Ok(format!("{l}. {resolved}{t}")),
        (Err(l), Ok(t)) => Ok(format!("{resolved}{t}. Other streams NOT readable: {l}")),
    })
}

/// `Ok(Ok(message))` when at least one stream is readable everywhere; `Ok(Err(message))` for what the user must fix
/// or retry; `Err` only for defects.
async fn check_regions(config: &Config) -> Result<Result<String, String>, Error> {
    let clients = match aws::connect(config, CancellationToken::new()).await {
        Ok(c) => c,
        Err(e) if e.failure_type() != FailureType::System => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let filter = lookup_attribute(config, &MANAGEMENT_EVENTS);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(probe(client, filter.clone())))
        .collect();
    // Per stream: the failures of its probe. A missing permission only takes its stream out;
    // anything else (credentials, network, a bad filter) fails the check.
    let (mut events_denied, mut trails_denied, mut fatal) = (vec![], vec![], vec![]);
    let mut regions = Vec::new();
    for task in tasks {
        let (region, events, trails) = task
            .await
            .map_err(|e| Error::Internal(format!("check task failed: {e}")))?;
        regions.push(region);
        for (result, denied) in [(events, &mut events_denied), (trails, &mut trails_denied)] {
            match result {
                Ok(()) => {}
                Err(f) if f.problem == AwsProblem::AccessDenied => denied.push(f.to_string()),
                Err(f) => fatal.push(f.to_string()),
            }
        }
    }
    if !fatal.is_empty() {
        return Ok(Err(fatal.join("; ")));
    }
    let events_streams = format!("{}, {}", MANAGEMENT_EVENTS.name, INSIGHT_EVENTS.name);
    let line = |streams: &str, denied: &[String]| match denied {
        [] => format!("{streams}: readable in {}", regions.join(", ")),
        _ => format!("{streams}: NOT readable: {}", denied.join("; ")),
    };
    let message = format!(
        "{}. {}",
        line(&events_streams, &events_denied),
        line(trails::NAME, &trails_denied)
    );
    if !events_denied.is_empty() && !trails_denied.is_empty() {
        Ok(Err(message))
    } else {
        Ok(Ok(message))
    }
}

/// One LookupEvents call (MaxResults=1, with the filter) and one DescribeTrails call in a region.
async fn probe(
    client: RegionClient,
    filter: Option<aws_sdk_cloudtrail::types::LookupAttribute>,
) -> (String, Result<(), AwsFailure>, Result<(), AwsFailure>) {
    let site = |call| CallSite {
        service: Service::CloudTrail,
        target: None,
        region: client.region.clone(),
        call,
        endpoint: client.endpoint.clone(),
    };
    let request = client
        .client
        .lookup_events()
        .max_results(1)
        .set_lookup_attributes(filter.map(|a| vec![a]));
    let events = call_with_retries(
        &client.pacer,
        &client.stop,
        RetryBudget::CHECK,
        &site("LookupEvents"),
        |_, _| {},
        || request.clone().send(),
    )
    .await
    .map(|_| ());
    let request = client.client.describe_trails().include_shadow_trails(false);
    let trails = call_with_retries(
        &client.control_pacer,
        &client.stop,
        RetryBudget::CHECK,
        &site("DescribeTrails"),
        |_, _| {},
        || request.clone().send(),
    )
    .await
    .map(|_| ());
    (client.region.clone(), events, trails)
}
