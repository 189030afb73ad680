//! The payment method Klarna authorized: in a created order, and in the
//! body of a refused one.

use serde::{Deserialize, Serialize};

use crate::enums::AuthorizedPaymentMethodType;

/// The payment method Klarna authorized for a new order.
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "authorized_payment_method")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizedPaymentMethod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number_of_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number_of_installments: Option<i64>,
    #[serde(rename = "type")]
    method_type: AuthorizedPaymentMethodType,
}

impl AuthorizedPaymentMethod {
    /// The kind of payment method.
    pub fn method_type(&self) -> &AuthorizedPaymentMethodType {
        &self.method_type
    }
    /// Days until payment is due, where it applies.
    pub fn number_of_days(&self) -> Option<i64> {
        self.number_of_days
    }
    /// Number of installments, where it applies.
    pub fn number_of_installments(&self) -> Option<i64> {
        self.number_of_installments
    }
}
