//! `check`: one real LookupEvents call (MaxResults=1, with the configured filter) per region (of
//! every account of an organization, or of a sample of a large one); every problem a person can
//! fix or retry is a FAILED status that says what, within `check`'s short retry budget, and an
//! organization's check counts the readable accounts and names the others.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{runtime, Outcome};
use crate::aws::call::RetryBudget;
use crate::aws::{self, Quota, Reach, RegionClient};
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::{AwsFailure, AwsProblem, Error};
use crate::protocol::{ConnectionStatus, Message, Status};
use crate::streams::lookup::read::lookup_attribute;
use crate::streams::lookup::{INSIGHT_EVENTS, MANAGEMENT_EVENTS};
use crate::streams::{trail_digests, trail_events, trail_logs, trails};

/// Regions (of accounts) probed at once.
const PROBES_AT_ONCE: usize = 64;
/// Accounts of an organization whose member role `check` assumes, spread over the organization
/// (all of them when it has no more): a few seconds of STS calls, however large it is.
const ACCOUNTS_SAMPLED: usize = 16;

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

/// Whether a failure is an answer for `check` to give (FAILED, saying what to fix or retry)
/// rather than a defect of the connector: every AWS failure is, whatever its class (a proxy's
/// page, an answer no AWS service sends: the person checks the endpoint).
fn answerable(e: &Error) -> bool {
    !matches!(e, Error::Internal(_) | Error::Output(_))
}

