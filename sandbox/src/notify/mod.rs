//! Delivering fraud-review notifications as Klarna does: a `POST` of
//! `{"order_id", "event_type", "decided_at"}` to the order's
//! `merchant_urls.notification`, re-sent every 10 minutes of sandbox time
//! for 24 hours until the receiver answers `200`.
//!
//! The queue and its log live here ([`Hub`]); the worker that sends
//! ([`worker::run`]) reads the time through a function, so this module
//! knows nothing of the sandbox's state.

mod target;
pub(crate) mod worker;

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::review::{
    AttemptOutcome, DecisionError, DeliveryAttempt, DeliveryState, NotificationDelivery,
};
use klarna_customer_token::notification::FraudEvent;

pub(crate) use target::Targets;

/// One notification and its attempts.
struct Entry {
    id: u64,
    order_id: String,
    event: FraudEvent,
    /// The whole URL, signature included: sent to, never shown.
    url: String,
    path: String,
    body: Vec<u8>,
    decided_at: Duration,
    decided_at_rfc3339: String,
    attempts: Vec<DeliveryAttempt>,
    state: DeliveryState,
}

impl Entry {
    fn view(&self) -> NotificationDelivery {
        NotificationDelivery {
            order_id: self.order_id.clone(),
            event_type: self.event.clone(),
            url_path: self.path.clone(),
            decided_at: self.decided_at,
            decided_at_rfc3339: self.decided_at_rfc3339.clone(),
            attempts: self.attempts.clone(),
            state: self.state,
        }
    }

    fn finished(&self) -> bool {
        matches!(
            self.state,
            DeliveryState::Delivered | DeliveryState::GivenUp
        )
    }
}

/// A delivery the worker is to send now.
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) at: Duration,
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
}

struct Queue {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// The notifications of a sandbox: those to deliver and those delivered or
/// given up, at most `capacity` in all.
pub(crate) struct Hub {
    pub(crate) targets: Targets,
    /// Wall-clock time (since the Unix epoch) when the sandbox started: the
    /// origin of the decision times the bodies carry.
    epoch: Duration,
    capacity: usize,
    queue: Mutex<Queue>,
    /// Wakes the worker when a notification is queued.
    pub(crate) wake: tokio::sync::Notify,
}

impl Hub {
    pub(crate) fn new(targets: Targets, capacity: usize) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            targets,
            epoch,
            capacity,
            queue: Mutex::new(Queue {
                entries: VecDeque::new(),
                next_id: 0,
            }),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change is a whole step: a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a notification, first due now. Past the capacity the oldest
    /// delivered or given-up one is forgotten; when every one is still
    /// being delivered, nothing is queued.
    pub(crate) fn enqueue(
        &self,
        order_id: &str,
        event: FraudEvent,
        url: &str,
        decided_at: Duration,
    ) -> Result<(), DecisionError> {
        let mut queue = self.lock();
        if queue.entries.len() >= self.capacity {
            match queue.entries.iter().position(Entry::finished) {
                Some(index) => {
                    queue.entries.remove(index);
                }
                None => return Err(DecisionError::QueueFull(queue.entries.len())),
            }
        }
        let decided_at_rfc3339 = rfc3339(self.epoch.saturating_add(decided_at));
        let body = serde_json::json!({
            "order_id": order_id,
            "event_type": event.as_str(),
            "decided_at": decided_at_rfc3339,
        });
        let id = queue.next_id;
        queue.next_id += 1;
        queue.entries.push_back(Entry {
            id,
            order_id: order_id.to_owned(),
            event,
            url: url.to_owned(),
            path: path_of(url),
            body: body.to_string().into_bytes(),
            decided_at,
            decided_at_rfc3339,
            attempts: Vec::new(),
            state: DeliveryState::Pending {
                next_at: decided_at,
            },
        });
        drop(queue);
        self.wake.notify_one();
        Ok(())
    }

    /// Every notification, oldest first.
    pub(crate) fn list(&self) -> Vec<NotificationDelivery> {
        self.lock().entries.iter().map(Entry::view).collect()
    }

    /// Forgets every notification (an attempt under way is not recorded).
    pub(crate) fn clear(&self) {
        self.lock().entries.clear();
    }

    /// Takes up to `slots` notifications due at `now`, at most one per
    /// order and none for an order with one being sent, oldest first; gives
    /// up those whose 24 hours have passed.
    pub(crate) fn take_due(&self, now: Duration, slots: usize) -> Vec<Job> {
        let mut queue = self.lock();
        let mut busy: HashSet<String> = queue
            .entries
            .iter()
            .filter(|e| e.state == DeliveryState::Sending)
            .map(|e| e.order_id.clone())
            .collect();
        let mut jobs = Vec::new();
        for entry in &mut queue.entries {
            let DeliveryState::Pending { next_at } = entry.state else {
                continue;
            };
            if now > entry.decided_at.saturating_add(WINDOW) {
                entry.state = DeliveryState::GivenUp;
                continue;
            }
            if next_at > now || jobs.len() >= slots || busy.contains(&entry.order_id) {
                continue;
            }
            busy.insert(entry.order_id.clone());
            entry.state = DeliveryState::Sending;
            jobs.push(Job {
                id: entry.id,
                at: now,
                url: entry.url.clone(),
                body: entry.body.clone(),
            });
        }
        jobs
    }

