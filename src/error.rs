//! The crate's one error type.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::enums::{ErrorCode, FraudStatus};
use crate::idempotency::IdempotencyKey;
use crate::operation::Operation;
use crate::outcome::OrderOutcome;
use crate::payment_method::AuthorizedPaymentMethod;
use crate::violation::ValidationErrors;

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
    /// The client could not be built from its configuration.
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
            Self::Config(_) => None,
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

/// Why a [`Client`](crate::Client) could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
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

/// A failure status from Klarna or from a gateway in front of it.
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) error_code: Option<ErrorCode>,
    pub(crate) error_messages: Vec<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) fraud_status: Option<FraudStatus>,
    pub(crate) authorized_payment_method: Option<AuthorizedPaymentMethod>,
    pub(crate) content_type: Option<String>,
    /// Whether the body is a JSON document, judged as the retry loop judges it.
    pub(crate) json_body: bool,
    pub(crate) raw_body: Bytes,
    /// The body as it may be shown: token and credentials redacted, cut short.
    pub(crate) body_preview: String,
    /// The cap the body was cut at, when the answer was longer.
    pub(crate) body_limit: Option<usize>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) call: CallInfo,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// Klarna's `error_code`, if the body carried one.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        self.error_code.as_ref()
    }
    /// Klarna's messages (`error_messages`, or a single `error_message`).
    pub fn error_messages(&self) -> &[String] {
        &self.error_messages
    }
    /// Klarna's correlation id, from the body or the header.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
    /// The `reason` of a create-order rejection, if given.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    /// The `fraud_status` of a create-order rejection, if given.
    pub fn fraud_status(&self) -> Option<&FraudStatus> {
        self.fraud_status.as_ref()
    }
    /// The payment method of a create-order rejection, if given.
    pub fn authorized_payment_method(&self) -> Option<&AuthorizedPaymentMethod> {
        self.authorized_payment_method.as_ref()
    }
    /// The response's content type, with the token and credentials
    /// redacted.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// The body exactly as received, such as the HTML page of a gateway's
    /// 401, up to the client's cap
    /// ([`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body)).
    /// It may contain the full customer token: do not log it.
    pub fn raw_body(&self) -> &[u8] {
        &self.raw_body
    }
    /// Whether the answer was longer than the client's cap, so that
    /// [`raw_body`](Self::raw_body) holds only its first bytes (and Klarna's
    /// fields could not be read from it).
    pub fn body_truncated(&self) -> bool {
        self.body_limit.is_some()
    }
    /// How long Klarna asked the caller to wait, on a 429 or a 503 (see
    /// [`Error::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: klarna answered {}", self.call, self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if !self.error_messages.is_empty() {
            write!(f, ": {}", self.error_messages.join("; "))?;
        } else if self.error_code.is_none() && !self.body_preview.is_empty() {
            let kind = self
                .content_type
                .as_deref()
                .unwrap_or("unknown content type");
            write!(f, " with a {kind} body: {}", self.body_preview)?;
        }
        if let Some(limit) = self.body_limit {
            write!(f, " (the answer exceeded {limit} bytes and was cut there)")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, " [asked to wait {}s]", wait.as_secs_f64())?;
        }
        self.call.tail(f)
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("operation", &self.call.operation)
            .field("token", &self.call.token)
            .field("status", &self.status)
            .field("error_code", &self.error_code)
            .field("error_messages", &self.error_messages)
            .field("correlation_id", &self.correlation_id)
            .field("content_type", &self.content_type)
            .field("body", &self.body_preview)
            .field("body_truncated", &self.body_truncated())
            .field("retry_after", &self.retry_after)
            .field("attempts", &self.call.attempts)
            .field("idempotency_key", &self.call.idempotency_key)
            .field("outcome", &self.call.outcome)
            .finish()
    }
}

impl std::error::Error for ApiError {}

