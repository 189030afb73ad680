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

impl OrderBody {
    /// An accepted order, as the sandbox answers it.
    #[cfg(feature = "sandbox")]
    pub(crate) fn accepted(
        order_id: String,
        method: AuthorizedPaymentMethod,
        redirect_url: String,
    ) -> Self {
        Self {
            authorized_payment_method: Some(method),
            fraud_status: FraudStatus::Accepted,
            order_id,
            redirect_url: Some(redirect_url),
        }
    }
}

/// An order Klarna created, with the idempotency key that created it.
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
    /// Klarna's fraud assessment: capture only when `Accepted`.
    pub fn fraud_status(&self) -> &FraudStatus {
        &self.body.fraud_status
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
