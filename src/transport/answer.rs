//! An answer, from the wire to the facade's value or error.
//!
//! The attempt loop reads each answer's body up to the cap
//! ([`read_capped`]). The final answer then goes one of two ways, and its
//! body is moved, never copied:
//!
//! - a whole 2xx answer goes to the generated decoder, inside the rebuilt
//!   response it expects ([`hand_over`]);
//! - any other answer (an error status, or a body past the cap) goes past the
//!   generated decoder untouched, inside a stand-in response the generated
//!   code returns as it is (`UnexpectedResponse`), and [`Reading::settle`]
//!   takes it back from there.
//!
//! What the loop learned across the attempts (how many, whether one was
//! ambiguous, the final status and correlation id) comes with it as a
//! [`Tally`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use super::Shared;
use super::redact::Scrubber;
use crate::error::{
    ApiError, CallInfo, Error, ErrorFields, RateLimited, Redacted, TransportError, TransportKind,
    UndecodableResponse,
};
use crate::headers::CORRELATION_ID;
use crate::idempotency::IdempotencyKey;
use crate::operation::Operation;
use crate::outcome::{self, OrderOutcome};
use crate::token::CustomerToken;

/// Up to this size a body's buffer grows by doubling; past it, it is grown
/// to the cap at once, so that reading never holds much more than the cap.
const DOUBLING_LIMIT: usize = 64 * 1024;

/// The status of the stand-in response that carries an answer past the
/// generated decoder: one it matches to no declared response.
const STAND_IN_STATUS: u16 = 999;

/// [`CORRELATION_ID`] as a header name, made once rather than parsed from
/// the string at every answer.
const CORRELATION: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static(CORRELATION_ID);

/// One attempt's answer, its body read up to the cap.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The answer was longer than the cap; `body` holds its first bytes.
    pub(crate) truncated: bool,
}

/// What the attempt loop learned over all attempts of a call.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) attempts: u32,
    /// Some attempt may have been processed without the caller knowing.
    pub(crate) ambiguous: bool,
    /// The client's rate limit would have delayed the next attempt past the
    /// deadline by this total wait; that attempt was not sent.
    pub(crate) rate_limited: Option<Duration>,
    /// The final answer's status and correlation id, when a whole 2xx answer
    /// went to the generated decoder (which keeps neither in its errors).
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<HeaderValue>,
    /// The hook decided on a retry and has waited for it: the call makes
    /// the generated call again.
    pub(crate) again: bool,
}

/// The final answer as the generated decoder gets it. A whole 2xx answer is
/// rebuilt with its body moved in; its headers stay behind (the generated
/// code would copy them and reads none), the correlation id going to the
/// tally. Any other answer travels whole, past the decoder, in a stand-in.
pub(crate) fn hand_over(mut answer: Answer, tally: &mut Tally) -> reqwest::Response {
    if (200..300).contains(&answer.status) && !answer.truncated {
        tally.status = answer.status;
        tally.correlation_id = answer.headers.remove(CORRELATION);
        return rebuilt(answer.status, answer.body);
    }
    stand_in(Some(answer))
}

/// The URL every response made here carries: not the request's (it holds
/// the full customer token), and parsed once, not at every answer as
/// reqwest parses its own stand-in for a response built without one.
static STAND_IN_URL: std::sync::LazyLock<Option<reqwest::Url>> =
    std::sync::LazyLock::new(|| reqwest::Url::parse("http://no.url.provided.local").ok());

/// A whole 2xx answer as a response of its own, its body moved in.
fn rebuilt(status: u16, body: Bytes) -> reqwest::Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    to_reqwest(response)
}

/// A response made here, as reqwest's, with the stand-in URL.
fn to_reqwest(mut response: http::Response<Bytes>) -> reqwest::Response {
    if let Some(url) = STAND_IN_URL.as_ref() {
        // `ResponseBuilderExt::url` is reqwest's one way to give a response
        // its URL: it goes in the builder's extensions, moved from there.
        let mut builder = reqwest::ResponseBuilderExt::url(http::Response::builder(), url.clone());
        if let Some(extensions) = builder.extensions_mut() {
            response.extensions_mut().extend(std::mem::take(extensions));
        }
    }
    reqwest::Response::from(response)
}

/// A response the generated code matches to no declared answer and so
/// returns as it is; it carries `answer`, or nothing when no attempt was
/// sent.
pub(crate) fn stand_in(answer: Option<Answer>) -> reqwest::Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() =
        http::StatusCode::from_u16(STAND_IN_STATUS).unwrap_or(http::StatusCode::NOT_EXTENDED);
    if let Some(answer) = answer {
        response.extensions_mut().insert(answer);
    }
    to_reqwest(response)
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

