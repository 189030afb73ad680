//! A charge as a whole: every attempt, every answer, and what may be done
//! next without charging the customer twice.
//!
//! A call's [`Error::next_step`](crate::Error::next_step) speaks of **one
//! call**. Whether a **new** idempotency key may be used is a question about
//! the charge's whole history: once any attempt may have created an order,
//! a later answer that refuses a re-send before processing (a 429, a 401
//! after a credential rotation, a 403, 404, 400, 413, the client's own rate
//! limit) says nothing about that earlier attempt. [`Charge`] keeps that
//! history and answers [`Charge::next`]; it does no I/O, so a billing
//! system journals its [`Event`]s and rebuilds the charge from them after a
//! crash.
//!
//! # The rules, and where they come from
//! - Klarna keeps an idempotency key's answer for 24 hours and replays it:
//!   a created order, and a processed decline (`PAYMENT_METHOD_FAILED`; its
//!   subscription guide asks for a new key per charge attempt for that
//!   reason).
//! - Once any attempt **may have created** an order (a timeout or a dropped
//!   connection after sending, a 5xx, an answer that proves nothing, or an
//!   intent with no answer after it: a crash), only a created answer for
//!   that key (a replay), a decline processed under that key, or a person
//!   ([`Event::Resolved`]) closes it. Until then the next step is to
//!   **re-send the recorded body with the same key**
//!   ([`Next::Reconcile`]); a refusal of the re-send changes nothing.
//!   Where that refusal will come back every time (the token cannot be
//!   used, or the request is refused as wrong), re-sending cannot settle
//!   it and a person looks ([`Reason::TokenUnusable`],
//!   [`Reason::ResendRefused`]).
//! - A `409 IDEMPOTENCY_KEY_MISMATCH` means an earlier, different body was
//!   processed under the key: a person settles it, never a new attempt.
//! - A new key ([`Next::NewAttempt`], or any other attempt number given to
//!   [`Charge::intent`]) only when every earlier key is known unused (every
//!   call with it was refused before processing) or was declined after
//!   processing, or a person said its attempt created nothing.
//! - An attempt that may have created an order and whose key was first
//!   sent [`KEY_WINDOW`] minus [`KEY_WINDOW_MARGIN`] ago or more, or whose
//!   first send is stamped in the future (the clock went back, or the
//!   journal came from another machine), is never re-sent automatically:
//!   Klarna may have forgotten the key, and a re-send could create a second
//!   order. It needs a person ([`Reason::WindowClosed`],
//!   [`Reason::StampedInFuture`]), who looks the order up in the Merchant
//!   Portal.
//! - A key is bound to the body it was first sent with
//!   ([`BodyDigest`]): sending another body under it is refused before
//!   sending ([`SendRefused::BodyChanged`]).
//!
//! # Example
//! ```
//! use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Next, Timestamp};
//! use klarna_customer_token::{CustomerToken, NextStep, OrderLine, OrderRequest};
//!
//! let token = CustomerToken::new("6e2b0e0c-1b1f-4f35-9a2e-2a3c5d7e9f10")?;
//! let order = OrderRequest::builder()
//!     .purchase_currency("USD")
//!     .line(OrderLine::builder("Plan").quantity(1).unit_price(1000).tax_rate(0).build()?)
//!     .build()?;
//! let digest = BodyDigest::of(&token, &order)?;
//! let mut charge = Charge::new("acme-billing", "subscription-42/2026-12");
//! let t0 = Timestamp::from_millis(1_800_000_000_000);
//!
//! // Attempt 1: the intent is journaled, then sent; the answer is lost.
//! let intent = charge.intent(1, digest, t0)?;
//! charge.apply(intent);
//! charge.apply(charge.answer(1, Answer::MayHaveBeenCreated, t0));
//!
//! // The re-send is refused by a rate limit: that proves nothing about
//! // attempt 1, so a new key is still refused and the next step is still
//! // to re-send attempt 1's body with its key.
//! let refused = Answer::Refused { step: NextStep::RetryLater { after: None } };
//! charge.apply(charge.answer(1, refused, t0));
//! assert!(charge.intent(2, digest, t0).is_err());
//! assert!(matches!(charge.next(t0), Next::Reconcile { attempt: 1, .. }));
//!
//! // The next re-send gets the order (a replay): done, once.
//! let created = Answer::Created { order_id: Some("ord-1".into()), fraud_status: None };
//! charge.apply(charge.answer(1, created, t0));
//! assert!(matches!(charge.next(t0), Next::Done { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod answer;
mod attempt;
mod event;
mod next;
#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::enums::FraudEvent;
use crate::idempotency::IdempotencyKey;
use crate::next_step::NextStep;
use crate::notification::FraudNotification;

