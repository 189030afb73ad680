//! Calls: what the client's methods return. Each runs when awaited and can
//! be adjusted before that.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tracing::Instrument;

use crate::client::Client;
use crate::error::{Error, Operation};
use crate::idempotency::IdempotencyKey;
use crate::order::{CreatedOrder, OrderBody, OrderRequest};
use crate::retry::RetryPolicy;
use crate::token::{CustomerToken, TokenDetails};
use crate::transport::{CallContext, CallOptions};
use crate::violation::ValidationErrors;

/// The future a call resolves through: `Send + 'static`, so it can be
/// spawned (`tokio::spawn`, a `JoinSet`) without keeping the client, the
/// token or the order alive.
pub type CallFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

macro_rules! call_settings {
    ($ty:ident) => {
        impl $ty {
            /// Overrides the client's retry policy for this call.
            pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
                self.options.retry = policy;
                self
            }
            /// Overrides the client's per-attempt timeout for this call.
            pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
                self.options.attempt_timeout = timeout;
                self
            }
        }
    };
}

fn options(client: &Client) -> CallOptions {
    CallOptions {
        retry: client.shared.retry.clone(),
        attempt_timeout: client.shared.attempt_timeout,
    }
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
    started: std::time::Instant,
    result: &Result<T, Error>,
    attempts: Option<u32>,
) {
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    if let Some(attempts) = attempts {
        span.record("attempts", attempts);
    }
    if let Err(e) = result {
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

/// A read-token call; await it to run it.
///
/// It owns what it needs (a clone of the client, which shares its
/// connection pool, and of the token), so it can be spawned.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct ReadTokenCall {
    client: Client,
    token: CustomerToken,
    options: CallOptions,
}

impl ReadTokenCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken) -> Self {
        Self {
            client: client.clone(),
            token: token.clone(),
            options: options(client),
        }
    }

    async fn run(self) -> Result<TokenDetails, Error> {
        let span = call_span(Operation::ReadToken, &self.token);
        let started = std::time::Instant::now();
        let ctx = CallContext::new(
            self.client.shared.clone(),
            Operation::ReadToken,
            &self.token,
            self.options,
        );
        let result = async {
            let raw = ctx
                .generated()
                .read_customer_token(self.token.as_str())
                .await;
            ctx.finish(raw, None, decode::<TokenDetails>)
        }
        .instrument(span.clone())
        .await;
        let result = result.map(|success| {
            if let Some(id) = &success.correlation_id {
                span.record("correlation_id", id.as_str());
            }
            span.record("status", success.status);
            close_span::<()>(&span, started, &Ok(()), Some(success.attempts));
            success.value
        });
        if result.is_err() {
            close_span(&span, started, &result, None);
        }
        result
    }
}

call_settings!(ReadTokenCall);

impl IntoFuture for ReadTokenCall {
    type Output = Result<TokenDetails, Error>;
    type IntoFuture = CallFuture<TokenDetails>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
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
/// let key = call.idempotency_key().clone(); // store it before sending
/// let created = call.await?;
/// assert_eq!(created.idempotency_key(), &key);
/// # Ok(()) }
/// ```
///
/// The call owns what it needs: a clone of the client (it shares the
/// connection pool), of the token, and of the order once it has been
/// validated, so the caller's token and order can be dropped at once and the
/// call spawned. The order is validated when the call is made; a violation
/// is kept and returned when the call is awaited, carrying the call's final
/// idempotency key. Nothing is sent then.
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
    client: Client,
    token: CustomerToken,
    /// The order, or why it may not be sent.
    order: Result<OrderRequest, ValidationErrors>,
    key: IdempotencyKey,
    options: CallOptions,
}

