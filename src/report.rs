//! A summary of an error that can be stored: [`Error::report`].

use crate::enums::ErrorCode;
use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::next_step::NextStep;
use crate::operation::Operation;
use crate::outcome::OrderOutcome;

/// What a billing system keeps of a failure: serializable with the `serde`
/// feature, and never holding a secret (no credential, the token only as
/// its last four characters, no raw body).
///
/// ```
/// use klarna_customer_token::{CustomerToken, Error, NextStep};
/// let e = Error::from(CustomerToken::new("a/b").unwrap_err());
/// let report = e.report();
/// assert_eq!(report.kind, "validation");
/// assert_eq!(report.next_step, NextStep::FixRequest);
/// assert_eq!(report.messages, ["customer_token: must not contain `/`"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ErrorReport {
    /// The kind of error: `validation`, `config`, `api`, `timeout`,
    /// `connection`, `undecodable_response` or `rate_limited`.
    pub kind: String,
    /// The error's full message, as its `Display` shows it.
    pub message: String,
    /// The operation, when a call was made.
    pub operation: Option<Operation>,
    /// The HTTP status, if Klarna answered.
    pub status: Option<u16>,
    /// Klarna's `error_code`, if its answer carried one.
    pub error_code: Option<ErrorCode>,
    /// Klarna's messages for an API error; `path: message` for each
    /// violation of a validation error.
    pub messages: Vec<String>,
    /// Klarna's correlation id, if it sent one.
    pub correlation_id: Option<String>,
    /// For create-order, whether the order was created.
    pub outcome: Option<OrderOutcome>,
    /// What to do now.
    pub next_step: NextStep,
    /// The idempotency key of a create-order call.
    pub idempotency_key: Option<IdempotencyKey>,
    /// How many attempts were made, when a call was made.
    pub attempts: Option<u32>,
}

impl Error {
    /// A summary of this error to store or log: kind, status, code,
    /// messages, correlation id, outcome, next step, key and attempts. It
    /// holds nothing secret.
    pub fn report(&self) -> ErrorReport {
        let kind = match self {
            Self::Validation(_) => "validation",
            Self::Config(_) => "config",
            Self::Api(_) => "api",
            Self::Timeout(_) => "timeout",
            Self::Connection(_) => "connection",
            Self::UndecodableResponse(_) => "undecodable_response",
            Self::RateLimited(_) => "rate_limited",
        };
        let messages = match self {
            Self::Api(e) => e.error_messages().to_vec(),
            Self::Validation(v) => v
                .violations()
                .iter()
                .map(|v| format!("{}: {}", v.path(), v.message()))
                .collect(),
            _ => Vec::new(),
        };
        ErrorReport {
            kind: kind.to_owned(),
            message: self.to_string(),
            operation: self.operation(),
            status: self.status(),
            error_code: self.error_code().cloned(),
            messages,
            correlation_id: self.correlation_id().map(str::to_owned),
            outcome: self.order_outcome(),
            next_step: self.next_step(),
            idempotency_key: self.idempotency_key().cloned(),
            attempts: self.attempts(),
        }
    }
}
