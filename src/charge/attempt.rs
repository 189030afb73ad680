//! What the charge knows of each attempt: its key, what was sent, and what
//! the answers proved.

use crate::enums::FraudStatus;
use crate::idempotency::IdempotencyKey;
use crate::next_step::NextStep;

use super::answer::Answer;
use super::event::{BodyDigest, Timestamp};
use super::next::{Next, Reason};

/// What is known of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "state", rename_all = "snake_case")
)]
pub(super) enum KeyState {
    /// Every call with the key was refused before processing (or none was
    /// answered yet; see `in_flight`).
    Unused,
    /// A call may have created an order.
    Open,
    /// Klarna holds another body under the key.
    Mismatch,
    /// Klarna declined the key's order after processing it.
    Declined,
    /// The order exists.
    Created {
        order_id: Option<String>,
        fraud_status: Option<FraudStatus>,
    },
    /// A person said the attempt created nothing.
    ResolvedNotCreated,
}

/// The history of one attempt (one key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct Attempt {
    pub(super) attempt: u32,
    pub(super) key: IdempotencyKey,
    pub(super) digest: Option<BodyDigest>,
    /// The first intent that may have been processed: Klarna's 24 hours
    /// run from after it.
    pub(super) first_sent: Option<Timestamp>,
    /// An intent with no answer after it.
    pub(super) in_flight: bool,
    pub(super) state: KeyState,
    /// The latest answer and when it came.
    pub(super) last: Option<(Answer, Timestamp)>,
    /// The fraud-review decisions received for the order this key
    /// created, as a set: duplicates and deliveries out of order change
    /// nothing.
    #[cfg_attr(feature = "serde", serde(default))]
    pub(super) decisions: Decisions,
}

/// The fraud-review decisions received for one order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct Decisions {
    pub(super) accepted: bool,
    pub(super) rejected: bool,
    pub(super) stopped: bool,
}

impl Attempt {
    /// The order id this key created, when known.
    pub(super) fn order_id(&self) -> Option<&str> {
        match &self.state {
            KeyState::Created { order_id, .. } => order_id.as_deref(),
            _ => None,
        }
    }

    /// Whether this key may have created an order that is not settled.
    pub(super) fn open(&self) -> bool {
        match self.state {
            KeyState::Open | KeyState::Mismatch => true,
            KeyState::Unused => self.in_flight,
            KeyState::Declined | KeyState::Created { .. } | KeyState::ResolvedNotCreated => false,
        }
    }

    /// When the latest answer allows the next send, if it asked for a wait.
    pub(super) fn not_before(&self) -> Option<Timestamp> {
        match &self.last {
            Some((
                Answer::Refused {
                    step: NextStep::RetryLater { after },
                },
                at,
            ))
            | Some((Answer::Declined { after }, at)) => after.map(|after| *at + after),
            _ => None,
        }
    }

    /// Where a charge whose order exists stands, from the order's fraud
    /// status and the review's decisions.
    pub(super) fn after_creation(&self) -> Next {
        let n = self.attempt;
        let order_id = self.order_id().map(str::to_owned);
        let status = match &self.state {
            KeyState::Created { fraud_status, .. } => fraud_status.as_ref(),
            _ => None,
        };
        let d = self.decisions;
        let accepted = d.accepted || status == Some(&FraudStatus::Accepted);
        let person = |reason| Next::NeedsPerson { reason };
        if d.stopped && accepted {
            return person(Reason::StoppedAfterAcceptance { attempt: n });
        }
        if d.rejected && d.accepted {
            return person(Reason::ConflictingDecisions { attempt: n });
        }
        let closed = |step| Next::ClosedUnpaid {
            attempt: n,
            order_id: order_id.clone(),
            step,
        };
        if d.rejected || status == Some(&FraudStatus::Rejected) {
            return closed(NextStep::AskCustomer);
        }
        if d.stopped {
            return closed(NextStep::StopCharging);
        }
        if d.accepted {
            return Next::Done {
                attempt: n,
                order_id,
            };
        }
        match status {
            Some(FraudStatus::Pending) => Next::AwaitingReview {
                attempt: n,
                order_id,
            },
            Some(FraudStatus::Unknown(_)) => person(Reason::UnknownFraudStatus { attempt: n }),
            // Accepted, or not known because the success could not be read
            // or a person settled it: as before reviews, charged.
            _ => Next::Done {
                attempt: n,
                order_id,
            },
        }
    }
}
