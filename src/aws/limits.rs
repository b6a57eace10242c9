//! Limits on what an answer may cost: a size cap for LookupEvents bodies and a minimum
//! throughput for every body, so a hostile or broken endpoint can neither fill memory nor hold
//! a sync for hours with a body trickling under every timeout.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use tokio::time::{Instant, Sleep};

/// A LookupEvents page holds at most 50 events of at most 256 KB each; escaped as JSON strings
/// they can double. Anything larger is not CloudTrail's answer, to LookupEvents or to any other
/// call of the client (a DescribeTrails answer is a few KB a trail).
pub const LOOKUP_BODY_LIMIT: u64 = 32 * 1024 * 1024;

/// The slowest a body may arrive, on average after its grace period: a CloudTrail page at this
/// rate still arrives in minutes, a trickle of bytes per second fails within seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinThroughput {
    /// Time allowed before any byte must arrive (first byte latency, slow starts).
    pub grace: Duration,
    pub bytes_per_sec: u64,
}

impl MinThroughput {
    pub const BODIES: MinThroughput = MinThroughput {
        grace: Duration::from_secs(10),
        bytes_per_sec: 16 * 1024,
    };

    /// The time a body that delivered `bytes` may have taken.
    pub fn allowance(self, bytes: u64) -> Duration {
        self.grace + Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec.max(1) as f64)
    }

    /// When a body that started at `started` and has delivered `bytes` is too slow.
    pub fn deadline(self, started: Instant, bytes: u64) -> Instant {
        started + self.allowance(bytes)
    }
}

/// Why a body was refused while it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyLimit {
    /// Over `limit` bytes.
    TooLarge { limit: u64 },
    /// `bytes` in `elapsed`: under the minimum throughput.
    TooSlow {
        bytes: u64,
        elapsed: Duration,
        min: MinThroughput,
    },
}

impl fmt::Display for BodyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyLimit::TooLarge { limit } => write!(
                f,
                "the answer is larger than {} MB: reading stopped there",
                limit / (1024 * 1024)
            ),
            BodyLimit::TooSlow {
                bytes,
                elapsed,
                min,
            } => write!(
                f,
                "the answer arrived too slowly ({bytes} bytes in {:.0}s, under the minimum of {} KB/s after {}s): abandoned",
                elapsed.as_secs_f64(),
                min.bytes_per_sec / 1024,
                min.grace.as_secs()
            ),
        }
    }
}

impl std::error::Error for BodyLimit {}

impl BodyLimit {
    /// The limit an error chain ends in, if a body was refused.
    pub fn in_chain(err: &(dyn std::error::Error + 'static)) -> Option<BodyLimit> {
        let mut cur = Some(err);
        while let Some(e) = cur {
            if let Some(limit) = e.downcast_ref::<BodyLimit>() {
                return Some(limit.clone());
            }
            cur = e.source();
        }
        None
    }
}

/// Tracks a body's bytes against a size cap and a minimum throughput.
#[derive(Debug)]
pub struct BodyPace {
    limit: Option<u64>,
    min: MinThroughput,
    started: Instant,
    bytes: u64,
}

impl BodyPace {
    pub fn new(limit: Option<u64>, min: MinThroughput) -> Self {
        BodyPace {
            limit,
            min,
            started: Instant::now(),
            bytes: 0,
        }
    }

    /// Counts `n` more bytes; `Err` once they go over the cap.
    pub fn arrived(&mut self, n: usize) -> Result<(), BodyLimit> {
        self.bytes += n as u64;
        match self.limit {
            Some(limit) if self.bytes > limit => Err(BodyLimit::TooLarge { limit }),
            _ => Ok(()),
        }
    }

    /// When the body is too slow unless more bytes arrive.
    pub fn deadline(&self) -> Instant {
        self.min.deadline(self.started, self.bytes)
    }

    /// The error for a body still short of its pace at its deadline.
    pub fn too_slow(&self) -> BodyLimit {
        BodyLimit::TooSlow {
            bytes: self.bytes,
            elapsed: self.started.elapsed(),
            min: self.min,
        }
    }
}

/// The pace of a body read with pauses of our own (waiting for a decoder): only the time spent
/// waiting for the network counts against `MinThroughput`.
#[derive(Debug)]
pub struct NetworkPace {
    min: MinThroughput,
    bytes: u64,
    waited: Duration,
}

impl NetworkPace {
    pub fn new(min: MinThroughput) -> Self {
        NetworkPace {
            min,
            bytes: 0,
            waited: Duration::ZERO,
        }
    }

    /// `n` bytes arrived after waiting `waited` for them.
    pub fn arrived(&mut self, n: usize, waited: Duration) {
        self.bytes += n as u64;
        self.waited += waited;
    }

    /// How long the next wait may last before the body is too slow.
    pub fn allowance(&self) -> Duration {
        self.min.allowance(self.bytes).saturating_sub(self.waited)
    }

    /// The error for a body whose allowance ran out.
    pub fn too_slow(&self) -> BodyLimit {
        BodyLimit::TooSlow {
            bytes: self.bytes,
            elapsed: self.min.allowance(self.bytes).max(self.waited),
            min: self.min,
        }
    }
}

/// A body that fails as soon as it breaks its `BodyPace`.
struct PacedBody {
    inner: SdkBody,
    pace: BodyPace,
    timer: Pin<Box<Sleep>>,
}

impl http_body::Body for PacedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if let Err(e) = this.pace.arrived(data.len()) {
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    let deadline = this.pace.deadline();
                    this.timer.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(this.pace.too_slow().into()))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// Puts every answer's body under a `BodyPace` before the SDK reads it.
#[derive(Debug)]
pub struct LimitBodies {
    pub limit: Option<u64>,
    pub min: MinThroughput,
}

impl Intercept for LimitBodies {
    fn name(&self) -> &'static str {
        "LimitBodies"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response_mut().take_body();
        let pace = BodyPace::new(self.limit, self.min);
        let timer = Box::pin(tokio::time::sleep_until(pace.deadline()));
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(PacedBody {
            inner: body,
            pace,
            timer,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_deadline_moves_with_the_bytes_at_the_minimum_rate(a in 0u64..1 << 40, b in 0u64..1 << 40) {
            let min = MinThroughput::BODIES;
            let t = Instant::now();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(min.deadline(t, lo) <= min.deadline(t, hi));
            prop_assert!(min.deadline(t, lo) >= t + min.grace);
            // Bytes delivered at exactly the minimum rate keep the deadline ahead of the clock.
            let at_rate = min.deadline(t, hi) - min.grace;
            let expected = Duration::from_secs_f64(hi as f64 / min.bytes_per_sec as f64);
            prop_assert!(at_rate.saturating_duration_since(t).abs_diff(expected) < Duration::from_millis(1));
        }

        #[test]
        fn the_cap_refuses_exactly_what_goes_over(chunks in proptest::collection::vec(0usize..5000, 0..50), limit in 0u64..100_000) {
            let mut pace = BodyPace::new(Some(limit), MinThroughput::BODIES);
            let mut total = 0u64;
            for n in chunks {
                total += n as u64;
                prop_assert_eq!(pace.arrived(n).is_err(), total > limit);
            }
        }
    }
}
