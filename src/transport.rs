//! Sending one logical call: the generated client's `exec` hook.
//!
//! The generated code builds the request (path, idempotency header, body,
//! serialized once) and hands it to [`CallContext::execute`], which owns
//! everything that happens on the wire: the headers the crate promises, the
//! attempts and the waits between them, and a record of what came back, from
//! which the facade builds its answer or its error.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tracing::Instrument;

use crate::clock::Clock;
use crate::error::{
    ApiError, CallInfo, Error, ErrorBody, Operation, OrderOutcome, Redacted, TransportError,
    TransportKind, UndecodableResponse,
};
use crate::idempotency::IdempotencyKey;
use crate::retry::{self, Attempt, RetryPolicy};

/// The header Klarna names its correlation id in.
pub(crate) const CORRELATION_HEADER: &str = "klarna-correlation-id";

/// What every call of one client shares.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) attempt_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// Credential strings to hide should a server echo them.
    pub(crate) secrets: Vec<secrecy::SecretString>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("authorization", &"<redacted>")
            .field("user_agent", &self.user_agent)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Per-call settings.
#[derive(Clone, Debug)]
pub(crate) struct CallOptions {
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
}

/// The final answer of a call, kept so that the facade can build its error
/// whatever the generated code made of it.
#[derive(Debug)]
struct Recorded {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Default)]
struct Record {
    attempts: u32,
    /// Some attempt may have been processed without the caller knowing.
    ambiguous: bool,
    last: Option<Recorded>,
}

/// One logical call: the generated client's inner value.
pub(crate) struct CallContext {
    shared: Arc<Shared>,
    operation: Operation,
    token: String,
    token_redacted: String,
    options: CallOptions,
    record: Mutex<Record>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("operation", &self.operation)
            .field("token", &self.token_redacted)
            .finish_non_exhaustive()
    }
}

/// What the facade learns from a successful call.
pub(crate) struct Success<T> {
    pub(crate) value: T,
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<String>,
    pub(crate) attempts: u32,
}

impl CallContext {
    pub(crate) fn new(
        shared: Arc<Shared>,
        operation: Operation,
        token: &crate::CustomerToken,
        options: CallOptions,
    ) -> Arc<Self> {
        Arc::new(Self {
            shared,
            operation,
            token: token.as_str().to_owned(),
            token_redacted: token.redacted(),
            options,
            record: Mutex::new(Record::default()),
        })
    }