/// What kind of transport failure a [`TransportError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// No complete answer arrived within the attempt timeout.
    Timeout,
    /// The connection could not be made, or failed before a complete answer.
    Connection,
    /// An answer arrived but its head (status line and headers) was not
    /// valid HTTP, or too large: the answer could not be read.
    MalformedResponse,
}

/// A request that got no complete answer: a timeout or a connection failure.
pub struct TransportError {
    pub(crate) kind: TransportKind,
    pub(crate) detail: String,
    pub(crate) sent: bool,
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    pub(crate) call: CallInfo,
}

impl TransportError {
    /// What kind of failure it was.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }
    /// Whether the request could have reached Klarna before it failed.
    /// `false` only when the connection was never established.
    pub fn may_have_been_sent(&self) -> bool {
        self.sent
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportKind::Timeout => "timed out",
            TransportKind::Connection => "connection failed",
            TransportKind::MalformedResponse => "the answer could not be read",
        };
        write!(f, "{} failed: {what}: {}", self.call, self.detail)?;
        self.call.tail(f)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("operation", &self.call.operation)
            .field("token", &self.call.token)
            .field("detail", &self.detail)
            .field("sent", &self.sent)
            .field("attempts", &self.call.attempts)
            .field("idempotency_key", &self.call.idempotency_key)
            .field("outcome", &self.call.outcome)
            .finish()
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A call the client's own rate limit stopped: its next attempt would have
/// waited past the call's deadline, and was not sent.
pub struct RateLimited {
    pub(crate) needed: Duration,
    pub(crate) call: CallInfo,
}

impl RateLimited {
    /// The wait the rate limit asked for, in total, for the attempt that
    /// was not sent.
    pub fn needed_wait(&self) -> Duration {
        self.needed
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: the client's rate limit would have delayed the request {}s, past the call's deadline",
            self.call,
            self.needed.as_secs_f64()
        )?;
        self.call.tail(f)
    }
}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("operation", &self.call.operation)
            .field("token", &self.call.token)
            .field("needed", &self.needed)
            .field("attempts", &self.call.attempts)
            .field("idempotency_key", &self.call.idempotency_key)
            .field("outcome", &self.call.outcome)
            .finish()
    }
}

impl std::error::Error for RateLimited {}

/// An answer whose body could not be decoded.
pub struct UndecodableResponse {
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<String>,
    pub(crate) raw_body: Bytes,
    pub(crate) body_preview: String,
    /// The decoder's message, with the token and credentials redacted: a
    /// decoder quotes the values it rejects.
    pub(crate) source: Redacted,
    pub(crate) path: String,
    /// The cap the body was cut at, when the answer was longer.
    pub(crate) body_limit: Option<usize>,
    pub(crate) call: CallInfo,
}

impl UndecodableResponse {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The body exactly as received, up to the client's cap. It may contain
    /// the full customer token: do not log it.
    pub fn raw_body(&self) -> &[u8] {
        &self.raw_body
    }
    /// Whether the answer was longer than the client's cap
    /// ([`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body)),
    /// so that [`raw_body`](Self::raw_body) holds only its first bytes.
    pub fn body_truncated(&self) -> bool {
        self.body_limit.is_some()
    }
    /// Where in the body decoding failed, such as `fraud_status`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for UndecodableResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: klarna answered {} but the body could not be decoded",
            self.call, self.status
        )?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.source)?;
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        if self.call.operation == Operation::CreateOrder {
            f.write_str("; do not retry with a new idempotency key")?;
        }
        self.call.tail(f)
    }
}

impl fmt::Debug for UndecodableResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UndecodableResponse")
            .field("operation", &self.call.operation)
            .field("token", &self.call.token)
            .field("status", &self.status)
            .field("path", &self.path)
            .field("error", &self.source.0)
            .field("body", &self.body_preview)
            .field("body_truncated", &self.body_truncated())
            .field("attempts", &self.call.attempts)
            .field("idempotency_key", &self.call.idempotency_key)
            .field("outcome", &self.call.outcome)
            .finish()
    }
}

