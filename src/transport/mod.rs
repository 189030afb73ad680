//! One attempt on the wire: the generated client's `exec` hook.
//!
//! The retry loop (`crate::call`) makes each attempt with one generated
//! call, on a generated client of the attempt's own whose inner value is the
//! attempt's [`Attempt`]: the client's [`Shared`] state, and what is
//! particular to this attempt (operation, number, timeout, token). The
//! generated method builds the request as progenitor wrote it and hands it
//! to the hook ([`ClientHooks::exec`](progenitor_client::ClientHooks::exec),
//! implemented below), which sends it once with the crate's headers, bounds
//! the answer's body by the cap and hands the answer back to the generated
//! method, which decodes it. The hook makes no decision: whether to try
//! again is the loop's.
//!
//! [`answer`] reads what the generated call returned into the facade's
//! value or error.

pub(crate) mod answer;
pub(crate) mod redact;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::clock::Clock;
use crate::operation::Operation;
use crate::retry::RetryPolicy;
use crate::token::CustomerToken;

/// The default cap on a response body: Klarna's answers are a few hundred
/// bytes.
pub(crate) const DEFAULT_MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// What every call of one client shares.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) attempt_timeout: Duration,
    /// The most bytes of a response body that are kept.
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

/// The one `Accept` value the crate sends.
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The header progenitor adds to every request with the description's
/// version; Klarna's API does not know it, and the crate does not send it
/// (the request tests check the exact header names sent).
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// [`CORRELATION_ID`](crate::headers::CORRELATION_ID) as a header name,
/// made once rather than parsed from the string at every answer.
pub(crate) const CORRELATION: HeaderName = HeaderName::from_static(crate::headers::CORRELATION_ID);

/// One attempt of a call: the inner value of the generated client the
/// attempt is made with (codegen's `INNER_TYPE`; progenitor's client derives
/// `Clone` and `Debug`, so it has both). The loop makes it before the
/// attempt; the hook reads it.
#[derive(Clone)]
pub(crate) struct Attempt {
    pub(crate) shared: Arc<Shared>,
    pub(crate) operation: Operation,
    /// 1 for the first attempt of the call.
    pub(crate) number: u32,
    /// The attempt's timeout: the per-attempt timeout, cut to what is left
    /// of the call's deadline.
    pub(crate) timeout: Duration,
    /// For scrubbing what the attempt's span shows.
    pub(crate) token: CustomerToken,
    /// What the generated code cannot return of the answer the hook handed
    /// on, for the facade's error; read only in the two cases where it is
    /// needed (see [`Head`]).
    head: OnceLock<Head>,
}

/// What an attempt is, without anything of the answer (which may hold
/// the full token).
impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("operation", &self.operation)
            .field("number", &self.number)
            .field("timeout", &self.timeout)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Of the answer the hook handed on, what progenitor 0.15 has no place for:
///
/// - its status and correlation id, for a success status whose body the
///   generated decoder refused: `Error::InvalidResponsePayload` keeps the
///   body and drops the status and headers;
/// - the bytes of a body cut at the cap, for a success status whose first
///   bytes the generated decoder accepted (a JSON document padded past the
///   cap): the generated code hands on the decoded value only, and the
///   facade refuses an answer past the cap whatever it holds.
#[derive(Clone)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<HeaderValue>,
    /// The bytes handed on, when the answer was longer than the cap (a
    /// shared reference, not a copy).
    pub(crate) cut: Option<bytes::Bytes>,
}

impl Attempt {
    pub(crate) fn new(
        shared: &Arc<Shared>,
        operation: Operation,
        number: u32,
        timeout: Duration,
        token: &CustomerToken,
    ) -> Self {
        Self {
            shared: Arc::clone(shared),
            operation,
            number,
            timeout,
            token: token.clone(),
            head: OnceLock::new(),
        }
    }

    /// The generated client this attempt is made with.
    pub(crate) fn client(self) -> crate::generated::Client {
        let shared = Arc::clone(&self.shared);
        crate::generated::Client::new_with_client(&shared.base_url, shared.http.clone(), self)
    }

    /// The head of the answer the hook handed on (see [`Head`]).
    pub(crate) fn head(&self) -> Option<&Head> {
        self.head.get()
    }

