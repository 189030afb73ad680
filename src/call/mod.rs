//! Calls: what the client's methods return. Each runs when awaited and can
//! be adjusted before that. The three calls share one runner ([`run`]) and
//! its one retry loop ([`attempts`]); an [`Exchange`] is what differs
//! between them: the generated call, the decoder of a success body.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tracing::Instrument;

use crate::client::Client;
use crate::error::{CallInfo, Error};
use crate::idempotency::{IdempotencyKey, RandomKeyError};
use crate::operation::Operation;
use crate::order::{CreatedOrder, OrderBody, OrderJson, OrderRequest};
use crate::retry::RetryPolicy;
use crate::token::{CustomerToken, TokenDetails};
use crate::transport::answer::{Answered, Reading, Success, Tally};
use crate::transport::{Attempt, Deadline, attempt_floor, attempt_timeout};
use crate::violation::ValidationErrors;
use crate::{outcome, retry};

/// The operations, each making its call. They sit beside the calls they
/// make, so that the client module knows nothing of them.
impl Client {
    /// Reads a customer token: its status and payment method.
    ///
    /// Returns a call that runs when awaited; see [`ReadTokenCall`] for
    /// per-call settings.
    ///
    /// # Errors
    /// [`Error::Api`] with 404 (`TOKEN_NOT_FOUND`) or 403 among others,
    /// [`Error::Timeout`], [`Error::Connection`] or
    /// [`Error::UndecodableResponse`].
    pub fn read_token(&self, token: &CustomerToken) -> ReadTokenCall {
        ReadTokenCall::new(self, token)
    }

    /// Creates an order charged to a customer token.
    ///
    /// The call carries an idempotency key from the moment it is made, before
    /// it is awaited: read it with
    /// [`CreateOrderCall::idempotency_key`] so that a caller whose future is
    /// dropped can still reconcile, or give your own with
    /// [`CreateOrderCall::with_idempotency_key`]. Every retry sends the same
    /// key. The call owns a copy of the token and of the order, so both can
    /// be dropped at once and the call spawned. The order is validated when
    /// the call is made, and nothing is sent if it breaks a rule; the
    /// violations are returned when the call is awaited.
    ///
    /// # Errors
    /// [`Error::Validation`] when the order breaks a rule (nothing is sent),
    /// [`Error::Api`] when Klarna refuses it (for example 403
    /// `TOKEN_CANCELLED`), [`Error::Timeout`], [`Error::Connection`], or
    /// [`Error::UndecodableResponse`] when the order was created but its body
    /// could not be read. [`Error::order_outcome`] tells whether the
    /// customer may have been charged.
    pub fn create_order(&self, token: &CustomerToken, order: &OrderRequest) -> CreateOrderCall {
        CreateOrderCall::new(self, token, order)
    }

    /// Cancels a customer token for good. Cancelling a token that is
    /// already cancelled is not an error on Klarna's side either way: a
    /// retried cancel is safe.
    ///
    /// # Errors
    /// [`Error::Api`] with 404 or 403 among others, [`Error::Timeout`] or
    /// [`Error::Connection`].
    pub fn cancel_token(&self, token: &CustomerToken) -> CancelTokenCall {
        CancelTokenCall::new(self, token)
    }
}

/// The future a call resolves through: `Send + 'static`, so it can be
/// spawned (`tokio::spawn`, a `JoinSet`) without keeping the client, the
/// token or the order alive.
pub type CallFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// What a decoder of a success body returns.
type Decoded<T> = Result<T, serde_path_to_error::Error<serde_json::Error>>;

/// One operation, as the retry loop makes its attempts.
trait Exchange: Send + Sync {
    /// The success body.
    type Value: Send;
    const OPERATION: Operation;
    /// Whether the loop may send a failed attempt again: the operation's
    /// route says (`Operation::is_safe_to_retry`).
    const SAFE_TO_RETRY: bool = Self::OPERATION.is_safe_to_retry();
    /// One attempt: one generated call, on the attempt's generated client,
    /// and what it came to.
    fn attempt<'a>(
        &'a self,
        api: &'a crate::generated::Client,
        token: &'a str,
        key: Option<&'a str>,
    ) -> impl Future<Output = Answered<Self::Value>> + Send + 'a;
    /// Reads a success body the generated code did not decode.
    fn decode(body: &[u8]) -> Decoded<Self::Value>;
    /// Logs what the call is about to send, once per call (the generated
    /// call is made once per attempt).
    fn announce(&self) {}
}

