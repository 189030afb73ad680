//! The sandbox's clock.

use std::time::Duration;

use klarna_customer_token::clock::VirtualClock;

/// The sandbox's own clock, which tests can move forward.
///
/// By default it runs with tokio's clock and adds whatever
/// [`advance`](Self::advance) added, so that a test can step past the
/// 24-hour idempotency window or a rate-limit window without waiting.
///
/// A sandbox built with [`SandboxBuilder::virtual_time`](super::SandboxBuilder::virtual_time) (or
/// [`SandboxBuilder::clock`](super::SandboxBuilder::clock)) runs on a [`VirtualClock`] instead, shared
/// with the clients it hands out: a client's wait between attempts moves
/// the sandbox's time too, and [`advance`](Self::advance) moves the
/// client's. Either way the sandbox's connection timeouts and injected
/// delays run on real time.
#[derive(Debug)]
pub struct SandboxClock {
    source: ClockSource,
}

#[derive(Debug)]
enum ClockSource {
    Real {
        origin: tokio::time::Instant,
        offset: std::sync::Mutex<Duration>,
    },
    Virtual(VirtualClock),
}

impl SandboxClock {
    pub(crate) fn new(virtual_clock: Option<VirtualClock>) -> Self {
        let source = match virtual_clock {
            Some(clock) => ClockSource::Virtual(clock),
            None => ClockSource::Real {
                origin: tokio::time::Instant::now(),
                offset: std::sync::Mutex::new(Duration::ZERO),
            },
        };
        Self { source }
    }
    /// Sandbox time elapsed since the sandbox started (since the virtual
    /// clock's zero, for a sandbox on virtual time).
    ///
    /// It saturates at [`Duration::MAX`] instead of overflowing.
    pub fn now(&self) -> Duration {
        match &self.source {
            ClockSource::Real { origin, offset } => {
                let offset = *offset
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                origin.elapsed().saturating_add(offset)
            }
            ClockSource::Virtual(clock) => klarna_customer_token::clock::Clock::now(clock),
        }
    }
    /// Moves sandbox time forward (and, on virtual time, the clients'
    /// time with it). Any value is accepted: the clock stops at
    /// [`Duration::MAX`] rather than overflowing, and every answer after
    /// that is still served.
    ///
    /// The sandbox's connection timeouts run on real time and ignore this
    /// clock.
    pub fn advance(&self, by: Duration) {
        match &self.source {
            ClockSource::Real { offset, .. } => {
                let mut offset = offset
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *offset = offset.saturating_add(by);
            }
            ClockSource::Virtual(clock) => clock.advance(by),
        }
    }
    /// The virtual clock the sandbox runs on, if it runs on one.
    pub fn virtual_clock(&self) -> Option<&VirtualClock> {
        match &self.source {
            ClockSource::Real { .. } => None,
            ClockSource::Virtual(clock) => Some(clock),
        }
    }
}
