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
    ApiError, CallInfo, Error, ErrorFields, Operation, OrderOutcome, Redacted, TransportError,
    TransportKind, UndecodableResponse,
};
use crate::idempotency::IdempotencyKey;
use crate::redact::Scrubber;
use crate::retry::{self, Attempt, RetryPolicy};

/// The default cap on a response body: Klarna's answers are a few hundred
/// bytes.
pub(crate) const DEFAULT_MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Up to this size a body's buffer grows by doubling; past it, it is grown
/// to the cap at once, so that reading never holds much more than the cap.
const DOUBLING_LIMIT: usize = 64 * 1024;

/// The header Klarna names its correlation id in.
use crate::headers::CORRELATION_ID as CORRELATION_HEADER;

/// What every call of one client shares.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) attempt_timeout: Duration,
    /// The most bytes of a response body that are read.
    pub(crate) max_response_body: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// Credential strings to hide should a server echo them.
    pub(crate) secrets: Vec<secrecy::SecretString>,
    /// The client's own rate limit, shared by every clone of the client.
    pub(crate) rate_limit: Option<crate::rate_limit::RateLimit>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("authorization", &"<redacted>")
            .field("user_agent", &self.user_agent)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_response_body", &self.max_response_body)
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
    /// The answer was longer than the cap; `body` holds its first bytes.
    truncated: bool,
}