struct ReadToken;

impl Exchange for ReadToken {
    type Value = TokenDetails;
    const OPERATION: Operation = Operation::ReadToken;
    async fn attempt(
        &self,
        api: &crate::generated::Client,
        token: &str,
        _key: Option<&str>,
    ) -> Answered<TokenDetails> {
        Answered::read(api.read_customer_token(token).await, &api.inner).await
    }
    fn decode(body: &[u8]) -> Decoded<TokenDetails> {
        decode(body)
    }
}

/// The order as sent: serialized once, when the call was made, with the
/// paths of its unknown fields when they are to be logged.
#[derive(Debug)]
struct CreateOrder {
    json: std::sync::Arc<OrderJson>,
    unknown_fields: Vec<String>,
}

impl Exchange for CreateOrder {
    type Value = OrderBody;
    const OPERATION: Operation = Operation::CreateOrder;
    async fn attempt(
        &self,
        api: &crate::generated::Client,
        token: &str,
        key: Option<&str>,
    ) -> Answered<OrderBody> {
        Answered::read(api.create_order(token, key, &self.json).await, &api.inner).await
    }
    fn decode(body: &[u8]) -> Decoded<OrderBody> {
        decode(body)
    }
    fn announce(&self) {
        crate::order::log_unknown_fields(&self.unknown_fields);
    }
}

/// The body of every cancellation.
const CANCEL: crate::token::CancelRequest = crate::token::CancelRequest {
    status: crate::token::CancelStatus::Cancelled,
};

struct CancelToken;

impl Exchange for CancelToken {
    type Value = ();
    const OPERATION: Operation = Operation::CancelToken;
    async fn attempt(
        &self,
        api: &crate::generated::Client,
        token: &str,
        _key: Option<&str>,
    ) -> Answered<()> {
        Answered::read_raw(api.patch_customer_token(token, &CANCEL).await, &api.inner).await
    }
    /// Any 2xx means the cancellation was accepted, whatever its body.
    fn decode(_: &[u8]) -> Decoded<()> {
        Ok(())
    }
}

/// What every call holds: a clone of the client (it shares the connection
/// pool) and of the token, and its settings.
#[derive(Debug)]
struct Common {
    client: Client,
    token: CustomerToken,
    options: CallOptions,
}

/// Per-call settings.
#[derive(Clone, Debug)]
struct CallOptions {
    retry: RetryPolicy,
    attempt_timeout: Duration,
}

impl Common {
    fn new(client: &Client, token: &CustomerToken) -> Self {
        let shared = client.shared();
        Self {
            client: client.clone(),
            token: token.clone(),
            options: CallOptions {
                retry: shared.retry.clone(),
                attempt_timeout: shared.attempt_timeout,
            },
        }
    }
}

/// Runs one call in its span: refuses what may not be sent, else makes its
/// attempts ([`attempts`]).
async fn run<X: Exchange>(
    common: Common,
    exchange: Result<X, ValidationErrors>,
    key: Option<&IdempotencyKey>,
) -> Result<Success<X::Value>, Error> {
    let span = call_span(X::OPERATION, &common.token);
    if let Some(key) = key {
        span.record("idempotency_key", key.as_str());
    }
    // The clock is read only for a span that shows the elapsed time.
    let started = (!span.is_disabled()).then(std::time::Instant::now);
    let result = match exchange {
        Err(violations) => Err(refused(X::OPERATION, violations, &common.token, key)),
        Ok(exchange) => {
            span.in_scope(|| exchange.announce());
            let work = attempts(&common, &exchange, key);
            // The span is entered at every poll, unless it is disabled.
            if span.is_disabled() {
                work.await
            } else {
                work.instrument(span.clone()).await
            }
        }
    };
    close_span(&span, started, &result);
    result
}

