//! String sets that Klarna may extend at any time.
//!
//! Every type here has an `Unknown(String)` variant that keeps a value this
//! version of the crate does not know yet, so a value Klarna adds later never
//! fails a call. Known values always parse to their named variant; an
//! `Unknown` value round-trips byte for byte.

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know. It is kept as
            /// sent, so nothing is lost.
            Unknown(String),
        }

        impl $name {
            /// Every value this version of the crate knows, as sent on the wire.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as it is sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Whether this is a value this version of the crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            fn from_wire(value: &str) -> Option<Self> {
                match value {
                    $( $wire => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::from_wire(value).unwrap_or_else(|| Self::Unknown(value.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::from_wire(&value).unwrap_or(Self::Unknown(value))
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    Self::Unknown(other) => write!(f, "{}::Unknown({:?})", stringify!($name), other),
                    known => write!(f, "{}::{}", stringify!($name), known.variant_name()),
                }
            }
        }

        impl $name {
            fn variant_name(&self) -> &'static str {
                match self {
                    $( Self::$variant => stringify!($variant), )+
                    Self::Unknown(_) => "Unknown",
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        /// An open string set: any string is accepted, and the values this
        /// version knows are listed under `x-open-enum`.
        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut map = serde_json::Map::new();
                map.insert("type".to_owned(), serde_json::Value::from("string"));
                map.insert("x-open-enum".to_owned(), serde_json::Value::from(Self::KNOWN.to_vec()));
                schemars::Schema::from(map)
            }
        }

        /// A known value is read without an allocation; an unknown one is
        /// kept as it came.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<$name, E> {
                        Ok($name::from(value))
                    }
                    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<$name, E> {
                        Ok($name::from(value))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

open_enum! {
    /// The status of a customer token.
    ///
    /// ```
    /// use klarna_customer_token::TokenStatus;
    /// assert_eq!(TokenStatus::from("ACTIVE"), TokenStatus::Active);
    /// assert_eq!(TokenStatus::from("FROZEN"), TokenStatus::Unknown("FROZEN".into()));
    /// ```
    TokenStatus {
        /// The token can be charged.
        Active => "ACTIVE",
        /// Klarna has suspended the token; it cannot be charged for now.
        Suspended => "SUSPENDED",
        /// The merchant cancelled the token; it can never be charged again.
        Cancelled => "CANCELLED",
    }
}

open_enum! {
    /// The kind of payment method behind a customer token. Klarna publishes no
    /// complete list, so expect `Unknown` values.
    PaymentMethodType {
        /// Pay by invoice.
        Invoice => "INVOICE",
        /// A payment card.
        Card => "CARD",
        /// A direct debit from a bank account.
        DirectDebit => "DIRECT_DEBIT",
    }
}

open_enum! {
    /// The decision a fraud-review notification carries
    /// ([`FraudNotification`](crate::notification::FraudNotification)).
    FraudEvent {
        /// Klarna accepted the pending order: it may be captured.
        Accepted => "FRAUD_RISK_ACCEPTED",
        /// Klarna rejected the pending order: do not fulfil it. Klarna
        /// cancels it unless it is captured within 4 hours.
        Rejected => "FRAUD_RISK_REJECTED",
        /// Klarna stopped the order (it can reach an order that was never
        /// pending): do not fulfil it.
        Stopped => "FRAUD_RISK_STOPPED",
    }
}

open_enum! {
    /// Klarna's fraud assessment of a new order.
    FraudStatus {
        /// The order is accepted and may be captured.
        Accepted => "ACCEPTED",
        /// Wait for Klarna's notification before capturing.
        Pending => "PENDING",
        /// The order was rejected.
        Rejected => "REJECTED",
    }
}

open_enum! {
    /// The payment method Klarna authorized for a new order.
    AuthorizedPaymentMethodType {
        /// Invoice.
        Invoice => "invoice",
        /// Fixed amount.
        FixedAmount => "fixed_amount",
        /// Pix.
        Pix => "pix",
        /// Base account.
        BaseAccount => "base_account",
        /// Deferred interest.
        DeferredInterest => "deferred_interest",
        /// Direct debit.
        DirectDebit => "direct_debit",
        /// Direct bank transfer.
        DirectBankTransfer => "direct_bank_transfer",
        /// Business invoice.
        B2bInvoice => "b2b_invoice",
        /// Card.
        Card => "card",
        /// Slice it, paid by card.
        SliceItByCard => "slice_it_by_card",
        /// Pay later, paid by card.
        PayLaterByCard => "pay_later_by_card",
        /// Fixed sum credit.
        FixedSumCredit => "fixed_sum_credit",
        /// Pay by card.
        PayByCard => "pay_by_card",
        /// Alternative payment method.
        AlternativePaymentMethod => "alternative_payment_method",
    }
}

open_enum! {
    /// The kind of an order line. A line without a type is a physical good.
    ///
    /// Amounts may be negative on every type (Klarna's schema sets no
    /// minimum, and its discounts page shows a discount as a negative
    /// `physical` line); the order total must still be at least 1. An order
    /// with a `sales_tax` line is taxed US style: its other lines carry no
    /// tax of their own.
    ///
    /// In a request, only the values Klarna documents pass validation; an
    /// `Unknown` value is reported rather than sent.
    OrderLineType {
        /// A physical good (the default).
        Physical => "physical",
        /// A discount, usually with negative amounts.
        Discount => "discount",
        /// Shipping costs.
        ShippingFee => "shipping_fee",
        /// US-style sales tax: the order's whole tax as a line of its own,
        /// usually named "Tax".
        SalesTax => "sales_tax",
        /// A digital good.
        Digital => "digital",
        /// A gift card used as payment, usually with negative amounts.
        GiftCard => "gift_card",
        /// Store credit used as payment, usually with negative amounts.
        StoreCredit => "store_credit",
        /// A surcharge.
        Surcharge => "surcharge",
    }
}

open_enum! {
    /// How often a subscription renews.
    SubscriptionInterval {
        /// Daily.
        Day => "DAY",
        /// Weekly.
        Week => "WEEK",
        /// Monthly.
        Month => "MONTH",
        /// Yearly.
        Year => "YEAR",
    }
}

open_enum! {
    /// The `error_code` of an error Klarna returns: the codes Klarna's
    /// documents and its gateway use. Any other code (a new one, or one a
    /// test server makes up) is kept as `Unknown`, and the next step is
    /// decided by the HTTP status.
    ErrorCode {
        /// No such token (404).
        TokenNotFound => "TOKEN_NOT_FOUND",
        /// No such resource; the read operation may say this instead of
        /// `TOKEN_NOT_FOUND` (404).
        NotFound => "NOT_FOUND",
        /// Klarna suspended the token (403).
        TokenSuspended => "TOKEN_SUSPENDED",
        /// The merchant cancelled the token (403).
        TokenCancelled => "TOKEN_CANCELLED",
        /// The token cannot be used, for example by this merchant (403).
        TokenForbidden => "TOKEN_FORBIDDEN",
        /// The payment method can no longer be used (403).
        UnavailablePaymentMethod => "UNAVAILABLE_PAYMENT_METHOD",
        /// The payment method is not available in this currency (403).
        PaymentMethodCurrencyMismatch => "PAYMENT_METHOD_CURRENCY_MISMATCH",
        /// The purchase was declined (403). Klarna says it may be tried
        /// again; whether and when to do so is the caller's decision, so it
        /// is never retried automatically.
        PaymentMethodFailed => "PAYMENT_METHOD_FAILED",
        /// The request was malformed (400).
        BadRequest => "BAD_REQUEST",
        /// A field has a bad value; the message names it (400).
        BadValue => "BAD_VALUE",
        /// Klarna failed internally (500).
        InternalServerError => "INTERNAL_SERVER_ERROR",
        /// Klarna is temporarily unavailable (503).
        ServiceUnavailable => "SERVICE_UNAVAILABLE",
        /// The credentials were refused (401).
        Unauthorized => "UNAUTHORIZED",
        /// The merchant's rate limit was exceeded (429); the request was not
        /// processed.
        TooManyRequests => "TOO_MANY_REQUESTS",
        /// The idempotency key was already used with a different request
        /// (409): this request was not processed.
        IdempotencyKeyMismatch => "IDEMPOTENCY_KEY_MISMATCH",
        /// The HTTP method is not allowed on this path (405).
        MethodNotAllowed => "METHOD_NOT_ALLOWED",
        /// The request body is too large (413; Klarna's cap is 1 MB).
        PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        /// Klarna's gateway gave up waiting for the service (500, after a
        /// 59 s idle timeout): the request may have been processed.
        Timeout => "TIMEOUT",
        /// Klarna's gateway failed internally (500): the request may have
        /// been processed.
        InternalError => "INTERNAL_ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_parse_and_unknown_values_round_trip() {
        assert_eq!(TokenStatus::from("SUSPENDED"), TokenStatus::Suspended);
        let odd: TokenStatus = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(odd, TokenStatus::Unknown("PAUSED".into()));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"PAUSED\"");
        assert!(!odd.is_known());
        assert_eq!(format!("{:?}", TokenStatus::Active), "TokenStatus::Active");
        assert_eq!(OrderLineType::from("physical").to_string(), "physical");
        // Case is significant: the wire format is exact.
        assert_eq!(
            OrderLineType::from("PHYSICAL"),
            OrderLineType::Unknown("PHYSICAL".into())
        );
    }

    #[test]
    fn known_lists_match_variants() {
        for value in ErrorCode::KNOWN {
            assert!(ErrorCode::from(*value).is_known(), "{value}");
            assert_eq!(ErrorCode::from(*value).as_str(), *value);
        }
        assert_eq!(ErrorCode::KNOWN.len(), 19);
        assert_eq!(FraudEvent::KNOWN.len(), 3);
        assert_eq!(AuthorizedPaymentMethodType::KNOWN.len(), 14);
        assert_eq!(OrderLineType::KNOWN.len(), 8);
    }
}