#[derive(Debug, Default)]
struct Record {
    attempts: u32,
    /// Some attempt may have been processed without the caller knowing.
    ambiguous: bool,
    /// The client's rate limit would have delayed the next attempt past the
    /// deadline by this total wait; that attempt was not sent.
    rate_limited: Option<Duration>,
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
            if let Some(limit) = &self.shared.rate_limit
                && let Err(needed) = limit.acquire(remaining).await
            {
                self.record().rate_limited = Some(needed);
                // The generated code needs a response; `finish` reads the
                // record and answers with `Error::RateLimited` instead.
                let mut stand_in = http::Response::new(Bytes::new());
                *stand_in.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
                return Ok(reqwest::Response::from(stand_in));
            }

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
                        span.record("correlation_id", self.scrubber().scrub(id));
                    }
                    if answer.truncated {
                        tracing::debug!(
                            parent: &span,
                            limit = self.shared.max_response_body,
                            "the answer exceeded the body cap"
                        );
                    }
                    let kind = Attempt::Response {
                        status: answer.status(),
                        json_body: is_json(&answer.parts.headers, &answer.body),
                    };
                    (kind, server_wait(answer.status(), &answer.parts.headers))
                }
                Err(e) => {
                    // reqwest's own message holds the URL, and so the full
                    // token: log only what kind of failure it was.
                    tracing::debug!(
                        parent: &span,
                        timeout = e.is_timeout(),
                        connect = e.is_connect(),
                        malformed = is_malformed_head(e),
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

    /// One attempt: the answer with its body read up to the cap, within the
    /// request's timeout.
    async fn send(&self, request: reqwest::Request) -> reqwest::Result<Answer> {
        let response = self.shared.http.execute(request).await?;
        // As http parts, so that the headers are moved rather than copied;
        // the body keeps reqwest's timeout.
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let length = header_str(&parts.headers, "content-length").and_then(|v| v.parse().ok());
        let (body, truncated) = read_capped(body, self.shared.max_response_body, length).await?;
        Ok(Answer {
            parts,
            body,
            truncated,
        })
    }

    /// Records the final answer and rebuilds a response for the generated
    /// code to decode. The body is shared, not copied. An answer past the
    /// cap is handed over without a body: the facade turns it into an error
    /// whatever the generated code makes of it.
    fn keep(&self, answer: Answer) -> reqwest::Response {
        let handed = if answer.truncated {
            Bytes::new()
        } else {
            answer.body.clone()
        };
        self.record().last = Some(Recorded {
            status: answer.status(),
            headers: answer.parts.headers.clone(),
            body: answer.body,
            truncated: answer.truncated,
        });
        reqwest::Response::from(http::Response::from_parts(answer.parts, handed))
    }

    /// The scrub for every server-supplied value of this call.
    fn scrubber(&self) -> Scrubber<'_> {
        Scrubber::new(&self.token, &self.token_redacted, &self.shared.secrets)
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
    /// Generic over the generated error type `E`, which it never reads: the
    /// generated code makes `Error<()>` or `Error<ErrorBody>` depending on
    /// whether the description declares error bodies, and the facade builds
    /// its errors from the recorded answer either way.
    ///
    /// `decode` reads a success body for statuses the generated code did not
    /// expect (another 2xx).
    pub(crate) fn finish<T, E>(
        &self,
        result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
        idempotency_key: Option<IdempotencyKey>,
        decode: impl Fn(&[u8]) -> Result<T, serde_path_to_error::Error<serde_json::Error>>,
    ) -> Result<Success<T>, Error> {
        let attempts = self.record().attempts;
        let rate_limited = self.record().rate_limited;
        if let Some(needed) = rate_limited {
            // Nothing of this attempt was sent: the outcome is that of the
            // attempts before it.
            let outcome = self.outcome_for_failure(true);
            return Err(Error::RateLimited(Box::new(crate::error::RateLimited {
                needed,
                call: self.call_info(idempotency_key, outcome),
            })));
        }
        // An answer past the cap is an error whatever its status, even when
        // the generated code needed no body (a 202).
        let oversized = {
            let mut record = self.record();
            match record.last.take() {
                Some(last) if last.truncated => Some(last),
                other => {
                    record.last = other;
                    None
                }
            }
        };
        if let Some(recorded) = oversized {
            return Err(if (200..300).contains(&recorded.status) {
                let message = format!(
                    "the answer exceeded {} bytes",
                    self.shared.max_response_body
                );
                self.undecodable(recorded, message, String::new(), idempotency_key)
            } else {
                self.api_error(recorded, idempotency_key)
            });
        }
        let err = match result {
            Ok(value) => {
                let correlation_id = header_str(value.headers(), CORRELATION_HEADER)
                    .map(|id| self.scrubber().scrub(id));
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
                                .map(|id| self.scrubber().scrub(id)),
                            attempts,
                        }),
                        Err(e) => {
                            let path = e.path().to_string();
                            let path = if path == "." { String::new() } else { path };
                            let message = e.into_inner().to_string();
                            Err(self.undecodable(recorded, message, path, idempotency_key))
                        }
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
        } else if is_malformed_head(&e) {
            TransportKind::MalformedResponse
        } else {
            TransportKind::Connection
        };
        let detail = if !sent {
            "could not connect".to_owned()
        } else {
            match kind {
                TransportKind::Timeout => "no complete answer within the timeout",
                TransportKind::MalformedResponse => {
                    "the response head was not valid HTTP or was too large"
                }
                _ => "the connection failed after the request was sent",
            }
            .to_owned()
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
            _ => Error::Connection(error),
        }
    }

    fn request_error(&self, message: &str, key: Option<IdempotencyKey>) -> Error {
        let outcome = self.outcome_for_failure(true);
        Error::Connection(Box::new(TransportError {
            kind: TransportKind::Connection,
            detail: format!(
                "the request could not be sent: {}",
                self.scrubber().scrub(message)
            ),
            sent: false,
            source: None,
            call: self.call_info(key, outcome),
        }))
    }

    fn api_error(&self, recorded: Recorded, key: Option<IdempotencyKey>) -> Error {
        let scrubber = self.scrubber();
        let scrub = |text: &str| scrubber.scrub(text);
        // Klarna's fields are read only from a whole, short body.
        let mut fields = if recorded.truncated {
            None
        } else {
            ErrorFields::parse(&recorded.body)
        };
        let fields_ref = fields.as_ref();
        let header_id = header_str(&recorded.headers, CORRELATION_HEADER);
        let retry_after = server_wait(recorded.status, &recorded.headers);
        // Only these answers prove that Klarna refused the order (a 429 is
        // the gateway's refusal before processing); anything else (409, 3xx,
        // 5xx…) leaves the caller to reconcile.
        let definitive = matches!(recorded.status, 400 | 401 | 403 | 404 | 429);
        let outcome = self.outcome_for_failure(definitive);
        let error = ApiError {
            status: recorded.status,
            error_code: fields_ref
                .and_then(ErrorFields::error_code)
                .map(|code| crate::ErrorCode::from(scrub(code))),
            error_messages: fields_ref
                .map(|f| f.messages().map(scrub).collect())
                .unwrap_or_default(),
            correlation_id: fields_ref
                .and_then(ErrorFields::correlation_id)
                .or(header_id)
                .map(scrub),
            reason: fields_ref.and_then(ErrorFields::reason).map(scrub),
            fraud_status: fields_ref
                .and_then(ErrorFields::fraud_status)
                .map(|status| crate::FraudStatus::from(scrub(status.as_str()))),
            authorized_payment_method: fields
                .as_mut()
                .and_then(ErrorFields::authorized_payment_method),
            content_type: header_str(&recorded.headers, "content-type").map(scrub),
            json_body: is_json(&recorded.headers, &recorded.body),
            body_preview: scrubber.preview(&recorded.body),
            body_limit: recorded.truncated.then_some(self.shared.max_response_body),
            raw_body: recorded.body,
            retry_after,
            call: self.call_info(key, outcome),
        };
        Error::Api(Box::new(error))
    }

    fn undecodable(
        &self,
        recorded: Recorded,
        message: String,
        path: String,
        key: Option<IdempotencyKey>,
    ) -> Error {
        let outcome = (self.operation == Operation::CreateOrder).then_some(OrderOutcome::Created);
        let scrubber = self.scrubber();
        Error::UndecodableResponse(Box::new(UndecodableResponse {
            status: recorded.status,
            correlation_id: header_str(&recorded.headers, CORRELATION_HEADER)
                .map(|id| scrubber.scrub(id)),
            body_preview: scrubber.preview(&recorded.body),
            body_limit: recorded.truncated.then_some(self.shared.max_response_body),
            raw_body: recorded.body,
            // A decoder quotes the values it rejects.
            source: Redacted(scrubber.scrub(&message)),
            path: scrubber.scrub(&path),
            call: self.call_info(key, outcome),
        }))
    }
}