/// The one retry loop: each turn makes one attempt (one generated call,
/// which the hook sends once), classifies how it ended (`retry`'s table),
/// folds it into the call's outcome (`outcome`), then waits and goes round
/// again, or stops with the call's result.
async fn attempts<X: Exchange>(
    common: &Common,
    exchange: &X,
    key: Option<&IdempotencyKey>,
) -> Result<Success<X::Value>, Error> {
    let Common {
        client,
        token,
        options,
    } = common;
    let shared = client.shared();
    let policy = &options.retry;
    let deadline = Deadline::start(&*shared.clock, policy.deadline());
    let floor = attempt_floor(options.attempt_timeout, policy.deadline());
    let mut reading = Reading {
        shared,
        operation: X::OPERATION,
        token,
        tally: Tally::default(),
        key,
    };
    loop {
        // Wait for the client's rate limit, within the deadline: the turn
        // must come with the floor still left.
        if let Some(limit) = &shared.rate_limit
            && let Err(needed) = limit
                .acquire(deadline.remaining().saturating_sub(floor))
                .await
        {
            return Err(reading.rate_limited(needed));
        }

        // The attempt.
        let number = reading.tally.attempts + 1;
        let timeout = attempt_timeout(options.attempt_timeout, deadline.remaining());
        let api = Attempt::new(shared, X::OPERATION, number, timeout, token).client();
        let answered = exchange
            .attempt(&api, token.as_str(), key.map(IdempotencyKey::as_str))
            .await;
        drop(api);
        reading.tally.attempts = number;

        // Classify it, and fold it into the call's outcome.
        let kind = answered.kind();
        let retryable = kind.is_some_and(retry::is_retryable);
        reading.tally.ambiguous |=
            kind.is_some_and(|kind| outcome::is_ambiguous(kind, answered.reached_server()));

        // Wait and try again, or stop.
        if retryable
            && X::SAFE_TO_RETRY
            && number <= policy.max_retries()
            && let Some(wait) = policy.next_wait(number, answered.asked_wait(), deadline.spent())
            && deadline.leaves_after(wait, floor, X::OPERATION, number)
        {
            tracing::info!(
                operation = X::OPERATION.as_str(),
                attempt = number,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            // The answer is not needed: its memory goes back now.
            drop(answered);
            shared.clock.sleep(wait).await;
            continue;
        }
        return reading.finish(answered, X::decode);
    }
}

/// An order that broke a rule: nothing was sent, no order exists. The key
/// travels with the error, as on every create-order error.
fn refused(
    operation: Operation,
    violations: ValidationErrors,
    token: &CustomerToken,
    key: Option<&IdempotencyKey>,
) -> Error {
    let call = CallInfo {
        operation,
        token: token.redacted(),
        attempts: 0,
        idempotency_key: key.cloned(),
        outcome: Some(crate::outcome::before_sending()),
    };
    Error::refused_before_sending(violations, call)
}

fn call_span(operation: Operation, token: &CustomerToken) -> tracing::Span {
    tracing::info_span!(
        "klarna.call",
        operation = operation.as_str(),
        token = %token.redacted(),
        idempotency_key = tracing::field::Empty,
        attempts = tracing::field::Empty,
        status = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    )
}

fn close_span<T>(
    span: &tracing::Span,
    started: Option<std::time::Instant>,
    result: &Result<Success<T>, Error>,
) {
    let Some(started) = started else {
        // A disabled span: nothing to record.
        return;
    };
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    match result {
        Ok(success) => {
            if let Some(id) = &success.correlation_id {
                span.record("correlation_id", id.as_str());
            }
            span.record("status", success.status);
            span.record("attempts", success.attempts);
        }
        Err(e) => {
            if let Some(status) = e.status() {
                span.record("status", status);
            }
            if let Some(id) = e.correlation_id() {
                span.record("correlation_id", id);
            }
            if let Some(attempts) = e.attempts() {
                span.record("attempts", attempts);
            }
            tracing::warn!(parent: span, error = %e, "call failed");
        }
    }
}

/// Decodes a success body, naming the path of the first problem.
fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Decoded<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
}

macro_rules! call_settings {
    ($ty:ident) => {
        impl $ty {
            /// Overrides the client's retry policy for this call.
            pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
                self.common.options.retry = policy;
                self
            }
            /// Overrides the client's per-attempt timeout for this call.
            pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
                self.common.options.attempt_timeout = timeout;
                self
            }
        }
    };
}

/// A read-token call; await it to run it.
///
/// It owns what it needs (a clone of the client, which shares its
/// connection pool, and of the token), so it can be spawned.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct ReadTokenCall {
    common: Common,
}

impl ReadTokenCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken) -> Self {
        Self {
            common: Common::new(client, token),
        }
    }
}

call_settings!(ReadTokenCall);

impl IntoFuture for ReadTokenCall {
    type Output = Result<TokenDetails, Error>;
    type IntoFuture = CallFuture<TokenDetails>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { Ok(run(self.common, Ok(ReadToken), None).await?.value) })
    }
}

