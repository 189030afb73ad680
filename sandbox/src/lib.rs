//! An in-memory, stateful Customer Token API that runs in-process, for the
//! tests and demos of [`klarna_customer_token`] (and, as the `klarna-sandbox`
//! binary, for any other client).
//!
//! The sandbox behaves like Klarna where it matters to billing code: it
//! checks Basic auth, validates orders with the very rules the client uses,
//! remembers token states (a cancelled token stays cancelled), replays
//! idempotent create-order requests, and can be told to fail in the ways
//! that double-charge naive clients. It needs no account and no network: it
//! listens on `127.0.0.1`, on the current tokio runtime (a current-thread
//! runtime works too).
//!
//! ```
//! use klarna_customer_token_sandbox::{tokens, Sandbox};
//! use klarna_customer_token::{CustomerToken, OrderLine, OrderRequest, TokenStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start().await?;
//! let client = sandbox.client();
//! let token = CustomerToken::new(tokens::ACTIVE_INVOICE)?;
//!
//! let order = OrderRequest::builder()
//!     .purchase_currency("EUR")
//!     .line(OrderLine::builder("Gold plan").quantity(1).unit_price(1190).tax_rate(1900).build()?)
//!     .build()?;
//! let created = client.create_order(&token, &order).await?;
//! assert_eq!(sandbox.orders().len(), 1);
//!
//! client.cancel_token(&token).await?;
//! assert_eq!(client.read_token(&token).await?.status(), &TokenStatus::Cancelled);
//! # let _ = created; Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! | request | answer |
//! |---|---|
//! | no `Authorization` | 401 with an HTML body, as Klarna's gateway answers |
//! | wrong credentials | 401 `UNAUTHORIZED` |
//! | `Authorization` scheme | matched case-insensitively: `basic …` is Basic |
//! | unknown token, read or cancel | 404 `NOT_FOUND`, "Invalid customer-token ID" |
//! | unknown token, create-order | 404 `TOKEN_NOT_FOUND` |
//! | an idempotency key that is not 1 to 255 visible ASCII characters | 400 `BAD_REQUEST` |
//! | read | 200 with the token's status: `ACTIVE`, `SUSPENDED` or `CANCELLED` |
//! | create-order, cancelled token | 403 `TOKEN_CANCELLED` |
//! | create-order, suspended token | 403 `TOKEN_SUSPENDED` |
//! | create-order breaking a rule | 400 `BAD_VALUE`, one message per violation, each naming its field |
//! | malformed JSON, or a content type that is not JSON | 400 `BAD_REQUEST` |
//! | body over 10 MiB | 413 `PAYLOAD_TOO_LARGE` |
//! | body not in full 30 s after its head | 408 `REQUEST_TIMEOUT`, then the connection closes |
//! | head over 64 KiB | 431 `REQUEST_HEADER_FIELDS_TOO_LARGE` (JSON), then the connection closes |
//! | unparsable request line or header | 400 `BAD_REQUEST` (JSON), then the connection closes |
//! | no complete head 10 s after the sandbox started waiting for one | the connection closes, unanswered |
//! | a new connection while every one of the 1,024 is busy with a request | 503 `SERVICE_UNAVAILABLE` with `Retry-After: 1`, or a closed connection |
//! | known path, wrong method | 405 `METHOD_NOT_ALLOWED` with `Allow` |
//! | cancel | 202, also for a token that is already cancelled |
//! | create-order, a token under fraud review | 200 with `fraud_status` `PENDING` |
//! | create-order, a notification URL beyond loopback and the allowed hosts | 400 `BAD_VALUE`, "merchant_urls.notification: …" |
//! | over the rate limit | 429 with `X-Ratelimit-Limit`, `X-Ratelimit-Remaining`, `X-Ratelimit-Reset` |
//!
//! Every answer carries a `Klarna-Correlation-Id` header, and every JSON
//! error body a `correlation_id`.
//!
//! # Steering
//!
//! [`Sandbox::inject`] queues a [`Fault`], aimed at every request or at an
//! operation, a token, an idempotency key, or any combination; a request
//! gets the first queued fault that matches it, so a leftover fault for one
//! token never touches another. [`Sandbox::pending_faults`] lists what is
//! left. [`Sandbox::set_token_status`] suspends or cancels a token in place;
//! [`Sandbox::orders_for`] and [`Sandbox::orders_with_key`] find what was
//! charged; [`Sandbox::reset`] goes back to the starting state. `Sandbox` is
//! a cheap handle: clone it into tasks.
//!
//! # One time for both sides
//!
//! A sandbox built with [`SandboxBuilder::virtual_time`] runs on a
//! [`VirtualClock`](klarna_customer_token::clock::VirtualClock) that the clients it hands
//! out share: a client's wait out of a 429 costs no real time and moves the
//! rate-limit window and the 24-hour idempotency window with it.
//!
//! # Pending orders
//!
//! A token added with
//! [`SandboxToken::with_fraud_review`]`(`[`FraudReview::Pending`]`)` gets
//! its orders answered `fraud_status: "PENDING"`.
//! [`Sandbox::decide_fraud`] decides one (`ACCEPTED` or `REJECTED` a
//! pending order, `STOPPED` any order), and the sandbox then delivers the
//! notification as Klarna does: a `POST` of `{"order_id", "event_type",
//! "decided_at"}` to the order's `merchant_urls.notification`, one delivery
//! at a time per order, [`defaults::NOTIFICATION_TIMEOUT`] per delivery
//! (real time), no proxy and no redirects, at most
//! [`defaults::MAX_NOTIFICATION_ANSWER_BYTES`] of the answer read. Until an
//! answer is `200` it is re-sent at every 10-minute step of **sandbox
//! time** after the decision, for 24 hours, then given up: moving the
//! [`SandboxClock`] runs the schedule, due deliveries going out within
//! about 200 ms of real time. [`Sandbox::notifications`] lists every
//! delivery with its URL cut to its path (a signed URL's query is a
//! secret), each attempt's sandbox time and outcome, and where it stands.
//!
//! The sandbox delivers only to loopback (`127.0.0.0/8`, `::1`, and
//! `localhost`, which it resolves to loopback itself) unless
//! [`SandboxBuilder::notify_allow`] allows a host: create-order refuses any
//! other notification URL with a 400 naming `merchant_urls.notification`,
//! so that the sandbox cannot be used to reach other hosts. At most
//! [`defaults::MAX_NOTIFICATIONS`] deliveries are kept, and the worker
//! stops with the sandbox.
//!
//! # Limits
//!
//! Everything the sandbox keeps or holds open is capped, so that a hostile
//! or broken client cannot exhaust its memory or its connections; the
//! defaults are in [`defaults`] and each is set on the [`SandboxBuilder`]:
//! idempotency keys (100,000), the request log (the last 10,000 requests,
//! 8 KiB of each), stored orders (the last 100,000), open connections
//! (1,024, lowered below the open-file limit), and the time a head (10 s)
//! or a body (30 s) may take. The timeouts run on real time; moving the
//! [`SandboxClock`] does not touch them. At the connection cap the
//! connection that has waited longest for a request head is closed to admit
//! the new one.
//!
//! # Idempotency
//!
//! Create-order requests with a `Klarna-Idempotency-Key` are remembered per
//! credentials, token and key for 24 hours of sandbox time (see
//! [`SandboxClock`]). A repeat within that window gets the first answer,
//! whatever it was, and stores no second order. A repeat that arrives while
//! the first is still being processed waits for it and gets its answer.
//! Injected faults and 5xx answers are never remembered, so a retry after
//! them is processed normally; every other answer is, declines (400, 403,
//! 404) included.
//!
//! A key keeps only what a replay needs: a SHA-256 digest of the canonical
//! request body (every field, unknown ones too, keys sorted, no whitespace)
//! and the answer; never the body. At most 100,000 answered keys are kept
//! ([`SandboxBuilder::max_idempotency_keys`]), and at most 64 MiB of
//! answers; past either cap the oldest expire first, as if their 24 hours
//! had passed. An error answer lists at most 4 KiB of messages (then a last
//! one saying how many more there were), so that an order breaking
//! thousands of rules keeps a small entry.
//!
//! **The same key with a different body** is answered with 409 and the
//! error code
//! [`ErrorCode::IdempotencyKeyMismatch`](klarna_customer_token::ErrorCode::IdempotencyKeyMismatch). Bodies are compared by their
//! canonical form, not their bytes: key order and whitespace do not matter. Klarna does
//! not document this case (its 409 says only that "the data in the request
//! does not match"); the sandbox makes it loud so that billing code that
//! reuses keys by mistake is caught in tests.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod admin;
mod answer;
mod auth;
mod body;
mod builder;
mod canonical;
mod clock;
mod create;
mod fault;
mod guard;
mod notify;
mod path;
mod record;
mod review;
mod router;
mod server;
mod state;
mod token;
mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use klarna_customer_token::TokenStatus;
use klarna_customer_token::{Client, ClientBuilder, CustomerToken, IdempotencyKey};

