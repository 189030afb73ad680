//! What the generated call returned, read into the facade's value or error.
//!
//! The hook hands the generated code each answer with its body bounded by
//! the cap: a body past the cap arrives as its first bytes and one more
//! (see `transport`). The generated code decodes a
//! declared success into the facade's type and returns every error status
//! as `Error::ErrorResponse` with its status, headers and raw bytes (the
//! canonical form declares error bodies raw). [`Answered::read`] sorts what
//! came back into what the retry loop classifies; [`Reading::finish`] makes
//! the call's result of the last one, reading Klarna's error fields
//! leniently from the bytes.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use progenitor_client::{ByteStream, ResponseValue};
use reqwest::header::{HeaderMap, HeaderValue};

use super::redact::Scrubber;
use super::{Attempt, CORRELATION, Shared};
use crate::error::{
    ApiError, CallInfo, Error, ErrorFields, RateLimited, Redacted, TransportError, TransportKind,
    UndecodableResponse,
};
use crate::headers::CORRELATION_ID;
use crate::idempotency::IdempotencyKey;
use crate::operation::Operation;
use crate::outcome::{self, OrderOutcome};
use crate::retry;
use crate::token::CustomerToken;

/// Up to this size a body's buffer grows by doubling; past it, it is grown
/// to the cap at once, so that reading never holds much more than the cap.
const DOUBLING_LIMIT: usize = 64 * 1024;

/// What one generated call returns.
pub(crate) type Generated<T> = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>;

/// One answer, its body as the hook handed it on.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    /// At most the cap's bytes.
    pub(crate) body: Bytes,
    /// The answer was longer than the cap; `body` holds its first bytes.
    pub(crate) truncated: bool,
}

impl Answer {
    /// An answer whose body the hook read up to one byte past `cap`: a body
    /// longer than `cap` was cut, and is kept up to the cap (shared, not
    /// copied).
    pub(crate) fn new(status: u16, headers: HeaderMap, body: Bytes, cap: usize) -> Self {
        let truncated = body.len() > cap;
        let body = if truncated { body.slice(..cap) } else { body };
        Self {
            status,
            headers,
            body,
            truncated,
        }
    }
}

/// What one attempt came to.
pub(crate) enum Answered<T> {
    /// The declared success, decoded by the generated code, with its
    /// correlation id (as the hook recorded it: the one reading of the
    /// header).
    Value(ResponseValue<T>, Option<HeaderValue>),
    /// Any other answer, whole: an error status, a status the description
    /// does not declare, or a success the generated decoder refused or that
    /// was longer than the cap.
    Other(Answer),
    /// No complete answer: the connection failed or timed out.
    Failed(reqwest::Error),
    /// The request could not be made; nothing was sent.
    NotSent(String),
}

impl<T> Answered<T> {
    /// Sorts what a generated call returned.
    pub(crate) async fn read(result: Generated<T>, attempt: &Attempt) -> Self {
        match result {
            Ok(value) => match attempt.head() {
                Some(head @ super::Head { cut: Some(_), .. }) => {
                    // Its first bytes decoded, but the answer was longer
                    // than the cap.
                    Self::from_head(head.clone(), attempt)
                }
                Some(head) => Self::Value(value, head.correlation_id.clone()),
                None => {
                    let id = value.headers().get(CORRELATION).cloned();
                    Self::Value(value, id)
                }
            },
            Err(e) => Self::failed(e, attempt).await,
        }
    }