/// Reads a body up to `limit` bytes, checking the cap as each frame
/// arrives: at most `limit` bytes are ever kept, and the rest of an answer
/// past the cap is never read (the connection is then closed). Returns the
/// bytes and whether the answer was longer. A body that arrives in one frame
/// is moved, not copied.
async fn read_capped(
    mut body: reqwest::Body,
    limit: usize,
    length: Option<u64>,
) -> reqwest::Result<(Bytes, bool)> {
    use http_body_util::BodyExt as _;
    // A declared length within the cap is allocated at once (should more
    // come, the buffer grows, still within the cap).
    let declared = length
        .and_then(|l| usize::try_from(l).ok())
        .filter(|&l| l <= limit);
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    let mut kept = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        let room = limit - kept;
        let take = data.len().min(room);
        let over = data.len() > room;
        if kept == 0 {
            if over {
                // Keep only what fits; `slice` shares the frame's bytes.
                return Ok((data.slice(..take), true));
            }
            kept = take;
            first = Some(data);
            continue;
        }
        if take == 0 {
            // Full already: what was kept is the answer.
            let kept = first.take().unwrap_or_else(|| finish_buffer(buffer));
            return Ok((kept, true));
        }
        if let Some(first) = first.take() {
            buffer.reserve_exact(declared.unwrap_or(0).max(kept + take));
            buffer.extend_from_slice(&first);
        }
        reserve(&mut buffer, kept + take, limit);
        buffer.extend_from_slice(&data[..take]);
        kept += take;
        if over {
            return Ok((finish_buffer(buffer), true));
        }
    }
    Ok(match first {
        Some(first) => (first, false),
        None => (finish_buffer(buffer), false),
    })
}