/// The LookupEvents streams and trails in every region, then the trail's bucket when
/// `trail_logs` is set: configured explicitly, it must be readable.
async fn check_all(config: &Config) -> Result<Result<String, String>, Error> {
    let lookup = check_regions(config).await?;
    let Some(logs) = &config.trail_logs else {
        return Ok(lookup);
    };
    let stop = CancellationToken::new();
    let logs = &match aws::s3::resolve_trail(config, logs, RetryBudget::CHECK, stop.clone()).await {
        Ok(l) => l,
        Err(e) if answerable(&e) => return Ok(Err(format!("{}: {e}", trail_events::NAME))),
        Err(e) => return Err(e),
    };
    let bucket = match aws::s3::connect_bucket(config, logs, stop.clone()).await {
        Ok(b) => b,
        Err(e) if answerable(&e) => return Ok(Err(format!("{}: {e}", trail_events::NAME))),
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
            "trail_logs.trail {trail} resolved to s3://{}/{} in {} ({}). ",
            logs.bucket,
            logs.root(),
            logs.bucket_region,
            bucket.endpoint
        ),
        _ => String::new(),
    };
    let trail = match trail_logs::probe(trail_events::NAME, &bucket, logs).await {
        Err(f) => Err(format!("{}: {f}", trail_events::NAME)),
        // Public keys are the base credentials' call: no member role is assumed for them.
        Ok(found) => Ok(match aws::connect_base(config, stop).await {
            Ok(base) => {
                let keys = base.in_region(&config.regions[0], config);
                let digests =
                    trail_logs::digests::probe(trail_digests::NAME, &bucket, logs, &keys).await;
                format!("{found}. {digests}")
            }
            _ => found,
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
    let reach = Reach::Sample(ACCOUNTS_SAMPLED);
    let connection = match aws::connect(config, reach, CancellationToken::new()).await {
        Ok(c) => c,
        Err(e) if answerable(&e) => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let filter = lookup_attribute(config, &MANAGEMENT_EVENTS);
    let at_once = Arc::new(tokio::sync::Semaphore::new(PROBES_AT_ONCE));
    let organization = config.organization.is_some();
    let tasks: Vec<_> = connection
        .clients
        .into_iter()
        .map(|client| {
            let (filter, at_once) = (filter.clone(), at_once.clone());
            tokio::spawn(async move {
                let _permit = at_once.acquire_owned().await;
                probe(client, filter).await
            })
        })
        .collect();
    if organization {
        let accounts = Sampled {
            total: connection.accounts,
            sampled: connection.sampled,
            more: connection.more_accounts,
            warnings: connection.warnings,
        };
        return check_accounts(config, accounts, connection.unreadable, tasks).await;
    }
    // Per stream: the failures of its probe. A missing permission only takes its stream out;
    // anything else (credentials, network, a bad filter) fails the check.
    let (mut events_denied, mut trails_denied, mut fatal) = (vec![], vec![], vec![]);
    let mut regions = Vec::new();
    for task in tasks {
        let (_, (region, events, trails)) = task
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
        // A wrong key fails both probes of a region in the same words: said once.
        let mut said = HashSet::new();
        fatal.retain(|m| said.insert(m.clone()));
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

/// The accounts of an organization `check` probed.
struct Sampled {
    /// The accounts to read (a lower bound when `more`).
    total: usize,
    /// Those whose member role was tried.
    sampled: usize,
    /// ListAccounts had more pages than `check` reads.
    more: bool,
    warnings: Vec<String>,
}

/// What one probe found: the region, then LookupEvents' and DescribeTrails' outcomes.
type Probed = (String, Result<(), AwsFailure>, Result<(), AwsFailure>);

/// An organization is readable when one account is: the others are named with what to fix.
/// A large organization is judged by a sample of its accounts: assuming every role would take
/// longer than `check` may.
async fn check_accounts(
    config: &Config,
    accounts: Sampled,
    unreadable: Vec<Error>,
    tasks: Vec<tokio::task::JoinHandle<(Option<String>, Probed)>>,
) -> Result<Result<String, String>, Error> {
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for task in tasks {
        let (account, (_, events, trails)) = task
            .await
            .map_err(|e| Error::Internal(format!("check task failed: {e}")))?;
        let account = account.unwrap_or_default();
        for f in [events, trails].into_iter().filter_map(Result::err) {
            failed
                .entry(account.clone())
                .or_insert_with(|| f.to_string());
        }
    }
    let mut not_readable: Vec<String> = unreadable.iter().map(ToString::to_string).collect();
    not_readable.extend(failed.into_values());
    let readable = accounts.sampled.saturating_sub(not_readable.len());
    let streams = format!(
        "{}, {}, {} in {}",
        MANAGEMENT_EVENTS.name,
        INSIGHT_EVENTS.name,
        trails::NAME,
        config.regions.join(", ")
    );
    let at_least = if accounts.more { "at least " } else { "" };
    let mut message = if accounts.sampled < accounts.total || accounts.more {
        format!(
            "organization: {readable} of {} sampled accounts readable ({streams}), of {at_least}{} accounts to read; a sync reads every one and names those it cannot",
            accounts.sampled, accounts.total
        )
    } else {
        format!(
            "organization: {readable} of {} accounts readable ({streams})",
            accounts.total
        )
    };
    if !not_readable.is_empty() {
        message.push_str(&format!("; NOT readable: {}", not_readable.join("; ")));
    }
    for warning in &accounts.warnings {
        message.push_str(&format!(". {warning}"));
    }
    Ok(if readable > 0 {
        Ok(message)
    } else {
        Err(message)
    })
}

/// One LookupEvents call (MaxResults=1, with the filter) and one DescribeTrails call in a region.
async fn probe(
    client: RegionClient,
    filter: Option<aws_sdk_cloudtrail::types::LookupAttribute>,
) -> (Option<String>, Probed) {
    let request = client
        .client
        .lookup_events()
        .max_results(1)
        .set_lookup_attributes(filter.map(|a| vec![a]));
    let events = client
        .call("LookupEvents", Quota::Lookup, RetryBudget::CHECK, || {
            request.clone().send()
        })
        .await
        .map(|_| ());
    let request = client.client.describe_trails().include_shadow_trails(false);
    let trails = client
        .call("DescribeTrails", Quota::Control, RetryBudget::CHECK, || {
            request.clone().send()
        })
        .await
        .map(|_| ());
    (
        client.account.clone(),
        (client.region.clone(), events, trails),
    )
}