    /// The answer a generated call returned as an error.
    async fn failed(e: progenitor_client::Error<ByteStream>, attempt: &Attempt) -> Self {
        use progenitor_client::Error as G;
        let cap = attempt.shared.max_response_body;
        match e {
            G::ErrorResponse(value) => Self::streamed(value, cap).await,
            G::UnexpectedResponse(response) => {
                let (parts, body) = http::Response::from(response).into_parts();
                match body.collect().await {
                    Ok(body) => Self::Other(Answer::new(
                        parts.status.as_u16(),
                        parts.headers,
                        body.to_bytes(),
                        cap,
                    )),
                    Err(e) => Self::Failed(e),
                }
            }
            G::InvalidResponsePayload(body, _) => match attempt.head() {
                Some(head) => Self::from_head(
                    super::Head {
                        cut: Some(body),
                        ..head.clone()
                    },
                    attempt,
                ),
                None => Self::NotSent("the answer was lost".to_owned()),
            },
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                if e.is_builder() {
                    // The request could not be built: it never left.
                    Self::NotSent(e.without_url().to_string())
                } else {
                    Self::Failed(e)
                }
            }
            G::InvalidRequest(message) | G::Custom(message) => Self::NotSent(message),
        }
    }

    /// A success answer from what the hook recorded of it (see
    /// [`Head`](super::Head)), its body in `head.cut`.
    fn from_head(head: super::Head, attempt: &Attempt) -> Self {
        let mut headers = HeaderMap::new();
        if let Some(id) = head.correlation_id {
            headers.insert(CORRELATION, id);
        }
        let body = head.cut.unwrap_or_default();
        Self::Other(Answer::new(
            head.status,
            headers,
            body,
            attempt.shared.max_response_body,
        ))
    }

    /// An answer whose body the generated code hands on as raw bytes.
    async fn streamed(value: ResponseValue<ByteStream>, cap: usize) -> Self {
        let status = value.status().as_u16();
        let headers = value.headers().clone();
        let body = reqwest::Body::wrap_stream(value.into_inner().into_inner());
        match body.collect().await {
            Ok(body) => Self::Other(Answer::new(status, headers, body.to_bytes(), cap)),
            Err(e) => Self::Failed(e),
        }
    }

    /// How the attempt ended, as the retry table and the outcome rules see
    /// it; `None` when nothing was sent.
    pub(crate) fn kind(&self) -> Option<retry::Attempt> {
        match self {
            Self::Value(value, _) => Some(retry::Attempt::Response {
                status: value.status().as_u16(),
                json_body: true,
            }),
            Self::Other(answer) => Some(retry::Attempt::Response {
                status: answer.status,
                json_body: is_json(&answer.headers, &answer.body),
            }),
            Self::Failed(_) => Some(retry::Attempt::Transport),
            Self::NotSent(_) => None,
        }
    }

    /// Whether the request may have reached the server.
    pub(crate) fn reached_server(&self) -> bool {
        match self {
            Self::Value(..) | Self::Other(_) => true,
            Self::Failed(e) => !e.is_connect(),
            Self::NotSent(_) => false,
        }
    }

    /// The wait the answer asks for, if any.
    pub(crate) fn asked_wait(&self) -> Option<Duration> {
        match self {
            Self::Other(answer) => server_wait(answer.status, &answer.headers),
            _ => None,
        }
    }
}

impl Answered<()> {
    /// Sorts what a generated call whose success body is raw bytes
    /// (cancel's 202) returned: its success is read whole, as any other
    /// answer, so that one past the cap is refused.
    pub(crate) async fn read_raw(result: Generated<ByteStream>, attempt: &Attempt) -> Self {
        match result {
            Ok(value) => Self::streamed(value, attempt.shared.max_response_body).await,
            Err(e) => Self::failed(e, attempt).await,
        }
    }
}

/// What the retry loop learned over all attempts of a call.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) attempts: u32,
    /// Some attempt may have been processed without the caller knowing.
    pub(crate) ambiguous: bool,
}

/// What the facade learns from a successful call.
pub(crate) struct Success<T> {
    pub(crate) value: T,
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<String>,
    pub(crate) attempts: u32,
}

/// A success body's decoder, naming the path of the first problem.
pub(crate) type Decode<T> = fn(&[u8]) -> Result<T, serde_path_to_error::Error<serde_json::Error>>;

/// The reading of one call's last attempt into the facade's result.
pub(crate) struct Reading<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) operation: Operation,
    pub(crate) token: &'a CustomerToken,
    pub(crate) tally: Tally,
    pub(crate) key: Option<&'a IdempotencyKey>,
}