/// Makes room for `needed` bytes in `buffer`, never past `limit`: doubling
/// while small, then straight to the cap.
fn reserve(buffer: &mut Vec<u8>, needed: usize, limit: usize) {
    let needed = needed.min(limit);
    if needed <= buffer.capacity() {
        return;
    }
    let target = if needed <= DOUBLING_LIMIT {
        buffer.capacity().saturating_mul(2).max(needed).min(limit)
    } else {
        limit
    };
    buffer.reserve_exact(target - buffer.len());
}

fn finish_buffer(mut buffer: Vec<u8>) -> Bytes {
    if buffer.capacity() - buffer.len() > buffer.len() / 4 {
        buffer.shrink_to_fit();
    }
    Bytes::from(buffer)
}

/// Whether an attempt failed because the answer's head could not be parsed
/// (or was too large), as opposed to a connection that failed.
fn is_malformed_head(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            // Any parse error of the head, a head too large included.
            return hyper.is_parse();
        }
        source = cause.source();
    }
    false
}

/// One attempt's answer, its body read up to the cap.
struct Answer {
    parts: http::response::Parts,
    body: Bytes,
    /// The answer was longer than the cap; `body` holds its first bytes.
    truncated: bool,
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

/// The wait an answer asks for: on a 429 or a 503 only, the longer of
/// `Retry-After` and `X-Ratelimit-Reset`. Klarna sends the latter on every
/// answer; elsewhere it is not a request to wait.
fn server_wait(status: u16, headers: &HeaderMap) -> Option<Duration> {
    if !retry::status_asks_for_wait(status) {
        return None;
    }
    let now = std::time::SystemTime::now();
    let parse = |name| header_str(headers, name).and_then(|v| retry::parse_wait(v, now));
    let retry_after = parse(crate::headers::RETRY_AFTER);
    let reset = parse(crate::headers::RATELIMIT_RESET);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn context(operation: Operation) -> Arc<CallContext> {
        let client = crate::Client::builder()
            .basic_auth("K123456_abcd12345", "shared-secret")
            .base_url("http://127.0.0.1:9")
            .build()
            .expect("client");
        let token = crate::CustomerToken::new(TOKEN).expect("token");
        CallContext::new(
            Arc::clone(&client.shared),
            operation,
            &token,
            CallOptions {
                retry: RetryPolicy::none(),
                attempt_timeout: Duration::from_secs(1),
            },
        )
    }

    const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

    fn decode_u32(body: &[u8]) -> Result<u32, serde_path_to_error::Error<serde_json::Error>> {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de)
    }