    /// A generated client whose hooks run this call.
    pub(crate) fn generated(self: &Arc<Self>) -> crate::generated::Client {
        crate::generated::Client::new_with_client(
            &self.shared.base_url,
            self.shared.http.clone(),
            Arc::clone(self),
        )
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        // The record holds plain data; a panic elsewhere cannot leave it
        // inconsistent, so a poisoned lock is still usable.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `request` with the crate's headers, retrying as the policy
    /// allows, and returns the final answer with its body fully read.
    pub(crate) async fn execute(
        &self,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = request;
        self.set_headers(request.headers_mut());
        let clock = &self.shared.clock;
        let policy = &self.options.retry;
        let max_attempts = policy.get_max_retries().saturating_add(1);
        let started = clock.now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            // A copy for the next attempt, made before this one consumes the
            // request: the body bytes are shared, not serialized again.
            let spare = if attempt < max_attempts {
                request.try_clone()
            } else {
                None
            };
            let remaining = policy
                .get_deadline()
                .saturating_sub(clock.now().saturating_sub(started));
            let timeout = self
                .options
                .attempt_timeout
                .min(remaining)
                .max(Duration::from_millis(1));
            *request.timeout_mut() = Some(timeout);

            let span = tracing::debug_span!(
                "klarna.attempt",
                operation = self.operation.as_str(),
                attempt,
                status = tracing::field::Empty,
                correlation_id = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let attempt_started = clock.now();
            let result = self.send(request).instrument(span.clone()).await;
            let elapsed = clock.now().saturating_sub(attempt_started);
            span.record("elapsed_ms", elapsed.as_millis() as u64);

            let (kind, hint) = match &result {
                Ok(answer) => {
                    span.record("status", answer.status());
                    if let Some(id) = header_str(&answer.parts.headers, CORRELATION_HEADER) {
                        span.record("correlation_id", id);
                    }
                    let kind = Attempt::Response {
                        status: answer.status(),
                        json_body: is_json(&answer.parts.headers, &answer.body),
                    };
                    (kind, server_wait(&answer.parts.headers))
                }
                Err(e) => {
                    // reqwest's own message holds the URL, and so the full
                    // token: log only what kind of failure it was.
                    tracing::debug!(
                        parent: &span,
                        timeout = e.is_timeout(),
                        connect = e.is_connect(),
                        "attempt failed"
                    );
                    (Attempt::Transport, None)
                }
            };
            let sent = match &result {
                Ok(_) => true,
                Err(e) => !e.is_connect(),
            };
            {
                let mut record = self.record();
                record.attempts = attempt;
                record.ambiguous |= retry::is_ambiguous(kind, sent);
            }

            if let Some(spare) = spare
                && retry::is_retryable(kind)
            {
                let backoff = policy.backoff(attempt, |max| fastrand::u64(0..=max));
                let wait = match hint {
                    Some(asked) if asked > retry::MAX_SERVER_WAIT => None,
                    Some(asked) => Some(asked.max(backoff)),
                    None => Some(backoff),
                };
                let spent = clock.now().saturating_sub(started);
                if let Some(wait) = wait
                    && spent.saturating_add(wait) < policy.get_deadline()
                {
                    tracing::info!(
                        operation = self.operation.as_str(),
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    clock.sleep(wait).await;
                    request = spare;
                    continue;
                }
            }
            return match result {
                Ok(answer) => Ok(self.keep(answer)),
                Err(e) => Err(e.without_url()),
            };
        }
    }

    fn set_headers(&self, headers: &mut HeaderMap) {
        // Progenitor adds an `api-version` header that Klarna does not know.
        headers.remove("api-version");
        headers.insert(header::AUTHORIZATION, self.shared.authorization.clone());
        headers.insert(header::USER_AGENT, self.shared.user_agent.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }

    /// One attempt: the answer with its body fully read, within the
    /// request's timeout.
    async fn send(&self, request: reqwest::Request) -> reqwest::Result<Answer> {
        use http_body_util::BodyExt as _;
        let response = self.shared.http.execute(request).await?;
        // As http parts, so that the headers are moved rather than copied;
        // the body keeps reqwest's timeout.
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer { parts, body })
    }

    /// Records the final answer and rebuilds a response for the generated
    /// code to decode.
    fn keep(&self, answer: Answer) -> reqwest::Response {
        self.record().last = Some(Recorded {
            status: answer.status(),
            headers: answer.parts.headers.clone(),
            body: answer.body.clone(),
        });
        reqwest::Response::from(http::Response::from_parts(answer.parts, answer.body))
    }

    fn call_info(
        &self,
        idempotency_key: Option<IdempotencyKey>,
        outcome: Option<OrderOutcome>,
    ) -> CallInfo {
        CallInfo {
            operation: self.operation,
            token: self.token_redacted.clone(),
            attempts: self.record().attempts,
            idempotency_key,
            outcome,
        }
    }

    /// Turns the generated code's result into the facade's.
    ///
    /// `decode` reads a success body for statuses the generated code did not
    /// expect (another 2xx).
    pub(crate) fn finish<T>(
        &self,
        result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<ErrorBody>>,
        idempotency_key: Option<IdempotencyKey>,
        decode: impl Fn(&[u8]) -> Result<T, serde_path_to_error::Error<serde_json::Error>>,
    ) -> Result<Success<T>, Error> {
        let attempts = self.record().attempts;
        let err = match result {
            Ok(value) => {
                let correlation_id =
                    header_str(value.headers(), CORRELATION_HEADER).map(str::to_owned);
                return Ok(Success {
                    status: value.status().as_u16(),
                    value: value.into_inner(),
                    correlation_id,
                    attempts,
                });
            }
            Err(err) => err,
        };
        use progenitor_client::Error as G;
        match err {
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                Err(self.transport_error(e, idempotency_key))
            }
            G::ErrorResponse(_) | G::UnexpectedResponse(_) | G::InvalidResponsePayload(_, _) => {
                let recorded = self.record().last.take();
                let Some(recorded) = recorded else {
                    return Err(self.request_error("the answer was lost", idempotency_key));
                };
                if (200..300).contains(&recorded.status) {
                    match decode(&recorded.body) {
                        Ok(value) => Ok(Success {
                            value,
                            status: recorded.status,
                            correlation_id: header_str(&recorded.headers, CORRELATION_HEADER)
                                .map(str::to_owned),
                            attempts,
                        }),
                        Err(e) => Err(self.undecodable(recorded, e, idempotency_key)),
                    }
                } else {
                    Err(self.api_error(recorded, idempotency_key))
                }
            }
            G::InvalidRequest(message) | G::Custom(message) => {
                Err(self.request_error(&message, idempotency_key))
            }
        }
    }

    fn outcome_for_failure(&self, definitive: bool) -> Option<OrderOutcome> {
        if self.operation != Operation::CreateOrder {
            return None;
        }
        let ambiguous = self.record().ambiguous;
        Some(if ambiguous || !definitive {
            OrderOutcome::MayHaveBeenCreated
        } else {
            OrderOutcome::NotCreated
        })
    }

    fn transport_error(&self, e: reqwest::Error, key: Option<IdempotencyKey>) -> Error {
        let e = e.without_url();
        let sent = !e.is_connect();
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Connection
        };
        let detail = if !sent {
            "could not connect".to_owned()
        } else if kind == TransportKind::Timeout {
            "no complete answer within the timeout".to_owned()
        } else {
            "the connection failed after the request was sent".to_owned()
        };
        // A connection that was never made is definitive: nothing was sent.
        let outcome = self.outcome_for_failure(!sent);
        let error = Box::new(TransportError {
            kind,
            detail,
            sent,
            source: Some(Box::new(e)),
            call: self.call_info(key, outcome),
        });
        match kind {
            TransportKind::Timeout => Error::Timeout(error),
            TransportKind::Connection => Error::Connection(error),
        }
    }