impl Reading<'_> {
    /// The call's result from its last attempt. `decode` reads a success
    /// body the generated code did not decode (another 2xx) or could not
    /// (to name the path of the problem).
    pub(crate) fn finish<T>(
        &self,
        answered: Answered<T>,
        decode: Decode<T>,
    ) -> Result<Success<T>, Error> {
        match answered {
            Answered::Value(value, id) => {
                let status = value.status().as_u16();
                Ok(self.success(value.into_inner(), status, id.as_ref()))
            }
            Answered::Other(answer) => self.read_answer(answer, decode),
            Answered::Failed(e) => Err(self.transport_error(e)),
            Answered::NotSent(message) => Err(self.request_error(&message)),
        }
    }

    /// The client's rate limit would have delayed the next attempt past the
    /// deadline by `needed`: it was not sent, and the outcome is that of
    /// the attempts before it.
    pub(crate) fn rate_limited(&self, needed: Duration) -> Error {
        let outcome = self.outcome_for_failure(true);
        Error::RateLimited(Box::new(RateLimited {
            needed,
            call: self.call_info(outcome),
        }))
    }

    /// A whole answer: a success when it is a 2xx, else Klarna's error.
    fn read_answer<T>(&self, answer: Answer, decode: Decode<T>) -> Result<Success<T>, Error> {
        if (200..300).contains(&answer.status) {
            self.read_success(answer, decode)
        } else {
            Err(self.api_error(answer))
        }
    }

    fn success<T>(&self, value: T, status: u16, id: Option<&HeaderValue>) -> Success<T> {
        let correlation_id = id.and_then(|id| id.to_str().ok()).map(|id| self.scrub(id));
        Success {
            value,
            status,
            correlation_id,
            attempts: self.tally.attempts,
        }
    }

    /// A 2xx answer the generated decoder did not decode. An answer past the
    /// cap is an error whatever its status, even when no body was needed (a
    /// 202).
    fn read_success<T>(&self, answer: Answer, decode: Decode<T>) -> Result<Success<T>, Error> {
        if answer.truncated {
            let message = format!(
                "the answer exceeded {} bytes",
                self.shared.max_response_body
            );
            return Err(self.undecodable(answer, message, String::new()));
        }
        match decode(&answer.body) {
            Ok(value) => {
                let id = answer.headers.get(CORRELATION);
                Ok(self.success(value, answer.status, id))
            }
            Err(e) => {
                let path = crate::violation::json_path(e.path());
                let message = e.into_inner().to_string();
                Err(self.undecodable(answer, message, path))
            }
        }
    }

    fn scrub(&self, text: &str) -> String {
        let redacted = self.token.redacted();
        Scrubber::new(self.token.as_str(), &redacted, &self.shared.secrets).scrub(text)
    }

    fn outcome_for_failure(&self, definitive: bool) -> Option<OrderOutcome> {
        outcome::after_failure(self.operation, self.tally.ambiguous, definitive)
    }

    fn call_info(&self, outcome: Option<OrderOutcome>) -> CallInfo {
        CallInfo {
            operation: self.operation,
            token: self.token.redacted(),
            attempts: self.tally.attempts,
            idempotency_key: self.key.cloned(),
            outcome,
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
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
            "could not connect"
        } else {
            match kind {
                TransportKind::Timeout => "no complete answer within the timeout",
                TransportKind::MalformedResponse => {
                    "the response head was not valid HTTP or was too large"
                }
                _ => "the connection failed after the request was sent",
            }
        };
        // A connection that was never made is definitive: nothing was sent.
        let outcome = self.outcome_for_failure(!sent);
        let error = Box::new(TransportError {
            kind,
            detail: detail.to_owned(),
            sent,
            source: Some(Box::new(e)),
            call: self.call_info(outcome),
        });
        match kind {
            TransportKind::Timeout => Error::Timeout(error),
            _ => Error::Connection(error),
        }
    }

    fn request_error(&self, message: &str) -> Error {
        let outcome = self.outcome_for_failure(true);
        Error::Connection(Box::new(TransportError {
            kind: TransportKind::Connection,
            detail: format!("the request could not be sent: {}", self.scrub(message)),
            sent: false,
            source: None,
            call: self.call_info(outcome),
        }))
    }

    fn api_error(&self, answer: Answer) -> Error {
        let redacted = self.token.redacted();
        let scrubber = Scrubber::new(self.token.as_str(), &redacted, &self.shared.secrets);
        let scrub = |text: &str| scrubber.scrub(text);
        // Klarna's fields are read only from a whole, short body.
        let mut fields = if answer.truncated {
            None
        } else {
            ErrorFields::parse(&answer.body)
        };
        let fields_ref = fields.as_ref();
        let header_id = header_str(&answer.headers, CORRELATION_ID);
        let retry_after = server_wait(answer.status, &answer.headers);
        let outcome = self.outcome_for_failure(outcome::proves_refusal(answer.status));
        let error = ApiError {
            status: answer.status,
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
            content_type: header_str(&answer.headers, "content-type").map(scrub),
            json_body: is_json(&answer.headers, &answer.body),
            body_preview: scrubber.preview(&answer.body),
            body_limit: answer.truncated.then_some(self.shared.max_response_body),
            raw_body: answer.body,
            retry_after,
            call: self.call_info(outcome),
        };
        Error::Api(Box::new(error))
    }

    fn undecodable(&self, answer: Answer, message: String, path: String) -> Error {
        let redacted = self.token.redacted();
        let scrubber = Scrubber::new(self.token.as_str(), &redacted, &self.shared.secrets);
        let correlation_id =
            header_str(&answer.headers, CORRELATION_ID).map(|id| scrubber.scrub(id));
        Error::UndecodableResponse(Box::new(UndecodableResponse {
            status: answer.status,
            correlation_id,
            body_preview: scrubber.preview(&answer.body),
            body_limit: answer.truncated.then_some(self.shared.max_response_body),
            raw_body: answer.body,
            // A decoder quotes the values it rejects.
            source: Redacted(scrubber.scrub(&message)),
            path: scrubber.scrub(&path),
            call: self.call_info(outcome::after_undecodable_success(self.operation)),
        }))
    }
}