    fn record(ctx: &CallContext, status: u16, body: &'static [u8], truncated: bool) {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(
            CORRELATION_HEADER,
            HeaderValue::from_str(&format!("id-{TOKEN}")).expect("header"),
        );
        let mut record = ctx.record();
        record.attempts = 1;
        record.last = Some(Recorded {
            status,
            headers,
            body: Bytes::from_static(body),
            truncated,
        });
    }

    /// The generated code makes `Error<()>` for an operation whose error
    /// responses declare no body; `finish` takes it as it takes any other.
    #[test]
    fn finish_takes_a_generated_error_without_a_body_type() {
        type Unit = progenitor_client::Error<()>;
        let ctx = context(Operation::ReadToken);
        record(&ctx, 404, br#"{"error_code":"TOKEN_NOT_FOUND"}"#, false);
        let result: Result<progenitor_client::ResponseValue<u32>, Unit> = Err(
            progenitor_client::Error::ErrorResponse(progenitor_client::ResponseValue::new(
                (),
                reqwest::StatusCode::NOT_FOUND,
                HeaderMap::new(),
            )),
        );
        let e = ctx
            .finish(result, None, decode_u32)
            .err()
            .expect("an error");
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("TOKEN_NOT_FOUND"));
        assert_eq!(e.correlation_id(), Some("id-…9e00"));

        let result: Result<progenitor_client::ResponseValue<u32>, Unit> = Err(
            progenitor_client::Error::InvalidRequest(format!("bad {TOKEN}")),
        );
        let e = ctx
            .finish(result, None, decode_u32)
            .err()
            .expect("an error");
        assert!(matches!(e, Error::Connection(_)), "{e:?}");
        assert!(!e.to_string().contains(TOKEN), "{e}");

        // The same with the error type the canonical description makes.
        let ctx = context(Operation::ReadToken);
        record(&ctx, 200, b"7", false);
        let result: Result<
            progenitor_client::ResponseValue<u32>,
            progenitor_client::Error<crate::error::ErrorBody>,
        > = Err(progenitor_client::Error::InvalidResponsePayload(
            Bytes::new(),
            serde_json::from_str::<u32>("x").expect_err("not json"),
        ));
        let Ok(success) = ctx.finish(result, None, decode_u32) else {
            panic!("not decoded");
        };
        assert_eq!(success.value, 7);
        assert_eq!(success.correlation_id.as_deref(), Some("id-…9e00"));
    }

    #[test]
    fn an_oversized_answer_is_an_error_whatever_the_generated_code_made_of_it() {
        let ctx = context(Operation::CreateOrder);
        record(&ctx, 202, b"{}", true);
        let ok: Result<progenitor_client::ResponseValue<u32>, progenitor_client::Error<()>> =
            Ok(progenitor_client::ResponseValue::new(
                1,
                reqwest::StatusCode::ACCEPTED,
                HeaderMap::new(),
            ));
        let e = ctx.finish(ok, None, decode_u32).err().expect("an error");
        let Error::UndecodableResponse(u) = &e else {
            panic!("{e:?}");
        };
        assert!(u.body_truncated());
        assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
        assert!(e.to_string().contains("exceeded 1048576 bytes"), "{e}");
    }

    fn chunked(chunks: Vec<&'static [u8]>) -> reqwest::Body {
        let stream = futures_util_stream(chunks);
        reqwest::Body::wrap_stream(stream)
    }

    /// A stream of chunks, without a stream crate.
    fn futures_util_stream(
        chunks: Vec<&'static [u8]>,
    ) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static
    {
        struct Chunks(std::collections::VecDeque<&'static [u8]>);
        impl futures_core::Stream for Chunks {
            type Item = Result<Bytes, std::io::Error>;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                std::task::Poll::Ready(self.0.pop_front().map(|c| Ok(Bytes::from_static(c))))
            }
        }
        Chunks(chunks.into())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn bodies_are_read_up_to_the_cap() {
        // (frames, cap, kept, cut)
        type Case = (Vec<&'static [u8]>, usize, &'static [u8], bool);
        let cases: &[Case] = &[
            (vec![], 4, b"", false),
            (vec![b"abcd"], 4, b"abcd", false),
            (vec![b"abcde"], 4, b"abcd", true),
            (vec![b"ab", b"cd"], 4, b"abcd", false),
            (vec![b"ab", b"cd", b"e"], 4, b"abcd", true),
            (vec![b"abcd", b"e"], 4, b"abcd", true),
            (vec![b"ab", b"", b"cdef"], 4, b"abcd", true),
            (vec![b"a"], 0, b"", true),
            (vec![b"", b""], 0, b"", false),
        ];
        for (chunks, limit, kept, truncated) in cases {
            let (body, cut) = read_capped(chunked(chunks.clone()), *limit, None)
                .await
                .expect("read");
            assert_eq!((&body[..], cut), (*kept, *truncated), "{chunks:?} {limit}");
            assert!(body.len() <= *limit);
        }
        // A declared length is allocated once; a lying one is still capped.
        let (body, cut) = read_capped(chunked(vec![b"ab", b"cdef"]), 5, Some(3))
            .await
            .expect("read");
        assert_eq!((&body[..], cut), (&b"abcde"[..], true));
    }

    #[test]
    fn buffers_grow_within_the_cap() {
        let limit = 1024 * 1024;
        let mut buffer = Vec::new();
        let mut len = 0;
        while len < limit {
            len = (len + 10_000).min(limit);
            reserve(&mut buffer, len, limit);
            assert!(buffer.capacity() >= len && buffer.capacity() <= limit);
            buffer.resize(len, 0);
        }
        assert_eq!(buffer.capacity(), limit);
    }
}