pub use answer::Answer;
pub use event::{BodyDigest, Event, Timestamp};
pub use next::{Next, NotificationRefused, Reason, SendRefused};

use attempt::{Attempt, Decisions, KeyState};

/// How long Klarna keeps an idempotency key and replays its answer.
pub const KEY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Taken off [`KEY_WINDOW`] before an attempt that may have created an
/// order is no longer re-sent automatically. It covers the retries of the
/// re-sent call (90 seconds by default), the time between journaling an
/// intent and Klarna receiving it, and a difference between this machine's
/// clock and Klarna's of up to most of an hour; an hour of a 24-hour window
/// costs little, and a re-send after Klarna forgot the key could charge
/// twice.
pub const KEY_WINDOW_MARGIN: Duration = Duration::from_secs(60 * 60);

/// One charge (say, one subscription's invoice for one period) across all
/// its attempts. See [the module docs](self) for the rules.
///
/// With the `serde` feature the whole history serializes, so a billing
/// system may store the charge itself instead of (or beside) its events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Charge {
    namespace: String,
    charge_id: String,
    /// In the order their first event came.
    attempts: Vec<Attempt>,
}

impl Charge {
    /// A charge with no history. Its keys are
    /// [`IdempotencyKey::for_charge`]`(namespace, charge_id, attempt)`.
    pub fn new(namespace: impl Into<String>, charge_id: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            charge_id: charge_id.into(),
            attempts: Vec::new(),
        }
    }

    /// The namespace of the charge's keys.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The charge's id.
    pub fn charge_id(&self) -> &str {
        &self.charge_id
    }

    /// The key of attempt `attempt` of this charge: the one its history
    /// recorded, else [`IdempotencyKey::for_charge`].
    pub fn key(&self, attempt: u32) -> IdempotencyKey {
        self.find(attempt).map_or_else(
            || IdempotencyKey::for_charge(&self.namespace, &self.charge_id, attempt),
            |a| a.key.clone(),
        )
    }

    /// Whether any attempt created an order (paid or not: see
    /// [`is_paid`](Self::is_paid)).
    pub fn is_charged(&self) -> bool {
        self.created().is_some()
    }

    /// Whether the charge is paid: its order exists and is not held or
    /// closed by Klarna's fraud review ([`Next::Done`]).
    pub fn is_paid(&self, now: Timestamp) -> bool {
        matches!(self.next(now), Next::Done { .. })
    }

    /// Checks a fraud-review notification whose URL verified for `key`
    /// ([`NotificationSigner::verify`](crate::notification::NotificationSigner::verify))
    /// and returns the event to journal, then [`apply`](Self::apply). It is
    /// applied only when `key` created this charge's order and the
    /// notification names that order. Applying the same decision twice, or
    /// decisions out of order, gives the same charge.
    ///
    /// # Errors
    /// [`NotificationRefused`] when the key is not this charge's, its
    /// attempt holds no order or another order, or the event type is
    /// unknown.
    pub fn notification(
        &self,
        key: &IdempotencyKey,
        notification: &FraudNotification,
        now: Timestamp,
    ) -> Result<Event, NotificationRefused> {
        let attempt = self
            .attempts
            .iter()
            .find(|a| &a.key == key)
            .ok_or(NotificationRefused::UnknownKey)?;
        match &attempt.state {
            KeyState::Created {
                order_id: Some(id), ..
            } if id == notification.order_id() => {}
            _ => return Err(NotificationRefused::OtherOrder),
        }
        if let FraudEvent::Unknown(other) = notification.event_type() {
            return Err(NotificationRefused::UnknownEvent(other.clone()));
        }
        Ok(Event::Notification {
            attempt: attempt.attempt,
            order_id: notification.order_id().to_owned(),
            event_type: notification.event_type().clone(),
            at: now,
        })
    }

    /// Whether the history holds attempt `attempt` (an intent, an answer or
    /// a resolution of it).
    pub fn has_attempt(&self, attempt: u32) -> bool {
        self.find(attempt).is_some()
    }

    /// The highest attempt number in the history (0 when there is none).
    pub fn last_attempt(&self) -> u32 {
        self.attempts.iter().map(|a| a.attempt).max().unwrap_or(0)
    }

    /// The attempt that created the order, and the order's id if known.
    fn created(&self) -> Option<(u32, Option<String>)> {
        self.created_attempt()
            .map(|a| (a.attempt, a.order_id().map(str::to_owned)))
    }

    fn created_attempt(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| matches!(a.state, KeyState::Created { .. }))
    }

    fn find(&self, attempt: u32) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.attempt == attempt)
    }

    fn entry(&mut self, attempt: u32, key: Option<&IdempotencyKey>) -> &mut Attempt {
        let index = match self.attempts.iter().position(|a| a.attempt == attempt) {
            Some(index) => index,
            None => {
                let key = key.cloned().unwrap_or_else(|| {
                    IdempotencyKey::for_charge(&self.namespace, &self.charge_id, attempt)
                });
                self.attempts.push(Attempt {
                    attempt,
                    key,
                    digest: None,
                    first_sent: None,
                    in_flight: false,
                    state: KeyState::Unused,
                    last: None,
                    decisions: Decisions::default(),
                });
                self.attempts.len() - 1
            }
        };
        &mut self.attempts[index]
    }

    /// Whether an open attempt can no longer be re-sent, and why.
    fn unsafe_to_resend(attempt: &Attempt, now: Timestamp) -> Option<Reason> {
        let n = attempt.attempt;
        if attempt.state == KeyState::Mismatch {
            return Some(Reason::KeyMismatch { attempt: n });
        }
        let Some(first_sent) = attempt.first_sent else {
            return Some(Reason::FirstSendUnknown { attempt: n });
        };
        if first_sent > now {
            return Some(Reason::StampedInFuture {
                attempt: n,
                first_sent,
            });
        }
        if now.since(first_sent) >= KEY_WINDOW - KEY_WINDOW_MARGIN {
            return Some(Reason::WindowClosed {
                attempt: n,
                first_sent,
            });
        }
        None
    }

    /// What to do next, at `now` (the wall clock; [`Timestamp::now`]).
    pub fn next(&self, now: Timestamp) -> Next {
        if let Some(created) = self.created_attempt() {
            return created.after_creation();
        }
        let open: Vec<&Attempt> = self.attempts.iter().filter(|a| a.open()).collect();
        for attempt in &open {
            if let Some(reason) = Self::unsafe_to_resend(attempt, now) {
                return Next::NeedsPerson { reason };
            }
            // A re-send that is refused the same way every time cannot
            // settle what the first send did.
            if let Some((Answer::Refused { step }, _)) = &attempt.last {
                let attempt = attempt.attempt;
                match step {
                    NextStep::StopCharging | NextStep::AskCustomer => {
                        return Next::NeedsPerson {
                            reason: Reason::TokenUnusable { attempt },
                        };
                    }
                    NextStep::FixRequest => {
                        return Next::NeedsPerson {
                            reason: Reason::ResendRefused { attempt },
                        };
                    }
                    _ => {}
                }
            }
        }
        if let Some(attempt) = open.iter().min_by_key(|a| a.first_sent) {
            return Next::Reconcile {
                attempt: attempt.attempt,
                key: attempt.key.clone(),
                digest: attempt.digest,
                not_before: attempt.not_before(),
                deadline: attempt
                    .first_sent
                    .map_or(now, |t| t + (KEY_WINDOW - KEY_WINDOW_MARGIN)),
            };
        }
        // No key may have created an order.
        let Some(last) = self.attempts.iter().max_by_key(|a| a.attempt) else {
            return Next::Send {
                attempt: 1,
                key: self.key(1),
                digest: None,
                not_before: None,
            };
        };
        let n = last.attempt;
        let fresh = |attempt: u32| Next::NewAttempt {
            attempt,
            key: self.key(attempt),
            not_before: last.not_before(),
        };
        match (&last.state, &last.last) {
            (KeyState::Declined | KeyState::ResolvedNotCreated, _) => fresh(n.saturating_add(1)),
            (_, Some((Answer::Refused { step }, _))) => match step {
                NextStep::AskCustomer => Next::AskCustomer,
                NextStep::StopCharging => Next::Stop,
                NextStep::FixRequest => Next::NeedsPerson {
                    reason: Reason::FixRequest { attempt: n },
                },
                NextStep::FixConfiguration => Next::NeedsPerson {
                    reason: Reason::FixConfiguration { attempt: n },
                },
                // A refusal before processing: the key is unused and may be
                // sent again.
                _ => Next::Send {
                    attempt: n,
                    key: last.key.clone(),
                    digest: last.digest,
                    not_before: last.not_before(),
                },
            },
            _ => Next::Send {
                attempt: n,
                key: last.key.clone(),
                digest: last.digest,
                not_before: None,
            },
        }
    }

    /// [`next`](Self::next) for a caller about to send the request whose
    /// digest is `digest`: where `next` would send a key that is bound to
    /// another body, this moves to a new attempt instead (the key is known
    /// unused, so a new one is safe). A [`Next::Reconcile`] stays one: only
    /// the recorded body may go with that key.
    pub fn next_for(&self, digest: BodyDigest, now: Timestamp) -> Next {
        match self.next(now) {
            Next::Send {
                attempt,
                digest: Some(recorded),
                not_before,
                ..
            } if recorded != digest => {
                let attempt = self.last_attempt().max(attempt).saturating_add(1);
                Next::NewAttempt {
                    attempt,
                    key: self.key(attempt),
                    not_before,
                }
            }
            next => next,
        }
    }

    /// Checks that attempt `attempt` may be sent now with the request whose
    /// digest is `digest`, and returns the intent to journal (synced)
    /// **before** sending it, then to [`apply`](Self::apply). The key to
    /// send is the intent's.
    ///
    /// # Errors
    /// [`SendRefused`] when sending could charge twice or cannot help: the
    /// charge is charged; the attempt's key went out with another body;
    /// another attempt may have created an order; the attempt may have
    /// created one but cannot be re-sent safely any more; the attempt was
    /// declined or settled.
    pub fn intent(
        &self,
        attempt: u32,
        digest: BodyDigest,
        now: Timestamp,
    ) -> Result<Event, SendRefused> {
        if attempt == 0 {
            return Err(SendRefused::AttemptZero);
        }
        if let Some((attempt, order_id)) = self.created() {
            return Err(SendRefused::AlreadyCharged { attempt, order_id });
        }
        for other in &self.attempts {
            if other.attempt != attempt && other.open() {
                return Err(SendRefused::OtherAttemptOpen {
                    attempt,
                    open: other.attempt,
                });
            }
        }
        let key = match self.find(attempt) {
            None => self.key(attempt),
            Some(this) => {
                if this.digest.is_some_and(|d| d != digest) {
                    return Err(SendRefused::BodyChanged { attempt });
                }
                match this.state {
                    KeyState::Declined | KeyState::ResolvedNotCreated => {
                        return Err(SendRefused::AttemptSettled {
                            attempt,
                            next: self.last_attempt().saturating_add(1),
                        });
                    }
                    _ if this.open() => {
                        if let Some(reason) = Self::unsafe_to_resend(this, now) {
                            return Err(SendRefused::NeedsPerson(reason));
                        }
                    }
                    _ => {}
                }
                this.key.clone()
            }
        };
        Ok(Event::Intent {
            attempt,
            key,
            digest: Some(digest),
            at: now,
        })
    }

    /// The event that records `answer` for attempt `attempt`, to journal and
    /// then [`apply`](Self::apply).
    pub fn answer(&self, attempt: u32, answer: Answer, now: Timestamp) -> Event {
        Event::Answer {
            attempt,
            key: self.key(attempt),
            answer,
            at: now,
        }
    }

    /// Adds an event to the history. Events are applied as they were
    /// journaled, without checks: a journal is what happened.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Intent {
                attempt,
                key,
                digest,
                at,
            } => {
                let entry = self.entry(attempt, Some(&key));
                // Klarna's 24 hours run from the first send that may have
                // been processed: while every call with the key was refused
                // before processing, nothing is stored under it.
                let known_unused = entry.state == KeyState::Unused && !entry.in_flight;
                entry.first_sent = Some(match entry.first_sent {
                    Some(first) if !known_unused => first.min(at),
                    _ => at,
                });
                if entry.digest.is_none() {
                    entry.digest = digest;
                }
                // An earlier intent with no answer may have been processed:
                // whatever this send's answer, the key stays open.
                if entry.in_flight && entry.state == KeyState::Unused {
                    entry.state = KeyState::Open;
                }
                entry.in_flight = true;
            }
            Event::Answer {
                attempt,
                key,
                answer,
                at,
            } => {
                let entry = self.entry(attempt, Some(&key));
                entry.in_flight = false;
                entry.state = match (&entry.state, &answer) {
                    // Closed states stay closed, except that a created
                    // order always wins.
                    (
                        _,
                        Answer::Created {
                            order_id,
                            fraud_status,
                        },
                    ) => KeyState::Created {
                        order_id: order_id.clone().or_else(|| match &entry.state {
                            KeyState::Created { order_id, .. } => order_id.clone(),
                            _ => None,
                        }),
                        fraud_status: fraud_status.clone(),
                    },
                    (KeyState::Created { .. }, _) => entry.state.clone(),
                    (KeyState::Declined | KeyState::ResolvedNotCreated, _) => entry.state.clone(),
                    (_, Answer::Declined { .. }) => KeyState::Declined,
                    (_, Answer::KeyMismatch) => KeyState::Mismatch,
                    (KeyState::Mismatch, _) => KeyState::Mismatch,
                    (_, Answer::MayHaveBeenCreated) => KeyState::Open,
                    // A refusal proves nothing about earlier calls.
                    (state, Answer::Refused { .. }) => state.clone(),
                };
                entry.last = Some((answer, at));
            }
            Event::Notification {
                attempt,
                order_id,
                event_type,
                ..
            } => {
                // Only for the order the attempt created; anything else was
                // refused before it was journaled, and changes nothing.
                if let Some(entry) = self
                    .attempts
                    .iter_mut()
                    .find(|a| a.attempt == attempt && a.order_id() == Some(order_id.as_str()))
                {
                    match event_type {
                        FraudEvent::Accepted => entry.decisions.accepted = true,
                        FraudEvent::Rejected => entry.decisions.rejected = true,
                        FraudEvent::Stopped => entry.decisions.stopped = true,
                        _ => {}
                    }
                }
            }
            Event::Resolved {
                attempt,
                created,
                order_id,
                fraud_status,
                ..
            } => {
                let entry = self.entry(attempt, None);
                entry.in_flight = false;
                entry.state = if created {
                    KeyState::Created {
                        order_id,
                        fraud_status,
                    }
                } else {
                    KeyState::ResolvedNotCreated
                };
            }
        }
    }
}
