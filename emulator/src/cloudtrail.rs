//! The CloudTrail actions: LookupEvents over the event store and the trail operations, behind the
//! per-key permissions and the fault knobs, counted per region.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::emulator::{now, scope_key, Emulator};
use crate::faults::Dropped;
use crate::http::{json_error, response};
use crate::records::ACCOUNT;
use crate::sigv4::SignedScope;
use crate::store::{ApiError, LookupRequest};
use crate::trails;

/// The action an `X-Amz-Target` names, e.g. `LookupEvents` for
/// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`.
pub(crate) fn operation(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or("")
}

/// Per-region request counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegionStats {
    pub requests: u64,
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub dropped: u64,
    pub events_returned: u64,
    /// Epoch seconds of the first and last successful call, to measure the sustained rate.
    pub first_ok_at: Option<f64>,
    pub last_ok_at: Option<f64>,
}

impl Emulator {
    pub fn stats(&self) -> HashMap<String, RegionStats> {
        self.inner.stats.lock().unwrap().clone()
    }

    fn count(&self, region: &str, f: impl FnOnce(&mut RegionStats)) {
        f(self
            .inner
            .stats
            .lock()
            .unwrap()
            .entry(region.to_string())
            .or_default());
    }

    /// Answers an authenticated CloudTrail call to `target` (its `X-Amz-Target`); `Err` drops
    /// the connection.
    pub(crate) async fn cloudtrail(
        &self,
        scope: &SignedScope,
        target: &str,
        body: &[u8],
    ) -> Result<Response<Full<Bytes>>, Dropped> {
        let account = self.account_of(&scope.access_key_id);
        let key = scope_key(&account, &scope.region);
        let region = key.as_str();
        let operation = operation(target);
        self.count(region, |s| s.requests += 1);
        if let Err(dropped) = self.drop_or_delay(&scope.region).await {
            self.count(region, |s| s.dropped += 1);
            return Err(dropped);
        }
        if self.denied(&scope.access_key_id, operation, &scope.region) {
            self.count(region, |s| s.errors += 1);
            return Ok(json_error(StatusCode::BAD_REQUEST, &ApiError {
                code: "AccessDeniedException",
                message: format!("User: arn:aws:sts::{account}:assumed-role/emulated is not authorized to perform: cloudtrail:{operation} because no identity-based policy allows the cloudtrail:{operation} action"),
            }));
        }
        if let Err(e) = self.throttle(region, operation) {
            self.count(region, |s| s.throttled += 1);
            return Ok(json_error(StatusCode::BAD_REQUEST, &e));
        }
        if let Some((status, e)) = self.server_error() {
            self.count(region, |s| s.errors += 1);
            return Ok(json_error(status, &e));
        }
        let answer = match self.answer(&account, &scope.region, target, body) {
            Ok(answer) => answer,
            Err(e) => {
                self.count(region, |s| s.errors += 1);
                return Ok(json_error(StatusCode::BAD_REQUEST, &e));
            }
        };
        let answer = match self.garble(&answer) {
            Some(garbled) => {
                self.count(region, |s| s.errors += 1);
                garbled
            }
            None => {
                let n = answer.matches("\"EventId\"").count() as u64;
                let t = now();
                self.count(region, |s| {
                    s.ok += 1;
                    s.events_returned += n;
                    s.first_ok_at.get_or_insert(t);
                    s.last_ok_at = Some(t);
                });
                answer
            }
        };
        Ok(response(
            StatusCode::OK,
            "application/x-amz-json-1.1",
            answer,
        ))
    }

    fn answer(
        &self,
        account: &str,
        region: &str,
        target: &str,
        body: &[u8],
    ) -> Result<String, ApiError> {
        let operation = operation(target);
        if operation != "LookupEvents" {
            // Every account has the same trails, under its own id.
            let body = String::from_utf8_lossy(body).replace(account, ACCOUNT);
            let params = serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
            if operation == "ListPublicKeys" {
                let extra = self.inner.extra_public_keys.lock().unwrap().clone();
                return Ok(crate::digests::list_public_keys_with(
                    &params,
                    now() as i64,
                    &extra,
                ));
            }
            let answer = trails::answer(operation, region, &params, now() as i64);
            return answer
                .unwrap_or_else(|| {
                    Err(ApiError {
                        code: "UnknownOperationException",
                        message: format!("Unknown operation {target}"),
                    })
                })
                .map(|a| a.replace(ACCOUNT, account));
        }
        let mut lookup = serde_json::from_slice::<LookupRequest>(body).map_err(|e| ApiError {
            code: "SerializationException",
            message: e.to_string(),
        })?;
        if lookup.next_token.is_some() && self.expire_token() {
            return Err(ApiError {
                code: "InvalidNextTokenException",
                message: "The token has expired.".into(),
            });
        }
        if let (Some(token), true) = (
            &lookup.next_token,
            self.inner.faults.knobs().repeat_next_token,
        ) {
            return Ok(serde_json::json!({"Events": [], "NextToken": token}).to_string());
        }
        if self.inner.faults.knobs().ignore_time_range {
            (lookup.start_time, lookup.end_time) = (None, None);
        }
        let store = self.inner.store.read().unwrap();
        store.lookup(&scope_key(account, region), &lookup, now())
    }
}