/// Reads a body up to `limit` bytes, checking the cap as each frame
/// arrives: at most `limit` bytes are ever kept, and the rest of an answer
/// past the cap is never read (the connection is then closed). Returns the
/// bytes and whether the answer was longer. A body that arrives in one frame
/// is moved, not copied.
pub(crate) async fn read_capped(
    body: &mut impl Chunks,
    limit: usize,
    length: Option<u64>,
) -> reqwest::Result<(Bytes, bool)> {
    // A declared length within the cap is allocated at once (should more
    // come, the buffer grows, still within the cap).
    let declared = length
        .and_then(|l| usize::try_from(l).ok())
        .filter(|&l| l <= limit);
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    let mut kept = 0usize;
    while let Some(data) = body.next_chunk().await? {
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

/// A body read chunk by chunk (trailers skipped).
pub(crate) trait Chunks {
    fn next_chunk(&mut self) -> impl Future<Output = reqwest::Result<Option<Bytes>>> + Send;
}

/// A response is read in place, so that the hook can hand it on with its
/// head.
impl Chunks for reqwest::Response {
    fn next_chunk(&mut self) -> impl Future<Output = reqwest::Result<Option<Bytes>>> + Send {
        self.chunk()
    }
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
pub(crate) fn is_malformed_head(e: &reqwest::Error) -> bool {
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

/// A header's value when it is visible ASCII.
pub(crate) fn header_str(
    headers: &HeaderMap,
    name: impl reqwest::header::AsHeaderName,
) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a body is a JSON document: by its content type, or failing that
/// by its content.
pub(crate) fn is_json(headers: &HeaderMap, body: &[u8]) -> bool {
    match header_str(headers, reqwest::header::CONTENT_TYPE) {
        // Klarna's own content type, before the general search.
        Some(kind) if kind.starts_with("application/json") => true,
        // "json" in any ASCII case, without a lowercased copy.
        Some(kind)
            if kind
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"json")) =>
        {
            true
        }
        Some(_) => false,
        None => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
    }
}

/// The wait an answer asks for: on a 429 or a 503 only, the longer of
/// `Retry-After` and `X-Ratelimit-Reset`. Klarna sends the latter on every
/// answer; elsewhere it is not a request to wait.
pub(crate) fn server_wait(status: u16, headers: &HeaderMap) -> Option<Duration> {
    if !crate::retry::status_asks_for_wait(status) {
        return None;
    }
    let now = std::time::SystemTime::now();
    let parse = |name| header_str(headers, name).and_then(|v| crate::retry::parse_wait(v, now));
    let retry_after = parse(crate::headers::RETRY_AFTER);
    let reset = parse(crate::headers::RATELIMIT_RESET);
    match (retry_after, reset) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
