//! Faults to inject: what they do, which requests they target, how many
//! uses they have left.

use std::fmt;
use std::time::Duration;

use klarna_customer_token::Operation;
use klarna_customer_token::{CustomerToken, IdempotencyKey};

/// When a fault acts, relative to the processing of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the request is processed: nothing is stored.
    BeforeProcessing,
    /// After the request is processed: create-order has stored the order.
    AfterProcessing,
}

/// What an injected fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Answer with this status, content type, body and extra headers (such
    /// as `Retry-After`), unprocessed.
    Status {
        status: u16,
        body: String,
        content_type: String,
        headers: Vec<(String, String)>,
    },
    /// Close the connection without answering, after processing the
    /// request or not.
    Drop { phase: Phase },
    /// Wait before answering, before or after processing.
    Delay { delay: Duration, phase: Phase },
}

/// A fault to inject into the sandbox's next matching requests.
///
/// A fault applies to every request unless it is targeted: at an operation
/// ([`with_operation`](Self::with_operation)), a token ([`with_token`](Self::with_token)), an
/// idempotency key ([`with_key`](Self::with_key)), or any combination (a
/// request must then match every target). A fault targeted at one token
/// never touches a request for another.
///
/// ```
/// use klarna_customer_token_sandbox::Fault;
/// use klarna_customer_token::{CustomerToken, Operation};
///
/// let token = CustomerToken::new("my-token-1234")?;
/// // The next two create-order requests for this token get a JSON 503.
/// let fault = Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
///     .with_times(2)
///     .with_operation(Operation::CreateOrder)
///     .with_token(&token);
/// assert_eq!(fault.times_left(), 2);
/// assert_eq!(
///     format!("{fault:?}"),
///     "Fault { kind: \"status 503 (application/json, 36 bytes)\", \
///      target: \"create_order, token …1234\", times_left: 2 }",
/// );
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) times: u32,
    pub(crate) only: Option<Operation>,
    pub(crate) token: Option<CustomerToken>,
    pub(crate) key: Option<IdempotencyKey>,
}

impl Fault {
    pub(crate) fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            times: 1,
            only: None,
            token: None,
            key: None,
        }
    }
    /// Answer with this status and JSON body, without processing the
    /// request.
    pub fn status(status: u16, json_body: impl Into<String>) -> Self {
        Self::raw(status, "application/json", json_body)
    }
    /// Answer with this status, content type and body, without processing
    /// the request.
    pub fn raw(status: u16, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status {
            status,
            body: body.into(),
            content_type: content_type.into(),
            headers: Vec::new(),
        })
    }
    /// Answer with a gateway's HTML 502, without processing the request.
    pub fn gateway_502() -> Self {
        Self::raw(
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
    }
    /// Close the connection without processing the request or answering.
    pub fn drop_before_processing() -> Self {
        Self::new(FaultKind::Drop {
            phase: Phase::BeforeProcessing,
        })
    }
    /// Process the request (create-order stores the order), then close the
    /// connection without answering: the case that double-charges clients
    /// that retry without an idempotency key.
    pub fn drop_after_processing() -> Self {
        Self::new(FaultKind::Drop {
            phase: Phase::AfterProcessing,
        })
    }
    /// Wait this long (real time) before processing the request.
    pub fn delay_before_processing(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            delay,
            phase: Phase::BeforeProcessing,
        })
    }
    /// Process the request (create-order stores the order), then wait this
    /// long (real time) before answering.
    pub fn delay_after_processing(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            delay,
            phase: Phase::AfterProcessing,
        })
    }
    /// Adds a header to a status fault's answer, such as `Retry-After` or
    /// `X-Ratelimit-Reset`. Other faults have no answer to add it to.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let FaultKind::Status { headers, .. } = &mut self.kind {
            headers.push((name.into(), value.into()));
        }
        self
    }
    /// Applies the fault to this many requests (default 1).
    pub fn with_times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
    /// Applies the fault only to requests of this operation.
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.only = Some(operation);
        self
    }
    /// Applies the fault only to requests for this token.
    pub fn with_token(mut self, token: &CustomerToken) -> Self {
        self.token = Some(token.clone());
        self
    }
    /// Applies the fault only to requests with this idempotency key (only
    /// create-order requests carry one).
    pub fn with_key(mut self, key: &IdempotencyKey) -> Self {
        self.key = Some(key.clone());
        self
    }

    /// How many more requests it applies to.
    pub fn times_left(&self) -> u32 {
        self.times
    }
    /// The operation it targets, if any.
    pub fn operation(&self) -> Option<Operation> {
        self.only
    }
    /// The token it targets, if any.
    pub fn token(&self) -> Option<&CustomerToken> {
        self.token.as_ref()
    }
    /// The idempotency key it targets, if any.
    pub fn key(&self) -> Option<&IdempotencyKey> {
        self.key.as_ref()
    }

    /// Whether the fault applies to a request of this operation, for this
    /// token, with this key.
    pub(crate) fn matches(
        &self,
        operation: Option<Operation>,
        token: Option<&str>,
        key: Option<&str>,
    ) -> bool {
        self.only.is_none_or(|only| Some(only) == operation)
            && self
                .token
                .as_ref()
                .is_none_or(|t| Some(t.as_str()) == token)
            && self.key.as_ref().is_none_or(|k| Some(k.as_str()) == key)
    }

    /// The target, in words: `create_order, token …1234, key abc`.
    fn target(&self) -> String {
        let mut parts = Vec::new();
        if let Some(operation) = self.only {
            parts.push(operation.as_str().to_owned());
        }
        if let Some(token) = &self.token {
            parts.push(format!("token {}", token.redacted()));
        }
        if let Some(key) = &self.key {
            parts.push(format!("key {}", key.as_str()));
        }
        if parts.is_empty() {
            "every request".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = |phase: &Phase| match phase {
            Phase::BeforeProcessing => "before processing",
            Phase::AfterProcessing => "after processing",
        };
        match self {
            Self::Status {
                status,
                body,
                content_type,
                headers,
            } => {
                write!(f, "status {status} ({content_type}, {} bytes", body.len())?;
                for (name, value) in headers {
                    write!(f, ", {name}: {value}")?;
                }
                f.write_str(")")
            }
            Self::Drop { phase: p } => write!(f, "drop {}", phase(p)),
            Self::Delay { delay, phase: p } => {
                write!(f, "delay {} ms {}", delay.as_millis(), phase(p))
            }
        }
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("kind", &self.kind.to_string())
            .field("target", &self.target())
            .field("times_left", &self.times)
            .finish()
    }
}
