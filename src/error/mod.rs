//! The crate's one error type: [`Error`] here, its parts in `parts`, and
//! the reading of Klarna's error body in `body`.

use std::fmt;
use std::time::Duration;

use crate::enums::ErrorCode;
use crate::idempotency::IdempotencyKey;
use crate::operation::Operation;
use crate::outcome::OrderOutcome;
use crate::violation::ValidationErrors;

mod body;
mod parts;

pub(crate) use body::ErrorFields;
pub(crate) use parts::Redacted;
pub use parts::{ApiError, RateLimited, TransportError, TransportKind, UndecodableResponse};

/// Everything that can go wrong, in one type.
///
/// Its `Display` says what happened in lowercase words, with Klarna's error
/// code, messages and correlation id when there are some; `source()` leads
/// to the underlying cause. Nothing it shows holds a credential, and a
/// customer token appears only as its last four characters.
///
/// For create-order, [`order_outcome`](Self::order_outcome) answers the one
/// question that matters after a failure: could the customer have been
/// charged?
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before anything was sent. Nothing reached
    /// Klarna.
    #[error("invalid input: {0}")]
    Validation(InvalidInput),
    /// The client could not be built from its configuration, or the
    /// system it runs on could not serve a call: the operating system's
    /// random generator failed when a create-order call drew its random
    /// idempotency key ([`RandomKeyError`](crate::RandomKeyError)). Nothing
    /// was sent.
    #[error("invalid client configuration: {0}")]
    Config(ConfigError),
    /// Klarna (or a gateway in front of it) answered with a status that is
    /// not a success.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// No complete answer arrived in time. The request may have been
    /// processed.
    #[error(transparent)]
    Timeout(Box<TransportError>),
    /// The connection failed, or the answer's head could not be read (see
    /// [`TransportError::kind`]). When it failed after the request was sent,
    /// the request may have been processed.
    #[error(transparent)]
    Connection(Box<TransportError>),
    /// Klarna answered with a success status but a body that could not be
    /// decoded, or one longer than the client's cap
    /// ([`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body)).
    /// For create-order, **the order was created**: do not retry it with a
    /// new key.
    #[error(transparent)]
    UndecodableResponse(Box<UndecodableResponse>),
    /// The client's own rate limit
    /// ([`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit))
    /// would have delayed the next attempt past the call's deadline, so it
    /// was not sent. [`order_outcome`](Self::order_outcome) is worked out
    /// over the attempts already made: `NotCreated` when none was ambiguous.
    #[error(transparent)]
    RateLimited(Box<RateLimited>),
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(InvalidInput {
            violations: errors,
            call: None,
        })
    }
}

/// An input refused before anything was sent: the violations, and for a
/// create-order call refused before sending, the call (its key and outcome,
/// read through [`Error`]'s accessors).
#[derive(Debug)]
pub struct InvalidInput {
    violations: ValidationErrors,
    call: Option<Box<CallInfo>>,
}

impl InvalidInput {
    /// The violations, each with its JSON path.
    pub fn violations(&self) -> &ValidationErrors {
        &self.violations
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.violations, f)
    }
}

impl Error {
    /// A create-order call refused before sending: the violations, with the
    /// call they stopped.
    pub(crate) fn refused_before_sending(violations: ValidationErrors, call: CallInfo) -> Self {
        Self::Validation(InvalidInput {
            violations,
            call: Some(Box::new(call)),
        })
    }
}

impl From<crate::idempotency::InvalidIdempotencyKey> for Error {
    fn from(error: crate::idempotency::InvalidIdempotencyKey) -> Self {
        error.to_violations().into()
    }
}

impl From<crate::token::InvalidCustomerToken> for Error {
    fn from(error: crate::token::InvalidCustomerToken) -> Self {
        error.to_violations().into()
    }
}

impl From<crate::idempotency::RandomKeyError> for Error {
    fn from(error: crate::idempotency::RandomKeyError) -> Self {
        Self::Config(ConfigError::new(error.to_string()))
    }
}

