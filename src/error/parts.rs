//! The parts of an [`Error`](super::Error): an answer from Klarna or a
//! gateway, a transport failure, a rate limit, an undecodable answer.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::CallInfo;
use crate::enums::{ErrorCode, FraudStatus};
use crate::operation::Operation;
use crate::payment_method::AuthorizedPaymentMethod;

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
    /// [`Error::retry_after`](super::Error::retry_after)).
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