pub use builder::{AdminAccess, SandboxBuilder};
pub use clock::SandboxClock;
pub use fault::Fault;
pub use record::{RecordedRequest, StoredOrder};
pub use review::{
    AttemptOutcome, DecisionError, DeliveryAttempt, DeliveryState, FraudDecision, FraudReview,
    NotificationDelivery, OrderFraudStatus,
};
pub use token::{InvalidTokens, SandboxToken};
pub use wire::{Card, DirectDebit};

/// The largest request body the sandbox accepts (10 MiB); larger bodies get
/// 413.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The largest request head (request line and headers) the sandbox reads
/// (64 KiB); a larger one gets 431 with a JSON error body.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How much of one request's method, path and headers the request log
/// keeps (8 KiB); see [`RecordedRequest`].
pub const MAX_RECORDED_BYTES: usize = 8 * 1024;

/// Default caps and timeouts of a [`SandboxBuilder`].
pub mod defaults {
    use std::time::Duration;

    /// Idempotency keys remembered at most; past it the oldest expire first.
    pub const MAX_IDEMPOTENCY_KEYS: usize = 100_000;
    /// Requests the request log keeps (the most recent).
    pub const MAX_RECORDED_REQUESTS: usize = 10_000;
    /// Stored orders kept (the most recent).
    pub const MAX_STORED_ORDERS: usize = 100_000;
    /// Open connections at most, before the open-file limit lowers it.
    pub const MAX_CONNECTIONS: usize = 1_024;
    /// How long a connection may take to send a complete request head,
    /// counted from when the sandbox starts waiting for it (after the
    /// connection opens, or after the previous answer).
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a request may take to send its body, counted from when its
    /// head arrived.
    pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// Fraud-review notifications kept at most (being delivered, delivered
    /// or given up); past it the oldest finished one is forgotten, and a
    /// decision is refused when none is finished.
    pub const MAX_NOTIFICATIONS: usize = 10_000;
    /// How long one notification delivery may take, connecting included
    /// (real time).
    pub const NOTIFICATION_TIMEOUT: Duration = super::notify::worker::TIMEOUT;
    /// How often an undelivered notification is re-sent (sandbox time).
    pub const NOTIFICATION_RETRY: Duration = super::notify::RETRY_EVERY;
    /// How long after the decision a notification is re-sent (sandbox
    /// time).
    pub const NOTIFICATION_WINDOW: Duration = super::notify::WINDOW;
    /// The most of a receiver's answer the sandbox reads.
    pub const MAX_NOTIFICATION_ANSWER_BYTES: usize = super::notify::worker::MAX_ANSWER_BYTES;
}