    /// `request` with the crate's headers and the attempt's timeout.
    fn ready(&self, mut request: reqwest::Request) -> reqwest::Request {
        let shared = &self.shared;
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        headers.insert(header::AUTHORIZATION, shared.authorization.clone());
        headers.insert(header::USER_AGENT, shared.user_agent.clone());
        // The generated code asks for JSON where it decodes JSON; the crate
        // asks for it on every request.
        if headers.get(header::ACCEPT) != Some(&JSON) {
            headers.insert(header::ACCEPT, JSON);
        }
        *request.timeout_mut() = Some(self.timeout);
        request
    }

    /// Waits for the answer and reads its body, in the attempt's span.
    async fn answer(
        &self,
        pending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> reqwest::Result<reqwest::Response> {
        let span = attempt_span(self.operation, self.number);
        // A disabled span is not entered at every poll, and the clock is
        // read only for a span that shows the elapsed time.
        if span.is_disabled() {
            return self.receive(pending).await;
        }
        let started = self.shared.clock.now();
        let result = self.receive(pending).instrument(span.clone()).await;
        let elapsed = self.shared.clock.now().saturating_sub(started);
        span.record("elapsed_ms", elapsed.as_millis() as u64);
        self.log(&span, &result);
        result
    }

    /// The answer, its body bounded by the cap before the generated code
    /// reads it:
    ///
    /// - a body whose length the framing declares (`Content-Length`) within
    ///   the cap is bounded already: hyper delivers no more than that. It
    ///   is handed on unread, and the generated code reads it, once;
    /// - any other body (no declared length, or one past the cap) is read
    ///   here up to one byte past the cap and put back (moved, not copied):
    ///   at most that is ever kept, and the rest is never read. An answer
    ///   with more bytes than the cap was longer than it ([`answer::Answer`]
    ///   cuts it there).
    async fn receive(
        &self,
        pending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut response = pending.await?;
        let cap = self.shared.max_response_body;
        let declared = response.content_length();
        if declared.is_some_and(|length| length <= cap as u64) {
            self.record(&response, None);
            return Ok(response);
        }
        let limit = cap.saturating_add(1);
        let (body, _) = answer::read_capped(&mut response, limit, declared).await?;
        let cut = (body.len() > cap).then(|| body.clone());
        self.record(&response, cut);
        // The head is moved to the answer handed on; of the extensions,
        // only the URL is read past this point.
        let mut answer = http::Response::new(body);
        *answer.status_mut() = response.status();
        *answer.version_mut() = response.version();
        *answer.headers_mut() = std::mem::take(response.headers_mut());
        *answer.extensions_mut() = NEUTRAL.clone();
        Ok(reqwest::Response::from(answer))
    }

    /// Records the answer's [`Head`].
    fn record(&self, response: &reqwest::Response, cut: Option<bytes::Bytes>) {
        let _ = self.head.set(Head {
            status: response.status().as_u16(),
            correlation_id: response.headers().get(CORRELATION).cloned(),
            cut,
        });
    }

    /// Records what the attempt's span shows.
    fn log(&self, span: &tracing::Span, result: &reqwest::Result<reqwest::Response>) {
        match result {
            Ok(response) => {
                span.record("status", response.status().as_u16());
                let headers: &HeaderMap = response.headers();
                if let Some(id) = answer::header_str(headers, CORRELATION) {
                    span.record("correlation_id", self.scrub(id));
                }
                let cap = self.shared.max_response_body;
                if response.content_length().is_some_and(|n| n > cap as u64) {
                    tracing::debug!(parent: span, limit = cap, "the answer exceeded the body cap");
                }
            }
            Err(e) => {
                // reqwest's own message holds the URL, and so the full
                // token: log only what kind of failure it was.
                tracing::debug!(
                    parent: span,
                    timeout = e.is_timeout(),
                    connect = e.is_connect(),
                    malformed = answer::is_malformed_head(e),
                    "attempt failed"
                );
            }
        }
    }

    /// Scrubs a server-supplied value for the attempt's log.
    fn scrub(&self, text: &str) -> String {
        let redacted = self.token.redacted();
        redact::Scrubber::new(self.token.as_str(), &redacted, &self.shared.secrets).scrub(text)
    }
}

/// The hook: one attempt, and nothing else. `pre` and `post` keep
/// progenitor's defaults, which do nothing.
///
/// Not an `async fn`: the request is made ready and handed to reqwest
/// (whose future does nothing until it is polled) before the returned
/// future exists, so that the future holds reqwest's small one and not the
/// request.
impl progenitor_client::ClientHooks<Attempt> for crate::generated::Client {
    fn exec(
        &self,
        request: reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
        let attempt = &self.inner;
        let pending = self.client.execute(attempt.ready(request));
        attempt.answer(pending)
    }
}

/// The extensions of an answer handed to the generated code: only its URL,
/// which is not the request's (it holds the full customer token). Made
/// once: reqwest otherwise parses a stand-in URL of its own at every
/// answer rebuilt without one, and `ResponseBuilderExt::url` (reqwest's one
/// way to give a response its URL) puts it in a builder's extensions.
static NEUTRAL: std::sync::LazyLock<http::Extensions> = std::sync::LazyLock::new(|| {
    let mut builder = http::Response::builder();
    if let Ok(url) = reqwest::Url::parse("http://no.url.provided.local") {
        builder = reqwest::ResponseBuilderExt::url(builder, url);
    }
    builder
        .extensions_mut()
        .map(std::mem::take)
        .unwrap_or_default()
});

/// An attempt's span.
fn attempt_span(operation: Operation, n: u32) -> tracing::Span {
    tracing::debug_span!(
        "klarna.attempt",
        operation = operation.as_str(),
        attempt = n,
        status = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    )
}

/// The least of the deadline an attempt is sent with, at most (see
/// [`attempt_floor`]): enough for a TCP and TLS 1.3 handshake with Klarna
/// and its answer to a create-order, a few round trips of 100 to 300 ms
/// between continents and the processing itself. An attempt sent with
/// less would most likely time out after being sent, and turn what could
/// have been a clean answer into "the order may have been created".
pub(crate) const MAX_ATTEMPT_FLOOR: Duration = Duration::from_secs(1);

/// The least of the call's deadline a retry is sent with: the shortest of
/// [`MAX_ATTEMPT_FLOOR`], the attempt timeout (a caller who expects answers
/// faster than that says so with it) and a tenth of the deadline (so that a
/// short deadline still leaves room for retries). A retry that would start
/// with less is not sent: the call fails with the answer it has, its
/// outcome worked out over the attempts already made. The first attempt is
/// always sent (it starts with the whole deadline, never less than the
/// floor), except that a rate-limit turn must come with the floor left.
pub(crate) fn attempt_floor(per_attempt: Duration, deadline: Duration) -> Duration {
    MAX_ATTEMPT_FLOOR.min(per_attempt).min(deadline / 10)
}

/// An attempt's timeout: the per-attempt timeout, cut to what is left of
/// the deadline (and at least a millisecond, as reqwest needs one).
pub(crate) fn attempt_timeout(per_attempt: Duration, remaining: Duration) -> Duration {
    per_attempt.min(remaining).max(Duration::from_millis(1))
}

/// The call's deadline, on the client's clock.
pub(crate) struct Deadline<'c> {
    clock: &'c dyn Clock,
    started: Duration,
    length: Duration,
}

impl<'c> Deadline<'c> {
    /// The deadline of a call that starts now.
    pub(crate) fn start(clock: &'c dyn Clock, length: Duration) -> Self {
        Self {
            clock,
            started: clock.now(),
            length,
        }
    }
    pub(crate) fn spent(&self) -> Duration {
        self.clock.now().saturating_sub(self.started)
    }
    pub(crate) fn remaining(&self) -> Duration {
        self.length.saturating_sub(self.spent())
    }
    /// Whether at least `floor` is left after waiting `wait` for the retry
    /// that follows `attempt`; logs why not.
    pub(crate) fn leaves_after(
        &self,
        wait: Duration,
        floor: Duration,
        operation: Operation,
        attempt: u32,
    ) -> bool {
        let left = self.remaining().saturating_sub(wait);
        if left >= floor {
            return true;
        }
        tracing::info!(
            operation = operation.as_str(),
            attempt,
            left_ms = left.as_millis() as u64,
            floor_ms = floor.as_millis() as u64,
            "not retrying: too little of the deadline would be left"
        );
        false
    }
}

#[cfg(test)]
mod tests;
