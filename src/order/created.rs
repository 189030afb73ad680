//! The order Klarna creates.

use serde::{Deserialize, Serialize};

use crate::enums::FraudStatus;
use crate::idempotency::IdempotencyKey;
use crate::payment_method::AuthorizedPaymentMethod;

/// The order body Klarna returns (`order`). The facade wraps it in
/// [`CreatedOrder`].
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "order")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorized_payment_method: Option<AuthorizedPaymentMethod>,
    fraud_status: FraudStatus,
    order_id: String,
    // Klarna's description marks it required, but its own examples omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
}

/// An order Klarna created, with the idempotency key that created it.
///
/// **A created order is not always a paid one.** When its
/// [`fraud_status`](Self::fraud_status) is `PENDING`, Klarna holds it for
/// fraud review (usually hours, at most 24): do not capture or fulfil it,
/// and do not count the charge as paid, until Klarna's notification says
/// `FRAUD_RISK_ACCEPTED` ([`notification`](crate::notification),
/// [`charge::Next::AwaitingReview`](crate::charge::Next::AwaitingReview)).
/// Its `Display` says so.
///
/// ```
/// # use klarna_customer_token::CreatedOrder;
/// # fn show(order: &CreatedOrder) {
/// if order.awaiting_review() {
///     println!("{order}"); // "order …: held for fraud review (PENDING), not paid yet; …"
/// }
/// # }
/// ```
///
/// With the `serde` feature it is written as Klarna's order fields
/// (`order_id`, `fraud_status`, …) beside `idempotency_key`,
/// `correlation_id` and `attempts`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct CreatedOrder {
    #[cfg_attr(feature = "serde", serde(flatten))]
    body: OrderBody,
    idempotency_key: IdempotencyKey,
    correlation_id: Option<String>,
    attempts: u32,
}

impl CreatedOrder {
    pub(crate) fn new(
        body: OrderBody,
        idempotency_key: IdempotencyKey,
        correlation_id: Option<String>,
        attempts: u32,
    ) -> Self {
        Self {
            body,
            idempotency_key,
            correlation_id,
            attempts,
        }
    }
    /// Klarna's order id, used for all later order management.
    pub fn order_id(&self) -> &str {
        &self.body.order_id
    }
    /// Klarna's fraud assessment: capture only when `Accepted`. `Pending`
    /// means the order is held for review and not paid yet.
    pub fn fraud_status(&self) -> &FraudStatus {
        &self.body.fraud_status
    }
    /// Whether Klarna holds the order for fraud review (`PENDING`): it is
    /// not paid until Klarna's notification accepts it.
    pub fn awaiting_review(&self) -> bool {
        self.body.fraud_status == FraudStatus::Pending
    }
    /// Where to send the customer to let Klarna set its cookie, if Klarna
    /// gave one.
    pub fn redirect_url(&self) -> Option<&str> {
        self.body.redirect_url.as_deref()
    }
    /// The payment method Klarna authorized, if it says.
    pub fn authorized_payment_method(&self) -> Option<&AuthorizedPaymentMethod> {
        self.body.authorized_payment_method.as_ref()
    }
    /// The idempotency key the order was created with. Sending the same
    /// order again with this key within 24 hours returns this same order.
    pub fn idempotency_key(&self) -> &IdempotencyKey {
        &self.idempotency_key
    }
    /// Klarna's correlation id for the successful attempt, if it sent one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
    /// How many attempts the call took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl std::fmt::Display for CreatedOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = crate::violation::truncate_chars(&self.body.order_id, 100);
        match &self.body.fraud_status {
            FraudStatus::Accepted => write!(f, "order {id}: accepted"),
            FraudStatus::Pending => write!(
                f,
                "order {id}: held for fraud review (PENDING), not paid yet; do not capture or \
                 fulfil it before Klarna's notification accepts it"
            ),
            other => write!(
                f,
                "order {id}: fraud status {}, not accepted; do not capture or fulfil it",
                crate::violation::truncate_chars(other.as_str(), 100)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: FraudStatus) -> CreatedOrder {
        CreatedOrder::new(
            OrderBody {
                authorized_payment_method: None,
                fraud_status: status,
                order_id: "o-1".to_owned(),
                redirect_url: None,
            },
            IdempotencyKey::for_charge("ns", "c", 1),
            None,
            1,
        )
    }

    #[test]
    fn display_says_whether_the_order_is_paid() {
        assert_eq!(
            order(FraudStatus::Accepted).to_string(),
            "order o-1: accepted"
        );
        let pending = order(FraudStatus::Pending);
        assert!(pending.awaiting_review());
        assert!(
            pending.to_string().contains("PENDING), not paid yet"),
            "{pending}"
        );
        assert!(
            order(FraudStatus::from("ODD"))
                .to_string()
                .contains("not accepted")
        );
    }
}
