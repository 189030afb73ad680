//! Sending one logical call: what the generated methods call to send.
//!
//! Each [`Client`](crate::Client) builds one generated client, whose inner
//! value is the [`Shared`] state of the client. The generated code builds
//! the request (path, idempotency header, body, serialized once) and hands
//! it to [`Shared::execute`], which owns everything that happens on the
//! wire: the headers the crate promises, the attempts and the waits between
//! them. What is particular to one call (its operation, its settings, and
//! what its attempts found) is the call's [`CallScope`], which the call
//! lends to each generated call and the generated call to `execute`
//! (codegen's `lean` pass adds the parameter).
//! [`answer`] reads the final answer into the facade's value or error.

pub(crate) mod answer;
pub(crate) mod redact;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use tracing::Instrument;

use self::answer::{Answer, Tally};
use crate::clock::Clock;
use crate::operation::Operation;
use crate::outcome;
use crate::retry::{self, Attempt, RetryPolicy};
use crate::token::CustomerToken;

/// The default cap on a response body: Klarna's answers are a few hundred
/// bytes.
pub(crate) const DEFAULT_MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The least of the deadline an attempt is sent with, at most (see
/// [`attempt_floor`]): enough for a TCP and TLS 1.3 handshake with Klarna
/// and its answer to a create-order, a few round trips of 100 to 300 ms
/// between continents and the processing itself. An attempt sent with
/// less would most likely time out after being sent, and turn what could
/// have been a clean answer into "the order may have been created".
pub(crate) const MAX_ATTEMPT_FLOOR: Duration = Duration::from_secs(1);

/// What every call of one client shares: the generated client's inner value.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    /// Each of the generated code's path prefixes
    /// (`generated::PATH_PREFIXES`) appended to the base URL, parsed once:
    /// every request's URL starts from one (see [`Shared::url`]).
    pub(crate) prefixes: Vec<reqwest::Url>,
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

/// The name the code generator gives the generated client's inner value
/// (`Arc<crate::transport::CallContext>`): the state its calls share.
pub(crate) type CallContext = Shared;

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

/// Per-call settings.
#[derive(Clone, Debug)]
pub(crate) struct CallOptions {
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
}

/// One call, as the generated code carries it to [`Shared::execute`]: what
/// the call tells the transport, and what the attempts found. The facade's
/// call owns it and lends it, mutably, to each generated call (codegen's
/// `lean` pass gives every generated method a `call` parameter and hands it
/// on to `execute` in place of the `exec` hook).
pub(crate) struct CallScope {
    operation: Operation,
    options: CallOptions,
    /// For scrubbing what the attempt spans show.
    token: CustomerToken,
    /// When the first attempt began, on the client's clock: the start of
    /// the call's deadline.
    started: Option<Duration>,
    tally: Tally,
}

impl CallScope {
    pub(crate) fn new(operation: Operation, options: CallOptions, token: CustomerToken) -> Self {
        Self {
            operation,
            options,
            token,
            started: None,
            tally: Tally::default(),
        }
    }

    /// Whether the last attempt asked for the generated call to be made
    /// again (a retry, after its wait): the call then makes it again, which
    /// builds the request again from the call's own inputs, so nothing of a
    /// request is copied before it is sent. Asking clears the flag.
    pub(crate) fn again(&mut self) -> bool {
        std::mem::take(&mut self.tally.again)
    }

    /// What the attempts found.
    pub(crate) fn into_tally(self) -> Tally {
        self.tally
    }
}

impl Shared {
    /// A request's URL: the URL of path prefix `prefix` (an index into
    /// `generated::PATH_PREFIXES`) with `rest` appended to its path, each
    /// segment percent-encoded as a path segment. The generated methods call
    /// it (codegen's `lean` pass puts the call in place of progenitor's
    /// formatted string), so a request's URL is not parsed whole, host
    /// included, at every call; only its parameters are.
    ///
    /// # Errors
    /// When there is no such prefix, which the generated code never asks
    /// for.
    pub(crate) fn url(&self, prefix: usize, rest: &[&str]) -> Result<reqwest::Url, String> {
        let base = self
            .prefixes
            .get(prefix)
            .ok_or_else(|| format!("no path prefix {prefix}"))?;
        url_with(base, rest)
    }

    /// Sends one attempt of the current call: `request` with the crate's
    /// headers. When the answer may be retried and the policy allows
    /// another attempt, it waits as the policy says and tells the call to
    /// make the generated call again (see [`CallScope::again`]); otherwise it
    /// returns the answer as the generated code expects it (see
    /// [`answer`]).
    ///
    /// Not an `async fn`: the request is made ready and handed to reqwest
    /// (whose future does nothing until it is polled) before the returned
    /// future exists, so that the future holds reqwest's small one and not
    /// the request. A client with a rate limit keeps the request, boxed,
    /// until its turn has come.
    pub(crate) fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        call: &'a mut CallScope,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a {
        // The call's deadline runs from its first attempt.
        let now = self.clock.now();
        let started = *call.started.get_or_insert(now);
        let deadline = Deadline::new(&*self.clock, started, call.options.retry.deadline());
        let timeout = attempt_timeout(call.options.attempt_timeout, deadline.remaining_at(now));
        let request = self.ready(request, timeout);
        // Without a rate limit the attempt starts now; with one, when its
        // turn has come.
        let outgoing = match &self.rate_limit {
            None => Outgoing::Now(self.http.execute(request)),
            Some(limit) => Outgoing::AfterTurn(limit, Box::new(request)),
        };
        let floor = attempt_floor(call.options.attempt_timeout, call.options.retry.deadline());
        async move {
            let policy = &call.options.retry;
            let pending = match outgoing {
                Outgoing::Now(pending) => pending,
                Outgoing::AfterTurn(limit, request) => {
                    // The turn must come with the floor still left.
                    let budget = deadline.remaining().saturating_sub(floor);
                    if let Err(needed) = limit.acquire(budget).await {
                        call.tally.rate_limited = Some(needed);
                        return Ok(answer::stand_in(None));
                    }
                    // The wait for the turn counts against the deadline.
                    let mut request = *request;
                    *request.timeout_mut() = Some(attempt_timeout(
                        call.options.attempt_timeout,
                        deadline.remaining(),
                    ));
                    self.http.execute(request)
                }
            };
            let attempt = call.tally.attempts + 1;
            // The attempt, in its span.
            let span = attempt_span(call.operation, attempt);
            let started = (!span.is_disabled()).then(|| self.clock.now());
            // A disabled span is not entered at every poll.
            let sent = if span.is_disabled() {
                self.send(pending).await
            } else {
                self.send(pending).instrument(span.clone()).await
            };
            if let Some(started) = started {
                self.log_attempt(&span, started, &sent, &call.token);
            }
            let kind = sent.kind();
            call.tally.attempts = attempt;
            call.tally.ambiguous |= outcome::is_ambiguous(kind, sent.reached_server());
            if attempt <= policy.max_retries()
                && retry::is_retryable(kind)
                && let Some(wait) = policy.next_wait(attempt, sent.asked_wait(), deadline.spent())
                && deadline.leaves_after(wait, floor, call.operation, attempt)
            {
                tracing::info!(
                    operation = call.operation.as_str(),
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
                // The answer is not needed: its connection goes back now.
                drop(sent);
                self.clock.sleep(wait).await;
                call.tally.again = true;
                // What the generated code returns for this is thrown away.
                return Ok(answer::stand_in(None));
            }
            sent.hand_over(&mut call.tally)
        }
    }

    /// `request` with the crate's headers and the attempt's timeout.
    fn ready(&self, mut request: reqwest::Request, timeout: Duration) -> reqwest::Request {
        self.set_headers(request.headers_mut());
        *request.timeout_mut() = Some(timeout);
        request
    }

    fn set_headers(&self, headers: &mut HeaderMap) {
        // progenitor's `api-version` header, which Klarna does not know, is
        // not added at all: codegen's `lean` pass drops it (the request
        // tests check the exact header names sent).
        headers.insert(header::AUTHORIZATION, self.authorization.clone());
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        // The generated code asks for JSON already; set only when not so.
        if headers.get(header::ACCEPT) != Some(&JSON) {
            headers.insert(header::ACCEPT, JSON);
        }
    }

    /// Records what an attempt's span shows.
    fn log_attempt(
        &self,
        span: &tracing::Span,
        started: Duration,
        sent: &Sent,
        token: &CustomerToken,
    ) {
        let elapsed = self.clock.now().saturating_sub(started);
        span.record("elapsed_ms", elapsed.as_millis() as u64);
        sent.log(span, self.max_response_body, |id| {
            scrub_for_log(&self.secrets, token, id)
        });
    }

    /// Sends one request (reqwest's future for it) and reads its answer's
    /// body up to the cap, within the request's timeout.
    async fn send(
        &self,
        pending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Sent {
        let mut response = match pending.await {
            Ok(response) => response,
            Err(error) => return Sent::Failed(error),
        };
        let length = answer::header_str(response.headers(), header::CONTENT_LENGTH)
            .and_then(|v| v.parse().ok());
        match answer::read_capped(&mut response, self.max_response_body, length).await {
            Ok((body, truncated)) => Sent::Answered {
                response,
                body,
                truncated,
            },
            Err(error) => Sent::Failed(error),
        }
    }
}

/// `base` with `segments` appended to its path (see [`Shared::url`]).
pub(crate) fn url_with(base: &reqwest::Url, segments: &[&str]) -> Result<reqwest::Url, String> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| "the base URL cannot take a path".to_owned())?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

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

/// Scrubs a server-supplied value for an attempt's log with the call's
/// token.
fn scrub_for_log(secrets: &[secrecy::SecretString], token: &CustomerToken, text: &str) -> String {
    let redacted = token.redacted();
    redact::Scrubber::new(token.as_str(), &redacted, secrets).scrub(text)
}

/// The least of the call's deadline a retry is sent with: the shortest of
/// [`MAX_ATTEMPT_FLOOR`], the attempt timeout (a caller who expects answers
/// faster than that says so with it) and a tenth of the deadline (so that a
/// short deadline still leaves room for retries). A retry that would start
/// with less is not sent: the call fails with the answer it has, its
/// outcome worked out over the attempts already made. The first attempt is
/// always sent (it starts with the whole deadline, never less than the
/// floor), except that a rate-limit turn must come with the floor left.
fn attempt_floor(per_attempt: Duration, deadline: Duration) -> Duration {
    MAX_ATTEMPT_FLOOR.min(per_attempt).min(deadline / 10)
}

/// An attempt's timeout: the per-attempt timeout, cut to what is left of
/// the deadline (and at least a millisecond, as reqwest needs one).
fn attempt_timeout(per_attempt: Duration, remaining: Duration) -> Duration {
    per_attempt.min(remaining).max(Duration::from_millis(1))
}

/// The call's deadline, on the client's clock.
struct Deadline<'c> {
    clock: &'c dyn Clock,
    started: Duration,
    length: Duration,
}