/// A create-order call; await it to run it.
///
/// The idempotency key exists as soon as the call does, before the first
/// `.await`:
///
/// ```no_run
/// # use klarna_customer_token::*;
/// # async fn run(client: Client, token: CustomerToken, order: OrderRequest) -> Result<(), Error> {
/// let call = client.create_order(&token, &order);
/// let key = call.idempotency_key()?.clone(); // store it before sending
/// let created = call.await?;
/// assert_eq!(created.idempotency_key(), &key);
/// # Ok(()) }
/// ```
///
/// The call owns what it needs: a clone of the client (it shares the
/// connection pool), of the token, and the order's JSON, serialized once it
/// has been validated (every attempt sends these bytes), so the caller's
/// token and order can be dropped at once and the call spawned. The order is
/// validated when the call is made; a violation is kept and returned when
/// the call is awaited, carrying the call's final idempotency key. Nothing
/// is sent then.
///
/// ```no_run
/// # use klarna_customer_token::*;
/// # async fn run(client: Client, tokens: Vec<CustomerToken>, order: OrderRequest) {
/// let mut calls = tokio::task::JoinSet::new();
/// for (i, token) in tokens.iter().enumerate() {
///     let key = IdempotencyKey::for_charge("acme-billing", format!("sub-{i}/2026-11"), 1);
///     calls.spawn(client.create_order(token, &order).with_idempotency_key(key).into_future());
/// }
/// while let Some(done) = calls.join_next().await { /* … */ }
/// # }
/// ```
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct CreateOrderCall {
    common: Common,
    /// The order as sent, or why it may not be sent.
    order: Result<CreateOrder, ValidationErrors>,
    /// The key, or why no random one could be drawn.
    key: Result<IdempotencyKey, RandomKeyError>,
}

impl CreateOrderCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken, order: &OrderRequest) -> Self {
        // Validated and serialized now, or earlier by another call of the
        // same order (`prepared` works it out once per order): the call
        // keeps the bytes it sends, not a copy of the order, and the
        // violations wait for the await.
        let order = order.prepared().map(|json| CreateOrder {
            json,
            unknown_fields: crate::order::unknown_fields_to_log(order),
        });
        Self {
            common: Common::new(client, token),
            order,
            key: IdempotencyKey::random(),
        }
    }

    /// The key every attempt of this call sends: the random one drawn when
    /// the call was made, or the one given to
    /// [`with_idempotency_key`](Self::with_idempotency_key).
    ///
    /// # Errors
    /// Only when no key was given and the operating system's random
    /// generator failed ([`RandomKeyError`], which `?` turns into
    /// [`Error::Config`]); awaiting the call then fails with that error,
    /// its outcome `NotCreated`, without sending anything.
    pub fn idempotency_key(&self) -> Result<&IdempotencyKey, RandomKeyError> {
        self.key.as_ref().map_err(Clone::clone)
    }

    /// Sends this key instead of the random one, for example a key from
    /// [`IdempotencyKey::derive`] or the key of an earlier call being
    /// reconciled. It is never replaced.
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.key = Ok(key);
        self
    }
}

call_settings!(CreateOrderCall);

impl IntoFuture for CreateOrderCall {
    type Output = Result<CreatedOrder, Error>;
    type IntoFuture = CallFuture<CreatedOrder>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let key = match self.key {
                Ok(key) => key,
                Err(e) => {
                    let call = CallInfo {
                        operation: Operation::CreateOrder,
                        token: self.common.token.redacted(),
                        attempts: 0,
                        idempotency_key: None,
                        outcome: Some(crate::outcome::before_sending()),
                    };
                    return Err(Error::no_random_key(e, call));
                }
            };
            let success = run(self.common, self.order, Some(&key)).await?;
            Ok(CreatedOrder::new(
                success.value,
                key,
                success.correlation_id,
                success.attempts,
            ))
        })
    }
}

/// A cancel-token call; await it to run it.
///
/// It owns what it needs (a clone of the client and of the token), so it can
/// be spawned.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct CancelTokenCall {
    common: Common,
}

impl CancelTokenCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken) -> Self {
        Self {
            common: Common::new(client, token),
        }
    }
}

call_settings!(CancelTokenCall);

impl IntoFuture for CancelTokenCall {
    type Output = Result<(), Error>;
    type IntoFuture = CallFuture<()>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { run(self.common, Ok(CancelToken), None).await.map(|_| ()) })
    }
}

#[cfg(test)]
mod tests;
