//! What a charge answers: the next step, why a person is needed, and why a
//! send or a notification was refused.

use std::fmt;

use crate::idempotency::IdempotencyKey;
use crate::next_step::NextStep;

use super::event::{BodyDigest, Timestamp};

/// What to do next with a charge: [`Charge::next`](super::Charge::next).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// Send the order with this key: the key was never sent, or every call
    /// with it was refused before processing. A key is bound to the body it
    /// was first sent with (`digest`): to send another body, use
    /// [`Charge::next_for`](super::Charge::next_for), which moves to a new attempt instead.
    Send {
        /// The attempt number.
        attempt: u32,
        /// Its key, [`IdempotencyKey::for_charge`].
        key: IdempotencyKey,
        /// The body the key was sent with before, if it was.
        digest: Option<BodyDigest>,
        /// Not before this time (a wait the last answer asked for).
        not_before: Option<Timestamp>,
    },
    /// An attempt may have created the order: re-send **the recorded body**
    /// (the same token and order, [`BodyDigest`] `digest`) with **the same
    /// key**, before `deadline`. Klarna returns the order if it exists, or
    /// creates it once.
    Reconcile {
        /// The attempt to re-send.
        attempt: u32,
        /// Its key.
        key: IdempotencyKey,
        /// What was sent with it (`None` for a journal without digests).
        digest: Option<BodyDigest>,
        /// Not before this time (a wait the last answer asked for).
        not_before: Option<Timestamp>,
        /// After this, the attempt needs a person instead.
        deadline: Timestamp,
    },
    /// No attempt may have created an order, and the last one cannot be
    /// sent again usefully: it was declined after processing (a new attempt
    /// is then the billing system's dunning decision), a person said it
    /// created nothing, or ([`Charge::next_for`](super::Charge::next_for)) its key is bound to
    /// another body. A new attempt with a new key is safe.
    NewAttempt {
        /// The new attempt number.
        attempt: u32,
        /// Its key.
        key: IdempotencyKey,
        /// Not before this time (a wait the decline asked for).
        not_before: Option<Timestamp>,
    },
    /// The order exists but Klarna holds it for fraud review
    /// (`fraud_status` `PENDING`): it is **not paid**. Do not capture or
    /// fulfil it; wait for the notification
    /// ([`Charge::notification`](super::Charge::notification)).
    AwaitingReview {
        /// The attempt that created it.
        attempt: u32,
        /// Klarna's order id.
        order_id: Option<String>,
    },
    /// The order exists but Klarna's fraud review rejected (`step` is
    /// [`NextStep::AskCustomer`]) or stopped it (`step` is
    /// [`NextStep::StopCharging`]): it is not paid, and must not be
    /// fulfilled. Klarna cancels a rejected order unless it is captured
    /// within 4 hours. The charge takes no new attempt: charge again, if at
    /// all, as a new charge.
    ClosedUnpaid {
        /// The attempt that created the order.
        attempt: u32,
        /// Klarna's order id.
        order_id: Option<String>,
        /// What to do about the customer.
        step: NextStep,
    },
    /// Charged and paid: the order exists and was accepted.
    Done {
        /// The attempt that created it.
        attempt: u32,
        /// Klarna's order id, when known (a success that could not be
        /// decoded has none; its key replays it within 24 hours).
        order_id: Option<String>,
    },
    /// The token is gone (`TOKEN_CANCELLED`, `TOKEN_NOT_FOUND`): stop
    /// charging it. No attempt of the charge may have created an order.
    Stop,
    /// The payment method cannot be charged: ask the customer for another.
    /// No attempt of the charge may have created an order.
    AskCustomer,
    /// Nothing automatic is safe or useful: a person looks.
    NeedsPerson {
        /// Why.
        reason: Reason,
    },
}