    fn request_error(&self, message: &str, key: Option<IdempotencyKey>) -> Error {
        let outcome = self.outcome_for_failure(true);
        Error::Connection(Box::new(TransportError {
            kind: TransportKind::Connection,
            detail: format!("the request could not be sent: {}", self.scrub(message)),
            sent: false,
            source: None,
            call: self.call_info(key, outcome),
        }))
    }

    fn api_error(&self, recorded: Recorded, key: Option<IdempotencyKey>) -> Error {
        let body = ErrorBody::parse(&recorded.body);
        let header_id = header_str(&recorded.headers, CORRELATION_HEADER).map(str::to_owned);
        let content_type = header_str(&recorded.headers, "content-type").map(str::to_owned);
        let retry_after = server_wait(&recorded.headers);
        // Only these answers prove that Klarna refused the order; anything
        // else (409, 429, 3xx, 5xx…) leaves the caller to reconcile.
        let definitive = matches!(recorded.status, 400 | 401 | 403 | 404);
        let outcome = self.outcome_for_failure(definitive);
        let error = ApiError {
            status: recorded.status,
            error_code: body
                .as_ref()
                .and_then(ErrorBody::error_code)
                .map(|code| crate::ErrorCode::from(self.scrub(code.as_str()))),
            error_messages: body
                .as_ref()
                .map(|b| b.messages().iter().map(|m| self.scrub(m)).collect())
                .unwrap_or_default(),
            correlation_id: body
                .as_ref()
                .and_then(ErrorBody::correlation_id)
                .or(header_id)
                .map(|id| self.scrub(&id)),
            reason: body
                .as_ref()
                .and_then(ErrorBody::reason)
                .map(|reason| self.scrub(&reason)),
            fraud_status: body.as_ref().and_then(ErrorBody::fraud_status),
            authorized_payment_method: body.as_ref().and_then(ErrorBody::authorized_payment_method),
            content_type,
            json_body: is_json(&recorded.headers, &recorded.body),
            body_preview: self.preview(&recorded.body),
            raw_body: recorded.body,
            retry_after,
            call: self.call_info(key, outcome),
        };
        Error::Api(Box::new(error))
    }

    fn undecodable(
        &self,
        recorded: Recorded,
        e: serde_path_to_error::Error<serde_json::Error>,
        key: Option<IdempotencyKey>,
    ) -> Error {
        let outcome = (self.operation == Operation::CreateOrder).then_some(OrderOutcome::Created);
        let path = e.path().to_string();
        Error::UndecodableResponse(Box::new(UndecodableResponse {
            status: recorded.status,
            correlation_id: header_str(&recorded.headers, CORRELATION_HEADER)
                .map(|id| self.scrub(id)),
            body_preview: self.preview(&recorded.body),
            raw_body: recorded.body,
            source: Redacted(self.scrub(&e.into_inner().to_string())),
            path: if path == "." { String::new() } else { path },
            call: self.call_info(key, outcome),
        }))
    }

    /// Replaces the full token by its redacted form, and any credential a
    /// server echoed by `<redacted>`.
    fn scrub(&self, text: &str) -> String {
        use secrecy::ExposeSecret as _;
        let mut out = if self.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.token, &self.token_redacted)
        };
        for secret in &self.shared.secrets {
            let secret = secret.expose_secret();
            if secret.len() >= 4 && out.contains(secret) {
                out = out.replace(secret, "<redacted>");
            }
        }
        out
    }

    /// A short, single-line, token-free view of a body for messages.
    fn preview(&self, body: &[u8]) -> String {
        const MAX_CHARS: usize = 200;
        let text = String::from_utf8_lossy(body);
        let text = self.scrub(&text);
        let mut out = String::new();
        for word in text.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
            if out.chars().count() > MAX_CHARS {
                let cut: String = out.chars().take(MAX_CHARS).collect();
                return format!("{cut}…");
            }
        }
        out
    }
}

/// One attempt's answer, its body fully read.
struct Answer {
    parts: http::response::Parts,
    body: Bytes,
}

impl Answer {
    fn status(&self) -> u16 {
        self.parts.status.as_u16()
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a body is a JSON document: by its content type, or failing that
/// by its content.
fn is_json(headers: &HeaderMap, body: &[u8]) -> bool {
    match header_str(headers, "content-type") {
        Some(kind) if kind.to_ascii_lowercase().contains("json") => true,
        Some(_) => false,
        None => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
    }
}

/// The wait a response asks for, from `Retry-After` or `X-Ratelimit-Reset`
/// (the longer of the two).
fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    let retry_after = header_str(headers, "retry-after").and_then(retry::parse_wait);
    let reset = header_str(headers, "x-ratelimit-reset").and_then(retry::parse_wait);
    match (retry_after, reset) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl progenitor_client::ClientHooks<Arc<CallContext>> for crate::generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        self.inner.execute(request).await
    }
}
