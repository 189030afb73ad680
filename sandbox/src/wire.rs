//! The JSON the sandbox answers and reads on the API's routes: a server of
//! the API owns its wire types. Field names and shapes follow Klarna's
//! description (`customer_token`, `order`, `authorized_payment_method`,
//! `customer_token_status_update_request`); the client's tests read them
//! back through the client's own types.

use klarna_customer_token::{
    AuthorizedPaymentMethodType, FraudStatus, PaymentMethodType, TokenStatus,
};
use serde::Serialize;

/// A saved card, as reading a token answers it (`card_information`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Card {
    brand: String,
    expiry_date: String,
    masked_number: String,
}

impl Card {
    pub(crate) fn new(brand: String, expiry_date: String, masked_number: String) -> Self {
        Self {
            brand,
            expiry_date,
            masked_number,
        }
    }
    /// The card brand, such as `VISA`.
    pub fn brand(&self) -> &str {
        &self.brand
    }
    /// The expiry date, `MM/YYYY`.
    pub fn expiry_date(&self) -> &str {
        &self.expiry_date
    }
    /// The masked card number, such as `************1234`.
    pub fn masked_number(&self) -> &str {
        &self.masked_number
    }
}

/// A saved bank account, as reading a token answers it
/// (`direct_debit_information`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectDebit {
    masked_number: String,
}

impl DirectDebit {
    pub(crate) fn new(masked_number: String) -> Self {
        Self { masked_number }
    }
    /// The masked account number.
    pub fn masked_number(&self) -> &str {
        &self.masked_number
    }
}

/// What reading a token answers (`customer_token`).
#[derive(Debug, Serialize)]
pub(crate) struct TokenBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) card: Option<Card>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) direct_debit: Option<DirectDebit>,
    pub(crate) payment_method_type: PaymentMethodType,
    pub(crate) status: TokenStatus,
}

/// The payment method of a created order (`authorized_payment_method`).
#[derive(Debug, Serialize)]
pub(crate) struct AuthorizedMethod {
    #[serde(rename = "type")]
    pub(crate) method_type: AuthorizedPaymentMethodType,
}

/// What a created order answers (`order`).
#[derive(Debug, Serialize)]
pub(crate) struct OrderBody {
    pub(crate) authorized_payment_method: AuthorizedMethod,
    pub(crate) fraud_status: FraudStatus,
    pub(crate) order_id: String,
    pub(crate) redirect_url: String,
}

/// The body of a cancel request (`customer_token_status_update_request`).
#[derive(Debug, Serialize)]
pub(crate) struct CancelRequest {
    pub(crate) status: CancelStatus,
}

/// The only status a merchant can set a token to.
#[derive(Debug, Serialize)]
pub(crate) enum CancelStatus {
    #[serde(rename = "CANCELLED")]
    Cancelled,
}