impl<'c> Deadline<'c> {
    /// The deadline of a call whose first attempt began at `started`.
    fn new(clock: &'c dyn Clock, started: Duration, length: Duration) -> Self {
        Self {
            clock,
            started,
            length,
        }
    }
    fn spent(&self) -> Duration {
        self.clock.now().saturating_sub(self.started)
    }
    fn remaining(&self) -> Duration {
        self.remaining_at(self.clock.now())
    }
    /// What is left at `now`, a reading of the same clock.
    fn remaining_at(&self, now: Duration) -> Duration {
        self.length.saturating_sub(now.saturating_sub(self.started))
    }
    /// Whether at least `floor` is left after waiting `wait` for the retry
    /// that follows `attempt`; logs why not.
    fn leaves_after(
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

/// An attempt about to go out: reqwest's future for it (`P`), or, with a
/// rate limit, the request waiting for its turn.
enum Outgoing<'a, P> {
    Now(P),
    AfterTurn(&'a crate::rate_limit::RateLimit, Box<reqwest::Request>),
}

/// How one attempt ended.
enum Sent {
    /// An answer, its body read up to the cap (`truncated` when it was
    /// longer); the response's own body is spent.
    Answered {
        response: reqwest::Response,
        body: bytes::Bytes,
        truncated: bool,
    },
    /// No complete answer: the connection failed or timed out.
    Failed(reqwest::Error),
}

impl Sent {
    fn kind(&self) -> Attempt {
        match self {
            Self::Answered { response, body, .. } => Attempt::Response {
                status: response.status().as_u16(),
                json_body: answer::is_json(response.headers(), body),
            },
            Self::Failed(_) => Attempt::Transport,
        }
    }

    /// Whether the request may have reached the server.
    fn reached_server(&self) -> bool {
        match self {
            Self::Answered { .. } => true,
            Self::Failed(e) => !e.is_connect(),
        }
    }

    /// The wait the answer asks for, if any.
    fn asked_wait(&self) -> Option<Duration> {
        match self {
            Self::Answered { response, .. } => {
                answer::server_wait(response.status().as_u16(), response.headers())
            }
            Self::Failed(_) => None,
        }
    }

    /// Records what the attempt's span shows.
    fn log(&self, span: &tracing::Span, cap: usize, scrub: impl Fn(&str) -> String) {
        match self {
            Self::Answered {
                response,
                truncated,
                ..
            } => {
                span.record("status", response.status().as_u16());
                let id = answer::header_str(response.headers(), crate::headers::CORRELATION_ID);
                if let Some(id) = id {
                    span.record("correlation_id", scrub(id));
                }
                if *truncated {
                    tracing::debug!(parent: span, limit = cap, "the answer exceeded the body cap");
                }
            }
            Self::Failed(e) => {
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

    /// The final attempt's result, as the generated code expects it.
    fn hand_over(self, tally: &mut Tally) -> reqwest::Result<reqwest::Response> {
        match self {
            Self::Answered {
                response,
                body,
                truncated,
            } => {
                let mut response = response;
                // The headers are moved out, not copied.
                let answer = Answer {
                    status: response.status().as_u16(),
                    headers: std::mem::take(response.headers_mut()),
                    body,
                    truncated,
                };
                Ok(answer::hand_over(answer, tally))
            }
            Self::Failed(e) => Err(e.without_url()),
        }
    }
}

/// The generated code requires the hooks, but calls none of them: codegen's
/// `lean` pass drops its calls to `pre` and `post` (whose defaults do
/// nothing) and puts [`Shared::execute`], with the call, in place of
/// `exec`. Should a generated method still call `exec`, it is outside any
/// call, and nothing is sent.
impl progenitor_client::ClientHooks<Arc<CallContext>> for crate::generated::Client {
    fn exec(
        &self,
        _request: reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
        std::future::ready(Ok(answer::stand_in(None)))
    }
}

#[cfg(test)]
mod tests;
