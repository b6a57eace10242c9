//! Request pacing per (credentials, region): LookupEvents calls are spaced evenly at the
//! configured rate, so the AWS quota (2 requests/s per account and region) is used fully without
//! bursting into throttles; a throttle pushes every user of the pacer back.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    /// Any positive rate; intervals are kept within a day so that absurd rates cannot overflow.
    pub fn new(requests_per_second: f64) -> Self {
        let interval = Duration::try_from_secs_f64(1.0 / requests_per_second)
            .unwrap_or(MAX_INTERVAL)
            .min(MAX_INTERVAL);
        Pacer {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot; slots are `interval` apart.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// No slot before `pause` from now (after a throttle: the quota is shared with others).
    pub async fn hold_off(&self, pause: Duration) {
        let mut next = self.next_slot.lock().await;
        let earliest = Instant::now() + pause;
        *next = Some(next.map_or(earliest, |n| n.max(earliest)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_evenly_spaced_at_the_rate() {
        let pacer = Pacer::new(2.0);
        let t0 = Instant::now();
        for _ in 0..11 {
            pacer.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_rates_neither_panic_nor_overflow() {
        for rate in [f64::MIN_POSITIVE, 1e-300, 1e300, f64::MAX] {
            let pacer = Pacer::new(rate);
            pacer.acquire().await;
            assert!(pacer.interval <= MAX_INTERVAL);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hold_off_delays_the_next_slot() {
        let pacer = Pacer::new(10.0);
        pacer.acquire().await;
        let t0 = Instant::now();
        pacer.hold_off(Duration::from_secs(3)).await;
        pacer.acquire().await;
        assert_eq!(t0.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_pacer_does_not_bank_slots() {
        let pacer = Pacer::new(1.0);
        pacer.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t0 = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }
}