/// What [`Reading::settle`] gives: the call's result, or the future that
/// reads the one kind of answer whose body is still in its response.
pub(crate) enum Settled<'a, T> {
    Done(Result<Success<T>, Error>),
    Unread(Pin<Box<dyn Future<Output = Result<Success<T>, Error>> + Send + 'a>>),
}

impl<T> Settled<'_, T> {
    /// The call's result.
    pub(crate) async fn resolved(self) -> Result<Success<T>, Error> {
        match self {
            Self::Done(result) => result,
            Self::Unread(reading) => reading.await,
        }
    }
}

/// The reading of one call's final result into the facade's.
pub(crate) struct Reading<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) operation: Operation,
    pub(crate) token: &'a CustomerToken,
    pub(crate) tally: Tally,
    pub(crate) key: Option<&'a IdempotencyKey>,
}

impl Reading<'_> {
    /// Turns the generated code's result into the facade's.
    ///
    /// Generic over the generated error type `E`, which it never reads: the
    /// generated code makes `Error<()>` or `Error<ErrorBody>` depending on
    /// whether the description declares error bodies. `decode` reads a
    /// success body the generated code did not decode (another 2xx) or could
    /// not (to name the path of the problem).
    ///
    /// Not an `async fn`: only a 2xx answer the generated code did not
    /// expect still has its body in the response, and only that case waits
    /// (see [`Settled`]), so a call's future does not carry the reading of
    /// a body for every call.
    pub(crate) fn settle<'s, T: Send + 's, E>(
        self,
        result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
        decode: Decode<T>,
    ) -> Settled<'s, T>
    where
        Self: 's,
    {
        use progenitor_client::Error as G;
        if let Some(needed) = self.tally.rate_limited {
            // Nothing of this attempt was sent: the outcome is that of the
            // attempts before it.
            let outcome = self.outcome_for_failure(true);
            return Settled::Done(Err(Error::RateLimited(Box::new(RateLimited {
                needed,
                call: self.call_info(outcome),
            }))));
        }
        Settled::Done(match result {
            Ok(value) => {
                let status = value.status().as_u16();
                Ok(self.success(value.into_inner(), status))
            }
            Err(G::InvalidResponsePayload(body, _)) => {
                // A whole 2xx body the generated decoder refused.
                let answer = Answer {
                    status: self.tally.status,
                    headers: HeaderMap::new(),
                    body,
                    truncated: false,
                };
                self.read_success(answer, decode)
            }
            Err(G::UnexpectedResponse(mut response)) => {
                match response.extensions_mut().remove::<Answer>() {
                    Some(answer) => self.read_answer(answer, decode),
                    // A whole 2xx answer the generated code did not expect:
                    // its body, in memory already, is read through reqwest,
                    // in a future of its own (about 1.2 KB).
                    None => {
                        return Settled::Unread(Box::pin(async move {
                            let answer = Answer {
                                status: response.status().as_u16(),
                                headers: HeaderMap::new(),
                                body: response.bytes().await.unwrap_or_default(),
                                truncated: false,
                            };
                            self.read_answer(answer, decode)
                        }));
                    }
                }
            }
            Err(G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e)) => {
                Err(self.transport_error(e))
            }
            Err(G::ErrorResponse(_)) => Err(self.request_error("the answer was lost")),
            Err(G::InvalidRequest(message) | G::Custom(message)) => {
                Err(self.request_error(&message))
            }
        })
    }

    /// A whole answer: a success when it is a 2xx, else Klarna's error.
    fn read_answer<T>(&self, answer: Answer, decode: Decode<T>) -> Result<Success<T>, Error> {
        if (200..300).contains(&answer.status) {
            self.read_success(answer, decode)
        } else {
            Err(self.api_error(answer))
        }
    }

    fn success<T>(&self, value: T, status: u16) -> Success<T> {
        let correlation_id = self
            .tally
            .correlation_id
            .as_ref()
            .and_then(|id| id.to_str().ok())
            .map(|id| self.scrub(id));
        Success {
            value,
            status,
            correlation_id,
            attempts: self.tally.attempts,
        }
    }

    /// A 2xx answer the generated decoder did not decode. An answer past the
    /// cap is an error whatever its status, even when the generated code
    /// needed no body (a 202).
    fn read_success<T>(&self, answer: Answer, decode: Decode<T>) -> Result<Success<T>, Error> {
        if answer.truncated {
            let message = format!(
                "the answer exceeded {} bytes",
                self.shared.max_response_body
            );
            return Err(self.undecodable(answer, message, String::new()));
        }
        match decode(&answer.body) {
            Ok(value) => Ok(self.success(value, answer.status)),
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
        let correlation_id = header_str(&answer.headers, CORRELATION_ID)
            .or_else(|| {
                let id = self.tally.correlation_id.as_ref()?;
                id.to_str().ok()
            })
            .map(|id| scrubber.scrub(id));
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

/// A response is read in place, so that it keeps its URL and headers for
/// the attempt loop.
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
