//! Customer tokens and what Klarna says about them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::enums::{PaymentMethodType, TokenStatus};
use crate::violation::ValidationErrors;

/// The longest customer token accepted, in bytes.
const MAX_TOKEN_LEN: usize = 1024;

/// A customer token: the id of a payment method a customer saved with the
/// merchant.
///
/// It is checked on construction so that it can never rewrite the request
/// path. `Debug` and `Display` show only its last four characters; use
/// [`as_str`](Self::as_str) where the full value is really needed.
///
/// With the `serde` feature it serializes as the **full** token, for the
/// caller's own storage, and is checked again when deserialized.
///
/// ```
/// use klarna_customer_token::CustomerToken;
///
/// let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00")?;
/// assert_eq!(token.to_string(), "…9e00");
/// assert!(CustomerToken::new("../admin").is_err());
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
///
/// Cloning shares the token's bytes (a reference count), so a call can own
/// its token without copying it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerToken(Arc<str>);

impl CustomerToken {
    /// Checks and wraps a token.
    ///
    /// # Errors
    /// [`InvalidCustomerToken`] when the token is empty, `.` or `..`, longer than 1024 bytes, or contains `/`, `\`, `?`,
    /// `#`, `%`, whitespace or a control character. The message never
    /// repeats the token. It converts into
    /// [`Error::Validation`](crate::Error::Validation) at path
    /// `customer_token`.
    ///
    /// ```
    /// use klarna_customer_token::CustomerToken;
    /// let err = CustomerToken::new("a/b").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid customer token: must not contain `/`");
    /// ```
    pub fn new(token: impl Into<String>) -> Result<Self, InvalidCustomerToken> {
        let token = token.into();
        let problem = if token.is_empty() {
            Some("must not be empty".to_owned())
        } else if token == "." || token == ".." {
            Some("must not be a path segment such as `.` or `..`".to_owned())
        } else if token.len() > MAX_TOKEN_LEN {
            Some(format!("must be at most {MAX_TOKEN_LEN} bytes"))
        } else {
            token
                .chars()
                .find(|c| {
                    matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_whitespace() || c.is_control()
                })
                .map(|c| format!("must not contain {}", describe_char(c)))
        };
        match problem {
            Some(message) => Err(InvalidCustomerToken { message }),
            None => Ok(Self(Arc::from(token))),
        }
    }

    /// The full token. Avoid logging it: `Display` and `Debug` show only the
    /// last four characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token as it may be shown in logs and errors: its last four
    /// characters, or nothing at all for a token shorter than eight.
    pub fn redacted(&self) -> String {
        redact_token(&self.0)
    }
}

pub(crate) fn redact_token(token: &str) -> String {
    let count = token.chars().count();
    if count < 8 {
        return "…".to_owned();
    }
    let tail: String = token.chars().skip(count - 4).collect();
    format!("…{tail}")
}

fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!(
            "whitespace or control characters (found U+{:04X})",
            c as u32
        )
    } else {
        format!("`{c}`")
    }
}

impl fmt::Debug for CustomerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerToken({})", self.redacted())
    }
}

impl fmt::Display for CustomerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A string that cannot be a customer token; the message never repeats it.
///
/// Converts into [`Error::Validation`](crate::Error::Validation) at path
/// `customer_token`, so `?` works in functions returning the crate's
/// [`Error`](crate::Error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidCustomerToken {
    message: String,
}

impl InvalidCustomerToken {
    /// What is wrong with the token, in words.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The violation at path `customer_token`.
    pub(crate) fn to_violations(&self) -> ValidationErrors {
        ValidationErrors::single("customer_token", self.message.clone())
    }
}

impl fmt::Display for InvalidCustomerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid customer token: {}", self.message)
    }
}

impl std::error::Error for InvalidCustomerToken {}

impl std::str::FromStr for CustomerToken {
    type Err = InvalidCustomerToken;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for CustomerToken {
    type Error = InvalidCustomerToken;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for CustomerToken {
    type Error = InvalidCustomerToken;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

/// What Klarna says about a customer token (`customer_token`).
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "customer_token")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card: Option<CardInformation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direct_debit: Option<DirectDebitInformation>,
    payment_method_type: PaymentMethodType,
    status: TokenStatus,
}

impl TokenDetails {
    /// Whether the token can be charged, is suspended or is cancelled.
    pub fn status(&self) -> &TokenStatus {
        &self.status
    }
    /// The kind of payment method, such as `INVOICE`.
    pub fn payment_method_type(&self) -> &PaymentMethodType {
        &self.payment_method_type
    }
    /// The card, when the payment method is one.
    pub fn card(&self) -> Option<&CardInformation> {
        self.card.as_ref()
    }
    /// The bank account, when the payment method is a direct debit.
    pub fn direct_debit(&self) -> Option<&DirectDebitInformation> {
        self.direct_debit.as_ref()
    }
}

/// A saved card (`card_information`). Klarna sends only a masked number.
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "card_information")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CardInformation {
    brand: String,
    expiry_date: String,
    masked_number: String,
}

impl CardInformation {
    /// The card brand, such as `VISA`.
    pub fn brand(&self) -> &str {
        &self.brand
    }
    /// The expiry date as Klarna sends it, `MM/YYYY`.
    pub fn expiry_date(&self) -> &str {
        &self.expiry_date
    }
    /// The masked card number, such as `************1234`.
    pub fn masked_number(&self) -> &str {
        &self.masked_number
    }
}

/// A saved bank account for direct debit (`direct_debit_information`).
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "direct_debit_information")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectDebitInformation {
    masked_number: String,
}

impl DirectDebitInformation {
    /// The masked account number.
    pub fn masked_number(&self) -> &str {
        &self.masked_number
    }
}

/// The body of a cancel request (`customer_token_status_update_request`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "customer_token_status_update_request")
)]
pub(crate) struct CancelRequest {
    pub(crate) status: CancelStatus,
}

/// The only status a merchant can set a token to.
#[derive(Clone, Copy, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub(crate) enum CancelStatus {
    #[serde(rename = "CANCELLED")]
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_tokens_are_rejected_without_echo() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "a%2e",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{2028}b",
        ] {
            let err = CustomerToken::new(bad).unwrap_err();
            let err = crate::Error::from(err);
            let v = err.validation().unwrap();
            assert_eq!(v.iter().next().unwrap().path(), "customer_token", "{bad:?}");
            if bad.len() > 2 {
                assert!(!err.to_string().contains(bad), "{bad:?} echoed");
            }
        }
        assert!(CustomerToken::new("x".repeat(1025)).is_err());
        assert!(CustomerToken::new("x".repeat(1024)).is_ok());
        assert!(CustomerToken::new("...").is_ok());
    }

    #[test]
    fn redaction_shows_only_the_last_four() {
        let t = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00").unwrap();
        assert_eq!(format!("{t}"), "…9e00");
        assert_eq!(format!("{t:?}"), "CustomerToken(…9e00)");
        assert_eq!(redact_token("short"), "…");
    }
}
