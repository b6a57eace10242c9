//! The request log: when each AWS request (CloudTrail or STS; the control API is not AWS) arrived
//! and what it asked for, so that a test can tell when a client stopped calling.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::emulator::Emulator;

/// How many requests the log keeps: the latest ones, so that a long benchmark cannot grow it
/// without bound while a test still sees everything a sync did.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

/// One request as it arrived, before authentication and before any fault knob acted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSeen {
    /// Epoch seconds, on the clock of [`crate::now`], when its headers arrived.
    pub at: f64,
    /// `LookupEvents`, `DescribeTrails`, `AssumeRole`, …; "" when the request names none.
    pub action: String,
    /// The region its signature claims; "" when unsigned.
    pub region: String,
}

pub(crate) struct RequestLog {
    seen: Mutex<VecDeque<RequestSeen>>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::with_capacity(REQUEST_LOG_CAPACITY)
    }
}

impl RequestLog {
    fn with_capacity(capacity: usize) -> Self {
        RequestLog {
            seen: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    pub(crate) fn push(&self, request: RequestSeen) {
        let mut seen = self.seen.lock().unwrap();
        if seen.len() == self.capacity {
            seen.pop_front();
        }
        seen.push_back(request);
    }

    fn all(&self) -> Vec<RequestSeen> {
        self.seen.lock().unwrap().iter().cloned().collect()
    }
}

impl Emulator {
    /// The AWS requests served so far (the latest [`REQUEST_LOG_CAPACITY`]), oldest first.
    pub fn requests(&self) -> Vec<RequestSeen> {
        self.inner.requests.all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(at: f64) -> RequestSeen {
        RequestSeen {
            at,
            action: "LookupEvents".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn keeps_the_latest_requests_oldest_first() {
        let log = RequestLog::with_capacity(3);
        for t in 0..5 {
            log.push(seen(t as f64));
        }
        let at: Vec<f64> = log.all().iter().map(|r| r.at).collect();
        assert_eq!(at, [2.0, 3.0, 4.0]);
    }

    #[test]
    fn the_default_log_is_bounded() {
        let log = RequestLog::default();
        for t in 0..REQUEST_LOG_CAPACITY + 10 {
            log.push(seen(t as f64));
        }
        let all = log.all();
        assert_eq!(all.len(), REQUEST_LOG_CAPACITY);
        assert_eq!(all[0].at, 10.0);
    }
}
