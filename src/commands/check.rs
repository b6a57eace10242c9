//! `check`: one real LookupEvents call (MaxResults=1, with the configured filter) per region;
//! every problem a person can fix is a FAILED status that says what to fix.

use std::path::Path;

use serde_json::json;

use super::{runtime, Outcome};
use crate::aws::call::{call_with_retries, CallSite, RetryBudget};
use crate::aws::{self, RegionClient};
use crate::config::Config;
use crate::emit::Emitter;
use crate::error::{AwsFailure, Error, FailureType};
use crate::streams::lookup::lookup_attribute;
use crate::streams::MANAGEMENT_EVENTS;

pub fn check(config: &Path, emitter: &Emitter) -> Result<Outcome, Error> {
    let status = match Config::load(config) {
        Err(e) => Err(e.to_string()),
        Ok(config) => runtime()?.block_on(check_regions(&config))?,
    };
    let (status, message) = match status {
        Ok(message) => ("SUCCEEDED", message),
        Err(message) => ("FAILED", message),
    };
    emitter.message(&json!({"type": "CONNECTION_STATUS", "connectionStatus": {"status": status, "message": message}}));
    Ok(Outcome::Success)
}

/// `Ok(Ok(message))` when every region answers; `Ok(Err(message))` for what the user must fix
/// or retry; `Err` only for defects.
async fn check_regions(config: &Config) -> Result<Result<String, String>, Error> {
    let clients = match aws::connect(config).await {
        Ok(c) => c,
        Err(e) if e.failure_type() != FailureType::System => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let filter = lookup_attribute(config, &MANAGEMENT_EVENTS);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(probe(client, filter.clone())))
        .collect();
    let mut failures = Vec::new();
    let mut regions = Vec::new();
    for task in tasks {
        match task
            .await
            .map_err(|e| Error::Internal(format!("check task failed: {e}")))?
        {
            Ok(region) => regions.push(region),
            Err(f) => failures.push(f.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(Ok(format!(
            "LookupEvents answers in {}",
            regions.join(", ")
        )))
    } else {
        Ok(Err(failures.join("; ")))
    }
}

async fn probe(
    client: RegionClient,
    filter: Option<aws_sdk_cloudtrail::types::LookupAttribute>,
) -> Result<String, AwsFailure> {
    let site = CallSite {
        region: client.region.clone(),
        call: "LookupEvents",
        endpoint: client.endpoint.clone(),
    };
    let request = client
        .client
        .lookup_events()
        .max_results(1)
        .set_lookup_attributes(filter.map(|a| vec![a]));
    call_with_retries(
        &client.pacer,
        RetryBudget::CHECK,
        &site,
        |_, _| {},
        || request.clone().send(),
    )
    .await?;
    Ok(client.region)
}