/// The tokens every sandbox starts with.
pub mod tokens {
    /// An active token for invoice payments.
    pub const ACTIVE_INVOICE: &str = "sandbox-active-invoice-0001";
    /// An active card token.
    pub const ACTIVE_CARD: &str = "sandbox-active-card-0002";
    /// An active direct-debit token.
    pub const ACTIVE_DIRECT_DEBIT: &str = "sandbox-active-direct-debit-0003";
    /// A token Klarna has suspended.
    pub const SUSPENDED: &str = "sandbox-suspended-0004";
    /// A token the merchant has cancelled.
    pub const CANCELLED: &str = "sandbox-cancelled-0005";
}

/// The credentials a sandbox accepts unless configured otherwise.
pub mod credentials {
    /// The Basic auth username.
    pub const USERNAME: &str = "sandbox_merchant";
    /// The Basic auth password.
    pub const PASSWORD: &str = "sandbox-secret";
    /// An API key, sent verbatim as `Authorization: Basic <key>`.
    pub const API_KEY: &str = "klarna_test_api_sandbox";
}

/// A running sandbox: a cheap handle, whose clones share one server. It
/// stops serving when the last handle is dropped.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<state::Shared>,
    addr: SocketAddr,
    client: Client,
    task: tokio::task::JoinHandle<()>,
    /// The notification worker.
    notifier: tokio::task::JoinHandle<()>,
    max_connections: usize,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
        self.notifier.abort();
    }
}

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1` with the seeded tokens and no rate
    /// limit.
    ///
    /// # Errors
    /// The I/O error when no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        SandboxBuilder::default().start().await
    }

    /// Configures a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    fn state(&self) -> &state::Shared {
        &self.inner.state
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Its base URL, such as `http://127.0.0.1:41234`. A sandbox bound to
    /// every interface is reached through loopback.
    pub fn base_url(&self) -> String {
        format!("http://{}", builder::reachable(self.inner.addr))
    }

    /// A client builder set up for this sandbox: its base URL, its Basic
    /// auth credentials and, for a sandbox on virtual time, its clock.
    /// Adjust it before building, for example with a retry policy.
    pub fn client_builder(&self) -> ClientBuilder {
        builder::client_builder(self.inner.addr, self.state().clock.virtual_clock())
    }

    /// A ready client for this sandbox (built when the sandbox started;
    /// clones share its connection pool), on the sandbox's clock when it
    /// runs on virtual time.
    pub fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// Adds a token, or replaces the token with the same id.
    ///
    /// # Errors
    /// When the id is not a valid customer token.
    pub fn add_token(
        &self,
        token: SandboxToken,
    ) -> Result<CustomerToken, klarna_customer_token::Error> {
        let id = CustomerToken::new(token.id.clone())?;
        self.state().add_token(token);
        Ok(id)
    }

    /// Every token the sandbox knows, sorted by id, as it is now.
    pub fn tokens(&self) -> Vec<SandboxToken> {
        self.state().tokens()
    }

    /// A token's current status, if the sandbox knows the token.
    pub fn token_status(&self, token: &CustomerToken) -> Option<TokenStatus> {
        self.state().token_status(token.as_str())
    }

    /// Sets a token's status, keeping its payment method; `false` when the
    /// sandbox does not know the token (nothing is added then).
    ///
    /// ```
    /// use klarna_customer_token_sandbox::{tokens, Sandbox};
    /// use klarna_customer_token::{CustomerToken, TokenStatus};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = Sandbox::start().await?;
    /// let token = CustomerToken::new(tokens::ACTIVE_CARD)?;
    /// assert!(sandbox.set_token_status(&token, TokenStatus::Suspended));
    /// assert_eq!(sandbox.token_status(&token), Some(TokenStatus::Suspended));
    /// # Ok(()) }
    /// ```
    pub fn set_token_status(&self, token: &CustomerToken, status: TokenStatus) -> bool {
        self.state().set_token_status(token.as_str(), status)
    }

    /// Every order stored so far, oldest first.
    pub fn orders(&self) -> Vec<StoredOrder> {
        self.state().orders(|_| true)
    }

    /// The orders stored for this token, oldest first.
    pub fn orders_for(&self, token: &CustomerToken) -> Vec<StoredOrder> {
        self.state().orders(|o| &o.token == token)
    }

    /// The orders stored with this idempotency key, oldest first. A key is
    /// scoped to its credentials and token, so orders for different tokens
    /// may share one; for one token there is at most one per 24-hour
    /// window, which is what a double-charge check counts.
    pub fn orders_with_key(&self, key: &IdempotencyKey) -> Vec<StoredOrder> {
        self.state()
            .orders(|o| o.idempotency_key.as_ref() == Some(key))
    }

    /// The first order stored with this idempotency key, if any. See
    /// [`orders_with_key`](Self::orders_with_key) to count them.
    pub fn order_by_key(&self, key: &IdempotencyKey) -> Option<StoredOrder> {
        self.orders_with_key(key).into_iter().next()
    }

    /// The requests received, oldest first: the last 10,000 by default
    /// (see [`SandboxBuilder::max_recorded_requests`]), each with at most
    /// [`MAX_RECORDED_BYTES`] of method, path and headers.
    ///
    /// A request is recorded once its head has arrived within
    /// [`MAX_HEAD_BYTES`], before authentication and before its body is
    /// read: unauthenticated requests and requests whose body is too large
    /// are recorded too. A head hyper refuses (too large, unparsable) is
    /// not. Requests to the admin API are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests()
    }

    /// How many idempotency keys the sandbox remembers now (answered or in
    /// flight); at most [`SandboxBuilder::max_idempotency_keys`] answered
    /// ones. Each answered key keeps a 32-byte digest of the key's scope, a
    /// 32-byte digest of the canonical request body, the answer (a few
    /// hundred bytes) and its time: never the body.
    pub fn idempotency_keys(&self) -> usize {
        self.state().key_count()
    }

    /// The connection cap in force: [`SandboxBuilder::max_connections`],
    /// lowered to stay below the process's open-file limit.
    pub fn max_connections(&self) -> usize {
        self.inner.max_connections
    }

    /// Forgets the recorded requests (stored orders are kept).
    pub fn clear_requests(&self) {
        self.state().clear_requests();
    }

    /// Queues a fault for the next matching requests. A request gets the
    /// first queued fault that matches it; faults aimed at other targets
    /// are left as they are.
    pub fn inject(&self, fault: Fault) {
        self.state().inject(fault);
    }

    /// The faults still queued, in the order they apply, each with the
    /// uses it has left.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state().pending_faults()
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.state().clear_faults();
    }

    /// Sets or removes the rate limit (requests per window; the window is
    /// one second unless [`SandboxBuilder::rate_limit_window`] set it).
    pub fn set_rate_limit(&self, per_window: Option<u32>) {
        self.state().set_rate_limit(per_window);
    }

    /// Goes back to the starting state: the starting tokens (seeded and
    /// added on the builder) with their starting statuses, and no orders,
    /// idempotency keys, faults, notification deliveries (one being sent
    /// is not recorded) or recorded requests; the rate-limit window
    /// starts afresh. The clock keeps its time.
    pub fn reset(&self) {
        self.state().reset();
    }

    /// Decides an order's fraud review: `ACCEPTED` or `REJECTED` a
    /// `PENDING` order, `STOPPED` any order. When the order has a
    /// `merchant_urls.notification`, the sandbox then delivers the
    /// notification to it (see "Pending orders" in the module docs).
    /// Returns the order as it is now.
    ///
    /// ```
    /// use klarna_customer_token_sandbox::{
    ///     FraudDecision, FraudReview, OrderFraudStatus, Sandbox, SandboxToken,
    /// };
    /// use klarna_customer_token::{FraudStatus, OrderLine, OrderRequest, PaymentMethodType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = Sandbox::start().await?;
    /// let token = sandbox.add_token(
    ///     SandboxToken::new("under-review-0001", PaymentMethodType::Card)
    ///         .with_fraud_review(FraudReview::Pending),
    /// )?;
    /// let order = OrderRequest::builder()
    ///     .purchase_currency("USD")
    ///     .line(OrderLine::builder("Plan").quantity(1).unit_price(1000).tax_rate(0).build()?)
    ///     .build()?;
    /// let created = sandbox.client().create_order(&token, &order).await?;
    /// assert_eq!(created.fraud_status(), &FraudStatus::Pending);
    ///
    /// let decided = sandbox.decide_fraud(created.order_id(), FraudDecision::Accepted)?;
    /// assert_eq!(decided.fraud_status, OrderFraudStatus::Accepted);
    /// // Accepted once: only STOPPED may follow.
    /// assert!(sandbox.decide_fraud(created.order_id(), FraudDecision::Rejected).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`DecisionError`]: no such order, an order that is not `PENDING`
    /// for `ACCEPTED` or `REJECTED`, or a full notification queue; nothing
    /// changes then.
    pub fn decide_fraud(
        &self,
        order_id: &str,
        decision: FraudDecision,
    ) -> Result<StoredOrder, DecisionError> {
        self.state().decide_fraud(order_id, decision)
    }

    /// Every notification delivery the sandbox keeps, oldest first: its
    /// order, event, URL cut to its path, every attempt's sandbox time and
    /// outcome, and where it stands.
    pub fn notifications(&self) -> Vec<NotificationDelivery> {
        self.state().notifications()
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> &SandboxClock {
        &self.state().clock
    }
}

/// The sandbox guide's code (`docs/sandbox.md` of the repository), compiled
/// and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/sandbox.md")]
pub struct GuideDoctests;
