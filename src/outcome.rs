//! What a create-order call did: every rule that decides an
//! [`OrderOutcome`], in one place.
//!
//! The attempt loop reports how each attempt ended ([`is_ambiguous`]); the
//! answer's reading asks what the final answer proves ([`after_failure`],
//! [`after_undecodable_success`]); a call refused before sending is
//! [`before_sending`].

use std::fmt;

use crate::operation::Operation;
use crate::retry::Attempt;
/// What a failed create-order call did, worked out across all its attempts.
///
/// With the `serde` feature it is written `not_created`,
/// `may_have_been_created` or `created`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum OrderOutcome {
    /// No attempt could have reached Klarna's processing, and the final
    /// answer was a definitive rejection (400, 401, 403 or 404, or a 429:
    /// the gateway refused the request before processing it), or no
    /// connection was ever made: no order exists.
    NotCreated,
    /// An attempt ended ambiguously (a timeout or a dropped connection after
    /// the request was sent, an unreadable answer, or a 5xx), or the final
    /// answer proves nothing either way (such as 409, 422 or a redirect):
    /// Klarna may have created the order. An earlier ambiguous attempt
    /// keeps the call here even when the final answer is a 429. A later 409 does not erase an earlier ambiguity.
    /// This API cannot read an order back, so reconcile by sending the same
    /// order again **with the same idempotency key** within 24 hours: Klarna
    /// then returns the order if it exists, or creates it once if it does
    /// not.
    MayHaveBeenCreated,
    /// Klarna answered with a success, but its body could not be decoded:
    /// the order exists. Do not send it again with a new key.
    Created,
}

impl fmt::Display for OrderOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotCreated => "the order was not created",
            Self::MayHaveBeenCreated => "the order may have been created",
            Self::Created => "the order was created",
        })
    }
}

/// Whether an attempt that ended this way could have been processed by
/// Klarna although the caller cannot tell: a timeout or a dropped
/// connection after the request was sent, or any 5xx.
pub(crate) fn is_ambiguous(attempt: Attempt, sent: bool) -> bool {
    match attempt {
        Attempt::Transport => sent,
        Attempt::Response { status, .. } => (500..=599).contains(&status),
    }
}

/// Whether a final answer with this status proves that Klarna refused the
/// order: a 400, 401, 403 or 404, or a 429 (the gateway's refusal before
/// processing). Anything else (409, 3xx, 5xx…) leaves the caller to
/// reconcile.
pub(crate) fn proves_refusal(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404 | 429)
}

/// The outcome of a call that failed. `ambiguous`: some attempt may have
/// been processed; `definitive`: the final failure proves that nothing was
/// processed (a refusal, a connection never made, a request never sent).
/// `None` for operations other than create-order.
pub(crate) fn after_failure(
    operation: Operation,
    ambiguous: bool,
    definitive: bool,
) -> Option<OrderOutcome> {
    (operation == Operation::CreateOrder).then_some(if ambiguous || !definitive {
        OrderOutcome::MayHaveBeenCreated
    } else {
        OrderOutcome::NotCreated
    })
}

/// The outcome when Klarna answered with a success whose body could not be
/// read: the order exists.
pub(crate) fn after_undecodable_success(operation: Operation) -> Option<OrderOutcome> {
    (operation == Operation::CreateOrder).then_some(OrderOutcome::Created)
}

/// The outcome of an order refused before anything was sent.
pub(crate) fn before_sending() -> OrderOutcome {
    OrderOutcome::NotCreated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguity_table() {
        assert!(is_ambiguous(Attempt::Transport, true));
        assert!(!is_ambiguous(Attempt::Transport, false));
        for status in [500, 501, 502, 503, 504, 599] {
            assert!(is_ambiguous(
                Attempt::Response {
                    status,
                    json_body: true
                },
                true
            ));
        }
        for status in [200, 400, 401, 403, 404, 409, 429] {
            assert!(!is_ambiguous(
                Attempt::Response {
                    status,
                    json_body: true
                },
                true
            ));
        }
    }

    #[test]
    fn failure_table() {
        use OrderOutcome::*;
        let create = Operation::CreateOrder;
        assert_eq!(after_failure(create, false, true), Some(NotCreated));
        assert_eq!(after_failure(create, true, true), Some(MayHaveBeenCreated));
        assert_eq!(
            after_failure(create, false, false),
            Some(MayHaveBeenCreated)
        );
        assert_eq!(after_failure(Operation::ReadToken, true, false), None);
        assert_eq!(after_undecodable_success(create), Some(Created));
        assert_eq!(after_undecodable_success(Operation::CancelToken), None);
        for status in 100..600 {
            assert_eq!(
                proves_refusal(status),
                [400, 401, 403, 404, 429].contains(&status),
                "{status}"
            );
        }
    }
}