impl CreateOrderCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken, order: &OrderRequest) -> Self {
        // Validated now, so that an order that will not be sent is not
        // copied; the violations wait for the await.
        let order = order.validate().map(|()| order.clone());
        Self {
            client: client.clone(),
            token: token.clone(),
            order,
            key: IdempotencyKey::random(),
            options: options(client),
        }
    }

    /// The key every attempt of this call sends.
    pub fn idempotency_key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// Sends this key instead of the random one, for example a key from
    /// [`IdempotencyKey::derive`] or the key of an earlier call being
    /// reconciled. It is never replaced.
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.key = key;
        self
    }

    async fn run(self) -> Result<CreatedOrder, Error> {
        let span = call_span(Operation::CreateOrder, &self.token);
        span.record("idempotency_key", self.key.as_str());
        let started = std::time::Instant::now();
        // Nothing is sent for an order that broke a rule.
        let order = match self.order {
            Ok(order) => order,
            Err(violations) => {
                // Nothing was sent: no order exists. The key travels with the
                // error, as on every create-order error.
                let call = crate::error::CallInfo {
                    operation: Operation::CreateOrder,
                    token: self.token.redacted(),
                    attempts: 0,
                    idempotency_key: Some(self.key),
                    outcome: Some(crate::OrderOutcome::NotCreated),
                };
                let result = Err(Error::refused_before_sending(violations, call));
                close_span::<CreatedOrder>(&span, started, &result, None);
                return result;
            }
        };
        crate::order::log_unknown_fields(&order);
        let ctx = CallContext::new(
            self.client.shared.clone(),
            Operation::CreateOrder,
            &self.token,
            self.options,
        );
        let key = self.key;
        let result = async {
            let raw = ctx
                .generated()
                .create_order(self.token.as_str(), Some(key.as_str()), &order)
                .await;
            ctx.finish(raw, Some(key.clone()), decode::<OrderBody>)
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(success) => {
                if let Some(id) = &success.correlation_id {
                    span.record("correlation_id", id.as_str());
                }
                span.record("status", success.status);
                close_span::<()>(&span, started, &Ok(()), Some(success.attempts));
                Ok(CreatedOrder::new(
                    success.value,
                    key,
                    success.correlation_id,
                    success.attempts,
                ))
            }
            Err(e) => {
                let result = Err(e);
                close_span::<CreatedOrder>(&span, started, &result, None);
                result
            }
        }
    }
}

call_settings!(CreateOrderCall);

impl IntoFuture for CreateOrderCall {
    type Output = Result<CreatedOrder, Error>;
    type IntoFuture = CallFuture<CreatedOrder>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A cancel-token call; await it to run it.
///
/// It owns what it needs (a clone of the client and of the token), so it can
/// be spawned.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct CancelTokenCall {
    client: Client,
    token: CustomerToken,
    options: CallOptions,
}

impl CancelTokenCall {
    pub(crate) fn new(client: &Client, token: &CustomerToken) -> Self {
        Self {
            client: client.clone(),
            token: token.clone(),
            options: options(client),
        }
    }

    async fn run(self) -> Result<(), Error> {
        let span = call_span(Operation::CancelToken, &self.token);
        let started = std::time::Instant::now();
        let ctx = CallContext::new(
            self.client.shared.clone(),
            Operation::CancelToken,
            &self.token,
            self.options,
        );
        let body = crate::token::CancelRequest {
            status: crate::token::CancelStatus::Cancelled,
        };
        let result = async {
            let raw = ctx
                .generated()
                .patch_customer_token(self.token.as_str(), &body)
                .await;
            // Any 2xx means the cancellation was accepted, whatever its body.
            ctx.finish(raw, None, |_| Ok(()))
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(success) => {
                span.record("status", success.status);
                close_span::<()>(&span, started, &Ok(()), Some(success.attempts));
                Ok(())
            }
            Err(e) => {
                let result = Err(e);
                close_span::<()>(&span, started, &result, None);
                result
            }
        }
    }
}

call_settings!(CancelTokenCall);

impl IntoFuture for CancelTokenCall {
    type Output = Result<(), Error>;
    type IntoFuture = CallFuture<()>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Decodes a success body, naming the path of the first problem.
fn decode<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
}