/// Why a charge needs a person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Klarna answered `409 IDEMPOTENCY_KEY_MISMATCH` for this attempt: it
    /// holds another body under the key, which may have created an order.
    KeyMismatch {
        /// The attempt.
        attempt: u32,
    },
    /// This attempt may have created an order and its key was first sent
    /// too long ago to re-send safely: look the order up in the Merchant
    /// Portal, then record an [`Event::Resolved`](super::Event::Resolved).
    WindowClosed {
        /// The attempt.
        attempt: u32,
        /// When its key was first sent.
        first_sent: Timestamp,
    },
    /// This attempt may have created an order and its first send is
    /// stamped after now: the window cannot be trusted.
    StampedInFuture {
        /// The attempt.
        attempt: u32,
        /// The stamp.
        first_sent: Timestamp,
    },
    /// This attempt may have created an order, but the history has no
    /// intent for it, so the window cannot be measured.
    FirstSendUnknown {
        /// The attempt.
        attempt: u32,
    },
    /// This attempt may have created an order, and its latest re-send was
    /// refused because the token or its payment method cannot be used
    /// (`TOKEN_CANCELLED`, `TOKEN_SUSPENDED`, …). That refusal says nothing
    /// about the earlier send, and re-sending cannot settle it while the
    /// token stays unusable: look the order up in the Merchant Portal.
    TokenUnusable {
        /// The attempt.
        attempt: u32,
    },
    /// This attempt may have created an order, and its latest re-send was
    /// refused as a wrong request (a validation error, `BAD_VALUE`, a body
    /// too large). Klarna refuses the same body the same way every time,
    /// and no other body may go with the key, so re-sending cannot settle
    /// it: look the order up in the Merchant Portal and record an
    /// [`Event::Resolved`](super::Event::Resolved).
    ResendRefused {
        /// The attempt.
        attempt: u32,
    },
    /// Klarna stopped an order it had accepted (`FRAUD_RISK_STOPPED` after
    /// `ACCEPTED`): it may have been captured or fulfilled already.
    StoppedAfterAcceptance {
        /// The attempt.
        attempt: u32,
    },
    /// The fraud review sent both "accepted" and "rejected" for the order.
    ConflictingDecisions {
        /// The attempt.
        attempt: u32,
    },
    /// The order was created with a fraud status this version does not
    /// know: whether it may be captured is not known.
    UnknownFraudStatus {
        /// The attempt.
        attempt: u32,
    },
    /// The request was refused as wrong (a validation error, `BAD_VALUE`,
    /// a body too large): fix it, then send a new attempt.
    FixRequest {
        /// The attempt.
        attempt: u32,
    },
    /// The credentials, account or endpoint were refused: fix the
    /// configuration, then send the attempt again (its key is unused).
    FixConfiguration {
        /// The attempt.
        attempt: u32,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyMismatch { attempt } => write!(
                f,
                "attempt {attempt}: Klarna holds another body under its key, which may have \
                 created an order; check the Merchant Portal and record the resolution"
            ),
            Self::WindowClosed {
                attempt,
                first_sent,
            } => write!(
                f,
                "attempt {attempt} may have created an order and its key was first sent at \
                 {} ms, too long ago for Klarna to still hold it; check the Merchant Portal \
                 and record the resolution",
                first_sent.as_millis()
            ),
            Self::StampedInFuture {
                attempt,
                first_sent,
            } => write!(
                f,
                "attempt {attempt} may have created an order and its first send is stamped \
                 in the future ({} ms); check the clock and the Merchant Portal, then record \
                 the resolution",
                first_sent.as_millis()
            ),
            Self::FirstSendUnknown { attempt } => write!(
                f,
                "attempt {attempt} may have created an order but its first send is not \
                 recorded; check the Merchant Portal and record the resolution"
            ),
            Self::TokenUnusable { attempt } => write!(
                f,
                "attempt {attempt} may have created an order, and re-sending it is refused \
                 because the token cannot be used; check the Merchant Portal and record the \
                 resolution"
            ),
            Self::ResendRefused { attempt } => write!(
                f,
                "attempt {attempt} may have created an order, and re-sending it is refused as a \
                 wrong request, as it will be every time; check the Merchant Portal and record \
                 the resolution"
            ),
            Self::StoppedAfterAcceptance { attempt } => write!(
                f,
                "attempt {attempt}: Klarna stopped the order after accepting it; check whether \
                 it was captured or fulfilled"
            ),
            Self::ConflictingDecisions { attempt } => write!(
                f,
                "attempt {attempt}: the fraud review sent both accepted and rejected; read the \
                 order back in the Merchant Portal"
            ),
            Self::UnknownFraudStatus { attempt } => write!(
                f,
                "attempt {attempt}: the order's fraud status is unknown to this version; read \
                 the order back before capturing it"
            ),
            Self::FixRequest { attempt } => write!(
                f,
                "attempt {attempt} was refused as a wrong request: fix it and send a new attempt"
            ),
            Self::FixConfiguration { attempt } => write!(
                f,
                "attempt {attempt} was refused for the configuration (credentials, account or \
                 host): fix it and send the attempt again"
            ),
        }
    }
}

/// Why [`Charge::intent`](super::Charge::intent) refused to send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendRefused {
    /// An attempt created an order already (paid, under fraud review, or
    /// closed by the review): the charge takes no new attempt.
    #[error("attempt {attempt} created an order already")]
    AlreadyCharged {
        /// The attempt that created the order.
        attempt: u32,
        /// Its order id, when known.
        order_id: Option<String>,
    },
    /// The key of this attempt was sent with another body (another token or
    /// order): sending this one under it could charge twice or fail with a
    /// key mismatch.
    #[error(
        "attempt {attempt} was sent with another token or order under the same key; send the \
         recorded one, or settle attempt {attempt} first and use a new attempt"
    )]
    BodyChanged {
        /// The attempt.
        attempt: u32,
    },
    /// This attempt's key is settled without an order (declined, or
    /// resolved by a person): re-sending it would only replay that.
    #[error("attempt {attempt} is settled without an order; use attempt {next}")]
    AttemptSettled {
        /// The attempt.
        attempt: u32,
        /// The attempt number to use instead.
        next: u32,
    },
    /// Another attempt may have created an order: reconcile it first.
    #[error("attempt {open} may have created an order: re-send attempt {open} first")]
    OtherAttemptOpen {
        /// The attempt asked for.
        attempt: u32,
        /// The open one.
        open: u32,
    },
    /// The charge needs a person first.
    #[error("{0}")]
    NeedsPerson(Reason),
    /// Attempt numbers start at 1.
    #[error("attempt numbers start at 1")]
    AttemptZero,
}

/// Why [`Charge::notification`](super::Charge::notification) refused a fraud-review notification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationRefused {
    /// No attempt of this charge was sent with that key.
    #[error("no attempt of this charge was sent with that key")]
    UnknownKey,
    /// The key's attempt holds no order, or another one than the
    /// notification names.
    #[error("the notification names another order than the one its key created")]
    OtherOrder,
    /// An event type this version does not know: nothing is applied.
    #[error("the event type {0} is unknown to this version; nothing was applied")]
    UnknownEvent(String),
}
