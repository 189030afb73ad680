//! What one create-order call proves about its idempotency key.

use std::time::Duration;

use crate::enums::{ErrorCode, FraudStatus};
use crate::error::Error;
use crate::next_step::NextStep;
use crate::order::CreatedOrder;
use crate::outcome::OrderOutcome;
use crate::report::ErrorReport;

/// What one create-order call proves about the key it sent, in the terms
/// of `../shared`'s reading of Klarna's idempotency: Klarna stores a
/// created order and a processed decline under the key for 24 hours and
/// replays them; a refusal before processing stores nothing and says
/// nothing about an earlier call with the same key.
///
/// Make it with [`Answer::from_result`] (or [`from_error`](Self::from_error),
/// [`from_report`](Self::from_report) for a stored [`ErrorReport`]).
///
/// ```
/// use klarna_customer_token::charge::Answer;
/// use klarna_customer_token::{CustomerToken, Error};
/// // Refused before anything was sent: this call created nothing.
/// let e = Error::from(CustomerToken::new("a/b").unwrap_err());
/// assert!(matches!(Answer::from_error(&e), Answer::Refused { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "answer", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Answer {
    /// The order exists under this key (created, or replayed by Klarna).
    Created {
        /// Klarna's order id; `None` when the success could not be decoded
        /// (a re-send with the same key replays it).
        order_id: Option<String>,
        /// The order's fraud status, when known.
        #[cfg_attr(feature = "serde", serde(default))]
        fraud_status: Option<FraudStatus>,
    },
    /// `403 PAYMENT_METHOD_FAILED`: Klarna processed the order under this
    /// key and declined it, and replays the decline for this key. No order
    /// exists under the key: a new attempt (a new key) is safe.
    Declined {
        /// The wait the answer asked for, if any.
        #[cfg_attr(
            feature = "serde",
            serde(default, with = "crate::serde_impls::opt_millis")
        )]
        after: Option<Duration>,
    },
    /// `409 IDEMPOTENCY_KEY_MISMATCH`: the key holds the answer to a
    /// **different** body, which Klarna processed and which may have created
    /// an order. Only the recorded body or a person can settle it.
    KeyMismatch,
    /// This call was refused before Klarna processed it (a 429, 401, 403 for
    /// credentials or the token's state, 404, a 400 for the request's
    /// shape, 413, the client's own validation or rate limit, or no
    /// connection made): **this call** created nothing. It says nothing
    /// about an earlier call with the same key.
    Refused {
        /// The call's own next step ([`Error::next_step`]).
        step: NextStep,
    },
    /// This call may have created the order (a timeout or a dropped
    /// connection after sending, a 5xx, an answer that proves nothing).
    MayHaveBeenCreated,
}

impl Answer {
    /// What a create-order call's result proves.
    pub fn from_result(result: &Result<CreatedOrder, Error>) -> Self {
        match result {
            Ok(order) => Self::from_order(order),
            Err(e) => Self::from_error(e),
        }
    }

    /// A created order.
    pub fn from_order(order: &CreatedOrder) -> Self {
        Self::Created {
            order_id: Some(order.order_id().to_owned()),
            fraud_status: Some(order.fraud_status().clone()),
        }
    }

    /// What a failed create-order call proves.
    pub fn from_error(error: &Error) -> Self {
        if let Error::Validation(_) | Error::Config(_) = error {
            // Refused before anything was sent.
            return Self::Refused {
                step: error.next_step(),
            };
        }
        let (status, code, after) = match error {
            Error::Api(e) => (Some(e.status), e.error_code.as_ref(), e.retry_after),
            _ => (None, None, None),
        };
        classify(
            status,
            code,
            after,
            error.order_outcome(),
            error.next_step(),
        )
    }

    /// What a failed create-order call proves, from its stored report
    /// ([`Error::report`]).
    pub fn from_report(report: &ErrorReport) -> Self {
        if matches!(report.kind.as_str(), "validation" | "config") {
            return Self::Refused {
                step: report.next_step,
            };
        }
        let after = match report.next_step {
            NextStep::RetryLater { after } => after,
            _ => None,
        };
        classify(
            report.status,
            report.error_code.as_ref(),
            after,
            report.outcome,
            report.next_step,
        )
    }
}

/// The one classification. A processed decline and a key mismatch are
/// read from the answer itself, whatever came before within the call: they
/// speak of the key. Everything else follows the call's outcome; a call
/// whose outcome is unknown (not a create-order report) may have created.
fn classify(
    status: Option<u16>,
    code: Option<&ErrorCode>,
    after: Option<Duration>,
    outcome: Option<OrderOutcome>,
    step: NextStep,
) -> Answer {
    match (status, code) {
        (Some(403), Some(ErrorCode::PaymentMethodFailed)) => return Answer::Declined { after },
        (Some(409), Some(ErrorCode::IdempotencyKeyMismatch)) => return Answer::KeyMismatch,
        _ => {}
    }
    match outcome {
        Some(OrderOutcome::NotCreated) => Answer::Refused { step },
        Some(OrderOutcome::Created) => Answer::Created {
            order_id: None,
            fraud_status: None,
        },
        _ => Answer::MayHaveBeenCreated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_speaking_answers_win_over_the_call_outcome() {
        let failed = ErrorCode::PaymentMethodFailed;
        let mismatch = ErrorCode::IdempotencyKeyMismatch;
        let later = NextStep::RetryLater { after: None };
        for outcome in [
            Some(OrderOutcome::NotCreated),
            Some(OrderOutcome::MayHaveBeenCreated),
        ] {
            assert_eq!(
                classify(Some(403), Some(&failed), None, outcome, later),
                Answer::Declined { after: None }
            );
            assert_eq!(
                classify(
                    Some(409),
                    Some(&mismatch),
                    None,
                    outcome,
                    NextStep::FixRequest
                ),
                Answer::KeyMismatch
            );
        }
        // The codes with another status are not what they claim.
        assert_eq!(
            classify(
                Some(500),
                Some(&failed),
                None,
                Some(OrderOutcome::MayHaveBeenCreated),
                later
            ),
            Answer::MayHaveBeenCreated
        );
        assert_eq!(
            classify(Some(429), None, None, Some(OrderOutcome::NotCreated), later),
            Answer::Refused { step: later }
        );
        assert_eq!(
            classify(None, None, None, None, later),
            Answer::MayHaveBeenCreated
        );
    }
}