impl Error {
    /// A create-order call that could not draw its random key: nothing was
    /// sent, no order exists.
    pub(crate) fn no_random_key(error: crate::idempotency::RandomKeyError, call: CallInfo) -> Self {
        Self::Config(ConfigError {
            message: error.to_string(),
            call: Some(Box::new(call)),
        })
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl Error {
    /// The HTTP status Klarna answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) => Some(e.status),
            Self::UndecodableResponse(e) => Some(e.status),
            _ => None,
        }
    }

    /// Klarna's `error_code`, if the answer carried one.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api(e) => e.error_code.as_ref(),
            _ => None,
        }
    }

    /// Klarna's correlation id, from the body or the `Klarna-Correlation-Id`
    /// header. Quote it when you contact Klarna.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Api(e) => e.correlation_id.as_deref(),
            Self::UndecodableResponse(e) => e.correlation_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the same call may succeed if tried again later, with the same
    /// idempotency key for create-order. The client has already retried such
    /// failures as far as its retry policy allows.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Validation(_) | Self::Config(_) | Self::UndecodableResponse(_) => false,
            Self::Timeout(_) | Self::Connection(_) | Self::RateLimited(_) => true,
            Self::Api(e) => crate::retry::status_is_retryable(e.status, e.json_body),
        }
    }

    /// The violations, when the input was rejected before sending.
    pub fn validation(&self) -> Option<&ValidationErrors> {
        match self {
            Self::Validation(v) => Some(&v.violations),
            _ => None,
        }
    }

    fn call(&self) -> Option<&CallInfo> {
        match self {
            Self::Api(e) => Some(&e.call),
            Self::Timeout(e) | Self::Connection(e) => Some(&e.call),
            Self::UndecodableResponse(e) => Some(&e.call),
            Self::Validation(v) => v.call.as_deref(),
            Self::RateLimited(e) => Some(&e.call),
            Self::Config(e) => e.call.as_deref(),
        }
    }

    /// The operation that failed, when a request was attempted.
    pub fn operation(&self) -> Option<Operation> {
        self.call().map(|c| c.operation)
    }

    /// How many attempts were made (0 for a create-order refused before
    /// sending), when a call was made.
    pub fn attempts(&self) -> Option<u32> {
        self.call().map(|c| c.attempts)
    }

    /// The idempotency key of a failed create-order call. Retry with this
    /// key, within 24 hours, to learn the outcome without charging twice.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.call().and_then(|c| c.idempotency_key.as_ref())
    }

    /// For create-order: whether the order was created, may have been
    /// created, or certainly was not (also for an order refused before
    /// sending). `None` for other operations.
    pub fn order_outcome(&self) -> Option<OrderOutcome> {
        self.call().and_then(|c| c.outcome)
    }

    /// How long Klarna asked the caller to wait, if the final answer was a
    /// 429 or a 503 that asked: the longer of `Retry-After` and
    /// `X-Ratelimit-Reset`. A wait too long to represent is
    /// [`Duration::MAX`]. `None` on every other answer, whatever its headers.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The API error, when Klarna answered with a failure status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a [`Client`](crate::Client) could not be built, or why the system
/// it runs on could not serve a call (see [`Error::Config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
    /// The create-order call it stopped, if any.
    call: Option<Box<CallInfo>>,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            call: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What every error of a sent call knows about the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallInfo {
    pub(crate) operation: Operation,
    /// The token, redacted to its last four characters.
    pub(crate) token: String,
    pub(crate) attempts: u32,
    pub(crate) idempotency_key: Option<IdempotencyKey>,
    pub(crate) outcome: Option<OrderOutcome>,
}

impl fmt::Display for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for token {}", self.operation, self.token)
    }
}

impl CallInfo {
    fn tail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(f, " (after {} attempt{plural})", self.attempts)?;
        if let Some(outcome) = self.outcome {
            write!(f, "; {outcome}")?;
        }
        if let Some(key) = &self.idempotency_key {
            write!(f, "; idempotency key {key}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
        check::<ApiError>();
        check::<TransportError>();
        check::<UndecodableResponse>();
        check::<ValidationErrors>();
    }
}
