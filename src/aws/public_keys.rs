//! The public keys that check digest signatures: `ListPublicKeys` in each digest's region (keys
//! are per region), asked once per region and day of digests and kept for the sync.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_cloudtrail::primitives::DateTime;
use tokio::sync::Mutex;

use super::call::RetryBudget;
use super::{Quota, RegionClient};
use crate::config::Config;
use crate::error::AwsFailure;
use crate::time::DAY_SECS;

/// A public key of `ListPublicKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub fingerprint: String,
    pub der: Vec<u8>,
    /// Epoch seconds.
    pub valid_from: i64,
    pub valid_to: i64,
}

/// Keys are asked for whole days, and this much beyond: a digest is signed after its end.
const MARGIN_SECS: i64 = 2 * 3600;

/// What `ListPublicKeys` gave for a region and day.
type KeysOfDay = Result<Arc<Vec<PublicKey>>, AwsFailure>;

/// The keys of every region asked for, built from one region's client (same credentials and
/// endpoint settings).
pub struct KeyRing {
    base: RegionClient,
    config: Config,
    clients: std::sync::Mutex<HashMap<String, RegionClient>>,
    /// (region, day) → the keys valid at some time that day.
    days: Mutex<HashMap<(String, i64), KeysOfDay>>,
}

impl KeyRing {
    pub fn new(base: RegionClient, config: &Config) -> KeyRing {
        KeyRing {
            base,
            config: config.clone(),
            clients: std::sync::Mutex::new(HashMap::new()),
            days: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: &str) -> RegionClient {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| self.base.in_region(region, &self.config))
            .clone()
    }

    /// The keys of `region` valid at some time of the day of `at` (epoch seconds).
    pub async fn keys(&self, region: &str, at: i64) -> Result<Arc<Vec<PublicKey>>, AwsFailure> {
        let day = at.div_euclid(DAY_SECS);
        let mut days = self.days.lock().await;
        if let Some(known) = days.get(&(region.to_string(), day)) {
            return known.clone();
        }
        let from = day * DAY_SECS - MARGIN_SECS;
        let to = (day + 1) * DAY_SECS + MARGIN_SECS;
        let listed = list_public_keys(&self.client(region), from, to, RetryBudget::SYNC)
            .await
            .map(Arc::new);
        days.insert((region.to_string(), day), listed.clone());
        listed
    }
}

/// Every key `ListPublicKeys` gives for [from, to] (epoch seconds).
pub async fn list_public_keys(
    client: &RegionClient,
    from: i64,
    to: i64,
    budget: RetryBudget,
) -> Result<Vec<PublicKey>, AwsFailure> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    // A handful of keys per region: a token that keeps coming back is not followed forever.
    for _ in 0..100 {
        let request = client
            .client
            .list_public_keys()
            .start_time(DateTime::from_secs(from))
            .end_time(DateTime::from_secs(to))
            .set_next_token(token.clone());
        let page = client
            .call("ListPublicKeys", Quota::Control, budget, || {
                request.clone().send()
            })
            .await?;
        for key in page.public_key_list() {
            let (Some(fingerprint), Some(value)) = (key.fingerprint(), key.value()) else {
                continue;
            };
            keys.push(PublicKey {
                fingerprint: fingerprint.to_string(),
                der: value.as_ref().to_vec(),
                valid_from: key.validity_start_time().map_or(i64::MIN, DateTime::secs),
                valid_to: key.validity_end_time().map_or(i64::MAX, DateTime::secs),
            });
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    Ok(keys)
}