    /// Records an attempt: delivered on `200`, else due again at the next
    /// 10-minute step after it, or given up past 24 hours.
    pub(crate) fn finish(&self, id: u64, at: Duration, outcome: AttemptOutcome) {
        let mut queue = self.lock();
        let Some(entry) = queue.entries.iter_mut().find(|e| e.id == id) else {
            return;
        };
        let delivered = outcome == AttemptOutcome::Status(200);
        entry.attempts.push(DeliveryAttempt { at, outcome });
        entry.state = if delivered {
            DeliveryState::Delivered
        } else {
            match next_attempt(entry.decided_at, at) {
                Some(next_at) if entry.attempts.len() < MAX_ATTEMPTS => {
                    DeliveryState::Pending { next_at }
                }
                _ => DeliveryState::GivenUp,
            }
        };
    }
}

/// How often an undelivered notification is re-sent (sandbox time).
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(10 * 60);
/// How long after the decision it is re-sent (sandbox time).
pub(crate) const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The most attempts one notification gets: at the decision and at every
/// 10-minute step of the 24 hours after it.
pub(crate) const MAX_ATTEMPTS: usize = 24 * 6 + 1;

/// The next 10-minute step after `at`, counted from `decided_at`, if it is
/// within 24 hours of it.
fn next_attempt(decided_at: Duration, at: Duration) -> Option<Duration> {
    let since = at.saturating_sub(decided_at);
    let steps = since.as_secs() / RETRY_EVERY.as_secs() + 1;
    let offset = RETRY_EVERY.checked_mul(u32::try_from(steps).ok()?)?;
    (offset <= WINDOW).then(|| decided_at.saturating_add(offset))
}

/// A URL cut to its path: no query (a signature), no user info.
fn path_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.path().to_owned(),
        Err(_) => "<not a URL>".to_owned(),
    }
}

/// A time since the Unix epoch as RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rest = secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;

    #[test]
    fn times_are_rfc_3339() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(1_796_637_600_123)),
            "2026-12-07T10:00:00.123Z"
        );
        assert_eq!(
            rfc3339(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn re_sent_on_10_minute_steps_for_24_hours() {
        let t0 = Duration::from_secs(5);
        let at = |m: u64| t0 + Duration::from_secs(m * MIN);
        assert_eq!(next_attempt(t0, t0), Some(at(10)));
        assert_eq!(next_attempt(t0, at(10)), Some(at(20)));
        assert_eq!(
            next_attempt(t0, at(25) + Duration::from_millis(1)),
            Some(at(30))
        );
        assert_eq!(next_attempt(t0, at(24 * 60 - 10)), Some(at(24 * 60)));
        assert_eq!(next_attempt(t0, at(24 * 60)), None);
    }

    #[test]
    fn the_queue_is_bounded_and_one_order_is_sent_one_at_a_time() {
        let hub = Hub::new(Targets::default(), 3);
        let url = "http://127.0.0.1:1/n?klarna_key=k&klarna_sig=s3cret";
        hub.enqueue("o-1", FraudEvent::Accepted, url, Duration::ZERO)
            .expect("room");
        hub.enqueue("o-1", FraudEvent::Stopped, url, Duration::ZERO)
            .expect("room");
        hub.enqueue("o-2", FraudEvent::Rejected, url, Duration::ZERO)
            .expect("room");
        assert_eq!(
            hub.enqueue("o-3", FraudEvent::Accepted, url, Duration::ZERO),
            Err(DecisionError::QueueFull(3))
        );
        let jobs = hub.take_due(Duration::ZERO, 10);
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [0, 2]);
        assert!(hub.take_due(Duration::ZERO, 10).is_empty(), "o-1 is busy");
        hub.finish(0, Duration::ZERO, AttemptOutcome::Status(200));
        let jobs = hub.take_due(Duration::ZERO, 10);
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [1]);
        // A delivered one makes room.
        hub.enqueue("o-3", FraudEvent::Accepted, url, Duration::ZERO)
            .expect("room");
        let listed = hub.list();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|d| d.url_path == "/n"));
    }

    #[test]
    fn given_up_when_the_clock_passes_the_window() {
        let hub = Hub::new(Targets::default(), 10);
        hub.enqueue(
            "o-1",
            FraudEvent::Accepted,
            "http://127.0.0.1:1/n",
            Duration::ZERO,
        )
        .expect("room");
        let late = WINDOW + Duration::from_secs(1);
        assert!(hub.take_due(late, 10).is_empty());
        assert_eq!(hub.list()[0].state, DeliveryState::GivenUp);
    }
}
