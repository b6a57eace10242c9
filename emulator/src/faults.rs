//! The fault knobs: per-region throttling and throttle storms, 5xx answers, dropped connections,
//! delays and slow calls, expired NextTokens, garbled bodies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use crate::emulator::{now, Emulator};
use crate::store::ApiError;

/// Fault knobs, settable at start and at run time (`POST /_emulator/faults`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// LookupEvents quota per account and region (AWS: 2); `None` turns throttling off.
    pub throttle_rps: Option<f64>,
    /// Every LookupEvents call is throttled for this many seconds from the first one after the knob
    /// is set (not from setting it: a test's connector may start late on a loaded machine).
    pub throttle_storm_secs: f64,
    /// Share of calls answered with a 500 or 503.
    pub error_5xx_rate: f64,
    /// Share of calls whose connection is dropped without an answer.
    pub drop_rate: f64,
    /// Every call is answered this much later.
    pub delay_ms: u64,
    /// Regions whose calls are all dropped, as if unreachable.
    pub unreachable_regions: Vec<String>,
    /// The next N LookupEvents calls that carry a NextToken are told it expired.
    pub expire_next_tokens: u32,
    /// The next N calls are answered after `slow_call_ms`.
    pub slow_next_calls: u32,
    pub slow_call_ms: u64,
    /// The next N successful answers are garbled: cut in half, or an HTML page, with status 200.
    pub garble_next_bodies: u32,
    /// LookupEvents ignores StartTime and EndTime: every window gets every event.
    pub ignore_time_range: bool,
    /// A LookupEvents call with a NextToken is answered with no events and the same NextToken:
    /// an endpoint that pages forever.
    pub repeat_next_token: bool,
}

/// Faults that happen a given number of times, counted down as they happen.
#[derive(Debug, Default)]
struct OneShots {
    expire_tokens: u32,
    slow_calls: u32,
    garbled_bodies: u32,
}

impl OneShots {
    fn armed_by(faults: &Faults) -> Self {
        OneShots {
            expire_tokens: faults.expire_next_tokens,
            slow_calls: faults.slow_next_calls,
            garbled_bodies: faults.garble_next_bodies,
        }
    }
}

fn take(counter: &mut u32) -> bool {
    let hit = *counter > 0;
    *counter = counter.saturating_sub(1);
    hit
}

struct Bucket {
    tokens: f64,
    at: f64,
}

/// The knobs in force, the first LookupEvents call since they were set (storms count from it), and
/// what they have used up.
pub(crate) struct FaultState {
    knobs: Mutex<(Faults, Option<f64>)>,
    buckets: Mutex<HashMap<String, Bucket>>,
    one_shots: Mutex<OneShots>,
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        FaultState {
            one_shots: Mutex::new(OneShots::armed_by(&faults)),
            knobs: Mutex::new((faults, None)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn knobs(&self) -> Faults {
        self.knobs.lock().unwrap().0.clone()
    }

    /// Token bucket per region with a burst of one second's worth, like AWS's per-second quota.
    fn admit(&self, region: &str) -> bool {
        let t = now();
        let (faults, storm_from) = {
            let mut knobs = self.knobs.lock().unwrap();
            let storm_from = *knobs.1.get_or_insert(t);
            (knobs.0.clone(), storm_from)
        };
        if t < storm_from + faults.throttle_storm_secs {
            return false;
        }
        let Some(rps) = faults.throttle_rps else {
            return true;
        };
        let burst = rps.max(1.0);
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.entry(region.to_string()).or_insert(Bucket {
            tokens: burst,
            at: t,
        });
        b.tokens = (b.tokens + (t - b.at) * rps).min(burst);
        b.at = t;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the knobs did to a call that gets no answer at all.
pub(crate) struct Dropped;

impl Emulator {
    pub fn set_faults(&self, faults: Faults) {
        let state = &self.inner.faults;
        *state.one_shots.lock().unwrap() = OneShots::armed_by(&faults);
        *state.knobs.lock().unwrap() = (faults, None);
    }

    fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.inner.rng.lock().unwrap().unit() < p
    }

    /// The faults that strike before a call is looked at: dropped connections, then delays.
    pub(crate) async fn drop_or_delay(&self, region: &str) -> Result<(), Dropped> {
        let faults = self.inner.faults.knobs();
        if faults.unreachable_regions.iter().any(|r| r == region) || self.chance(faults.drop_rate) {
            return Err(Dropped);
        }
        if faults.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
        }
        if take(&mut self.inner.faults.one_shots.lock().unwrap().slow_calls) {
            tokio::time::sleep(Duration::from_millis(faults.slow_call_ms)).await;
        }
        Ok(())
    }

    /// Throttling, which only LookupEvents has: control-plane calls have quotas of their own.
    pub(crate) fn throttle(&self, region: &str, operation: &str) -> Result<(), ApiError> {
        if operation != "LookupEvents" || self.inner.faults.admit(region) {
            return Ok(());
        }
        Err(ApiError {
            code: "ThrottlingException",
            message: "Rate exceeded".into(),
        })
    }

    /// A 500 or a 503, at the knob's rate.
    pub(crate) fn server_error(&self) -> Option<(StatusCode, ApiError)> {
        let faults = self.inner.faults.knobs();
        if !self.chance(faults.error_5xx_rate) {
            return None;
        }
        let (status, code) = if self.chance(0.5) {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure")
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
        };
        let message = "Service is unavailable".into();
        Some((status, ApiError { code, message }))
    }

    /// Whether a LookupEvents call with a NextToken is told that the token expired.
    pub(crate) fn expire_token(&self) -> bool {
        take(&mut self.inner.faults.one_shots.lock().unwrap().expire_tokens)
    }

    /// The garbled form of a successful answer, when one is due: an HTML error page and half a
    /// body in turn, the two ways a proxy breaks JSON.
    pub(crate) fn garble(&self, body: &str) -> Option<String> {
        let mut shots = self.inner.faults.one_shots.lock().unwrap();
        if !take(&mut shots.garbled_bodies) {
            return None;
        }
        Some(if shots.garbled_bodies.is_multiple_of(2) {
            "<html><body>502 Bad Gateway</body></html>".to_string()
        } else {
            body[..body.floor_char_boundary(body.len() / 2)].to_string()
        })
    }
}
