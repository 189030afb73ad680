//! The client's own rate limit, shared by every clone of a client.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

use crate::clock::Clock;

/// How much longer than `1 / limit` the spacing between requests is: a
/// server counting fixed one-second windows at the same limit then never
/// sees one request too many, even when jitter delays some requests by up
/// to 5 % of a second more than others.
const MARGIN_PERCENT: u64 = 5;

/// The crate's clock, as governor reads time: waits and deadlines then go
/// through the same clock, and a `VirtualClock` skips them.
#[derive(Debug, Clone)]
struct Bridge(Arc<dyn Clock>);

impl governor::clock::Clock for Bridge {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// The spacing between two requests: `1 / per_second`, plus the margin.
fn period(per_second: NonZeroU32) -> Duration {
    let nanos = 1_000_000_000u64 * (100 + MARGIN_PERCENT) / 100 / u64::from(per_second.get());
    Duration::from_nanos(nanos.max(1))
}

/// A GCRA limiter (governor) with a burst of one: requests evenly spaced.
pub(crate) struct RateLimit {
    per_second: NonZeroU32,
    limiter: governor::RateLimiter<NotKeyed, InMemoryState, Bridge, NoOpMiddleware<Duration>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("per_second", &self.per_second)
            .finish()
    }
}

impl RateLimit {
    pub(crate) fn new(per_second: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let quota = governor::Quota::with_period(period(per_second))
            .unwrap_or_else(|| governor::Quota::per_second(per_second))
            .allow_burst(NonZeroU32::MIN);
        Self {
            per_second,
            limiter: governor::RateLimiter::direct_with_clock(quota, Bridge(Arc::clone(&clock))),
            clock,
        }
    }

    /// Waits for this request's turn. `Err(wait)` when the wait would take
    /// longer than `budget`: then nothing is waited beyond what already was.
    pub(crate) async fn acquire(&self, budget: Duration) -> Result<(), Duration> {
        let started = self.clock.now();
        loop {
            let now = self.clock.now();
            let wait = match self.limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => not_until.wait_time_from(now),
            };
            // Never a zero wait: the loop always makes progress in time.
            let wait = wait.max(Duration::from_micros(1));
            let spent = now.saturating_sub(started);
            if spent.saturating_add(wait) >= budget {
                return Err(spent.saturating_add(wait));
            }
            self.clock.sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;

    #[tokio::test(flavor = "current_thread")]
    async fn requests_are_evenly_spaced_with_a_margin() {
        let clock = VirtualClock::new();
        let limit = RateLimit::new(NonZeroU32::new(20).unwrap(), Arc::new(clock.clone()));
        assert_eq!(period(limit.per_second), Duration::from_micros(52_500));
        let mut times = Vec::new();
        for _ in 0..41 {
            limit.acquire(Duration::from_secs(10)).await.unwrap();
            times.push(clock.now());
        }
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= period(limit.per_second), "{pair:?}");
        }
        // No fixed one-second window holds more than 20.
        for second in 0..3u64 {
            let n = times.iter().filter(|t| t.as_secs() == second).count();
            assert!(n <= 20, "{n} in second {second}");
        }
        // A wait past the budget fails without waiting.
        let before = clock.now();
        let needed = limit.acquire(Duration::from_millis(10)).await.unwrap_err();
        assert!(needed >= Duration::from_millis(10), "{needed:?}");
        assert_eq!(clock.now(), before);
    }
}
