//! Time as the client sees it: for deadlines and for the waits between
//! attempts.
//!
//! The default is tokio's clock. Tests can give a client a `VirtualClock`,
//! whose waits cost no real time, with `ClientBuilder::clock` (both behind
//! the `test-util` feature; the sandbox crate turns it on).

#![cfg_attr(not(feature = "test-util"), allow(unreachable_pub))]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
#[cfg(any(test, feature = "test-util"))]
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A source of time for deadlines and for the waits between attempts.
///
/// The per-attempt timeout is not measured with it: it is enforced by the
/// HTTP stack in real time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time elapsed since a fixed point of this clock's choosing.
    fn now(&self) -> Duration;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// Tokio's clock (the default). A paused tokio clock applies to it too.
#[derive(Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: a wait returns at once and moves the clock forward by
/// its duration, and every wait is recorded. Clones share one clock. It
/// saturates at [`Duration::MAX`]: no duration makes it overflow or panic.
///
/// ```
/// use std::time::Duration;
/// use klarna_customer_token::clock::{Clock, VirtualClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = VirtualClock::new();
/// clock.sleep(Duration::from_secs(30)).await; // returns at once
/// assert_eq!(clock.now(), Duration::from_secs(30));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
/// # }
/// ```
#[cfg(any(test, feature = "test-util"))]
#[derive(Clone, Debug, Default)]
pub struct VirtualClock {
    inner: Arc<Mutex<VirtualState>>,
}

#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Default)]
struct VirtualState {
    now: Duration,
    sleeps: Vec<Duration>,
}

#[cfg(any(test, feature = "test-util"))]
impl VirtualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }
    /// Every wait so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }
    /// Moves the clock forward without a wait. The clock saturates at
    /// [`Duration::MAX`] instead of overflowing.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now = state.now.saturating_add(by);
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, VirtualState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        self.lock().now
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut state = self.lock();
        state.now = state.now.saturating_add(duration);
        state.sleeps.push(duration);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_virtual_clock_saturates() {
        let clock = VirtualClock::new();
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Duration::MAX);
        clock.sleep(Duration::MAX).await;
        clock.sleep(Duration::from_secs(1)).await;
        assert_eq!(clock.now(), Duration::MAX);
        assert_eq!(clock.sleeps(), [Duration::MAX, Duration::from_secs(1)]);
    }
}