impl std::error::Error for UndecodableResponse {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// An underlying error's message, redacted; it stands in for the original in
/// the `source()` chain.
#[derive(Clone, Debug)]
pub(crate) struct Redacted(pub(crate) String);

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Redacted {}

/// What the generated code decodes an error body into: nothing. The facade
/// reads the fields it shows from the recorded answer ([`ErrorFields`]), so
/// the generated decoding only checks that the body is JSON, without
/// copying any of it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ErrorBody;

impl<'de> serde::Deserialize<'de> for ErrorBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(Self)
    }
}

/// The largest error body whose fields are read. Klarna's error bodies are a
/// few hundred bytes; a longer one is shown only as a preview.
pub(crate) const MAX_PARSED_ERROR_BODY: usize = 64 * 1024;

/// The fields of Klarna's error body (`ErrorV2`) that the facade keeps, read
/// leniently: any field may be absent or of an unexpected type without
/// failing the decoding. Every other field is skipped without a copy.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ErrorFields {
    #[serde(deserialize_with = "lenient_string")]
    error_code: Option<String>,
    #[serde(deserialize_with = "lenient_messages")]
    error_messages: Vec<String>,
    #[serde(deserialize_with = "lenient_string")]
    error_message: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    correlation_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    reason: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    fraud_status: Option<String>,
    #[serde(deserialize_with = "lenient_method")]
    authorized_payment_method: Option<AuthorizedPaymentMethod>,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize as _;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn lenient_messages<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize as _;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|m| match m {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        serde_json::Value::String(one) => vec![one],
        _ => Vec::new(),
    })
}

fn lenient_method<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<AuthorizedPaymentMethod>, D::Error> {
    use serde::Deserialize as _;
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

impl ErrorFields {
    /// The fields of a JSON object body, if it is one and short enough.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        if body.len() > MAX_PARSED_ERROR_BODY {
            return None;
        }
        let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    pub(crate) fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    pub(crate) fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    pub(crate) fn fraud_status(&self) -> Option<FraudStatus> {
        self.fraud_status.clone().map(FraudStatus::from)
    }

    pub(crate) fn authorized_payment_method(&mut self) -> Option<AuthorizedPaymentMethod> {
        self.authorized_payment_method.take()
    }

    /// `error_messages` (a list or a single string), then `error_message`.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &str> {
        self.error_messages
            .iter()
            .map(String::as_str)
            .chain(self.error_message.as_deref())
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

    #[test]
    fn error_body_reads_both_message_shapes() {
        let body = ErrorFields::parse(
            br#"{"error_code":"BAD_VALUE","error_messages":["a","b"],"error_message":"c","correlation_id":"x","other":[1,{"a":2}]}"#,
        )
        .unwrap();
        assert_eq!(body.messages().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(body.error_code(), Some("BAD_VALUE"));
        assert_eq!(body.correlation_id(), Some("x"));
        let one = ErrorFields::parse(br#"{"error_messages":"one","error_code":7}"#).unwrap();
        assert_eq!(one.messages().collect::<Vec<_>>(), ["one"]);
        assert_eq!(one.error_code(), None);
        assert!(ErrorFields::parse(b"<html>").is_none());
        assert!(ErrorFields::parse(b"[1]").is_none());
        assert!(ErrorFields::parse(b"{\"error_code\":\"X\"").is_none());
    }

    #[test]
    fn long_error_bodies_are_not_parsed() {
        let pad = " ".repeat(MAX_PARSED_ERROR_BODY);
        let body = format!("{{\"error_code\":\"BAD_VALUE\"}}{pad}");
        assert!(ErrorFields::parse(body.as_bytes()).is_none());
        assert!(ErrorFields::parse(body.trim_end().as_bytes()).is_some());
    }

    #[test]
    fn the_generated_error_type_reads_nothing() {
        assert!(serde_json::from_slice::<ErrorBody>(br#"{"a":[1,2,{"b":"c"}]}"#).is_ok());
        assert!(serde_json::from_slice::<ErrorBody>(b"<html>").is_err());
    }
}
