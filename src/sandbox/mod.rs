//! An in-memory, stateful Customer Token API that runs in-process.
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
//! use klarna_customer_token::sandbox::{tokens, Sandbox};
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
//! [`VirtualClock`] that the clients it hands
//! out share: a client's wait out of a 429 costs no real time and moves the
//! rate-limit window and the 24-hour idempotency window with it.
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
//! error code [`IDEMPOTENCY_KEY_MISMATCH`]. Bodies are compared by their
//! canonical form, not their bytes: key order and whitespace do not matter. Klarna does
//! not document this case (its 409 says only that "the data in the request
//! does not match"); the sandbox makes it loud so that billing code that
//! reuses keys by mistake is caught in tests.

mod admin;
mod canonical;
mod fault;
mod server;
mod state;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::VirtualClock;
use crate::enums::{PaymentMethodType, TokenStatus};
use crate::{Client, ClientBuilder, CustomerToken, IdempotencyKey, OrderRequest};

pub use fault::Fault;
pub use state::{FaultKind, Phase};

/// The error code of a 409 answer to a reused idempotency key with a
/// different body.
pub const IDEMPOTENCY_KEY_MISMATCH: &str = "IDEMPOTENCY_KEY_MISMATCH";

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

/// A token to add to a sandbox.
///
/// ```
/// use klarna_customer_token::sandbox::SandboxToken;
/// use klarna_customer_token::{PaymentMethodType, TokenStatus};
///
/// let token = SandboxToken::new("my-token-1234", PaymentMethodType::Card)
///     .status(TokenStatus::Active)
///     .card("MASTERCARD", "01/2031", "************4444");
/// # let _ = token;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SandboxToken {
    pub(crate) id: String,
    pub(crate) status: TokenStatus,
    pub(crate) payment_method_type: PaymentMethodType,
    pub(crate) card: Option<(String, String, String)>,
    pub(crate) direct_debit: Option<String>,
}

impl SandboxToken {
    /// Reads tokens from JSON: one token object, or a list of them, as the
    /// admin API and `klarna-sandbox --tokens FILE` take them:
    ///
    /// ```
    /// use klarna_customer_token::sandbox::SandboxToken;
    ///
    /// let tokens = SandboxToken::from_json(br#"[
    ///     {"id": "my-card-token-0001", "payment_method_type": "CARD", "status": "ACTIVE",
    ///      "card": {"brand": "VISA", "expiry_date": "12/2031", "masked_number": "************1111"}},
    ///     {"id": "my-invoice-token-0002", "payment_method_type": "INVOICE", "status": "SUSPENDED"}
    /// ]"#)?;
    /// assert_eq!(tokens.len(), 2);
    /// # Ok::<(), klarna_customer_token::Error>(())
    /// ```
    ///
    /// `status` defaults to `ACTIVE`; `card` and `direct_debit` are
    /// optional; any other field is refused.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) naming the JSON path
    /// of the first thing wrong, such as `[1].card.brand`: not JSON, an
    /// unknown field, an id that is not a valid customer token, or a status
    /// or payment method type Klarna does not document.
    pub fn from_json(raw: &[u8]) -> Result<Vec<Self>, crate::Error> {
        admin::parse_tokens(raw)
            .map_err(|(path, message)| crate::ValidationErrors::single(&path, message).into())
    }

    /// An active token with this id and payment method.
    pub fn new(id: impl Into<String>, payment_method_type: PaymentMethodType) -> Self {
        Self {
            id: id.into(),
            status: TokenStatus::Active,
            payment_method_type,
            card: None,
            direct_debit: None,
        }
    }
    /// The token's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The token's status.
    pub fn token_status(&self) -> &TokenStatus {
        &self.status
    }
    /// The token's payment method type.
    pub fn payment_method_type(&self) -> &PaymentMethodType {
        &self.payment_method_type
    }
    /// Sets the token's status.
    pub fn status(mut self, status: TokenStatus) -> Self {
        self.status = status;
        self
    }
    /// Adds card details: brand, expiry (`MM/YYYY`) and masked number.
    pub fn card(
        mut self,
        brand: impl Into<String>,
        expiry_date: impl Into<String>,
        masked_number: impl Into<String>,
    ) -> Self {
        self.card = Some((brand.into(), expiry_date.into(), masked_number.into()));
        self
    }
    /// Adds direct-debit details: the masked account number.
    pub fn direct_debit(mut self, masked_number: impl Into<String>) -> Self {
        self.direct_debit = Some(masked_number.into());
        self
    }
}

/// The sandbox's own clock, which tests can move forward.
///
/// By default it runs with tokio's clock and adds whatever
/// [`advance`](Self::advance) added, so that a test can step past the
/// 24-hour idempotency window or a rate-limit window without waiting.
///
/// A sandbox built with [`SandboxBuilder::virtual_time`] (or
/// [`SandboxBuilder::clock`]) runs on a [`VirtualClock`] instead, shared
/// with the clients it hands out: a client's wait between attempts moves
/// the sandbox's time too, and [`advance`](Self::advance) moves the
/// client's. Either way the sandbox's connection timeouts and injected
/// delays run on real time.
#[derive(Debug)]
pub struct SandboxClock {
    source: ClockSource,
}

#[derive(Debug)]
enum ClockSource {
    Real {
        origin: tokio::time::Instant,
        offset: std::sync::Mutex<Duration>,
    },
    Virtual(VirtualClock),
}

impl SandboxClock {
    fn new(virtual_clock: Option<VirtualClock>) -> Self {
        let source = match virtual_clock {
            Some(clock) => ClockSource::Virtual(clock),
            None => ClockSource::Real {
                origin: tokio::time::Instant::now(),
                offset: std::sync::Mutex::new(Duration::ZERO),
            },
        };
        Self { source }
    }
    /// Sandbox time elapsed since the sandbox started (since the virtual
    /// clock's zero, for a sandbox on virtual time).
    ///
    /// It saturates at [`Duration::MAX`] instead of overflowing.
    pub fn now(&self) -> Duration {
        match &self.source {
            ClockSource::Real { origin, offset } => {
                let offset = *offset
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                origin.elapsed().saturating_add(offset)
            }
            ClockSource::Virtual(clock) => crate::clock::Clock::now(clock),
        }
    }
    /// Moves sandbox time forward (and, on virtual time, the clients'
    /// time with it). Any value is accepted: the clock stops at
    /// [`Duration::MAX`] rather than overflowing, and every answer after
    /// that is still served.
    ///
    /// The sandbox's connection timeouts run on real time and ignore this
    /// clock.
    pub fn advance(&self, by: Duration) {
        match &self.source {
            ClockSource::Real { offset, .. } => {
                let mut offset = offset
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *offset = offset.saturating_add(by);
            }
            ClockSource::Virtual(clock) => clock.advance(by),
        }
    }
    /// The virtual clock the sandbox runs on, if it runs on one.
    pub fn virtual_clock(&self) -> Option<&VirtualClock> {
        match &self.source {
            ClockSource::Real { .. } => None,
            ClockSource::Virtual(clock) => Some(clock),
        }
    }
}

/// An order the sandbox stored.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredOrder {
    /// The order id the sandbox gave it.
    pub order_id: String,
    /// The token it was charged to.
    pub token: CustomerToken,
    /// The idempotency key it came with, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The order as received.
    pub order: OrderRequest,
    /// Sandbox time when it was stored.
    pub created_at: Duration,
}

/// A request the sandbox received. Its `Debug` output hides the
/// `Authorization` header and shows tokens in the path by their last four
/// characters only.
///
/// A record keeps at most [`MAX_RECORDED_BYTES`] (8 KiB) of method, path
/// and headers, in that order; past that the rest is cut (at a character
/// boundary) and [`truncated`](Self::truncated) is `true`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, such as `POST`.
    pub method: String,
    /// The path, such as `/customer-token/v1/tokens/…/order`.
    pub path: String,
    /// The headers, names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    /// Whether the method, path or headers were cut to fit
    /// [`MAX_RECORDED_BYTES`].
    pub truncated: bool,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RecordedRequest {
    /// The path with the token shown by its last four characters.
    pub(crate) fn redacted_path(&self) -> String {
        server::redact_path(&self.path)
    }

    /// The headers with the credentials replaced by `<redacted>`.
    pub(crate) fn redacted_headers(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| {
                if n == "authorization" || n == "proxy-authorization" {
                    (n.as_str(), "<redacted>")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect()
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.redacted_path())
            .field("headers", &self.redacted_headers())
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// Configures a [`Sandbox`] before it starts.
///
/// Everything the sandbox keeps or holds open is capped; the defaults are
/// in [`defaults`]:
///
/// ```
/// use std::time::Duration;
/// use klarna_customer_token::sandbox::Sandbox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let sandbox = Sandbox::builder()
///     .max_idempotency_keys(1_000)
///     .max_recorded_requests(100)
///     .max_connections(64)
///     .header_read_timeout(Duration::from_secs(2))
///     .body_read_timeout(Duration::from_secs(5))
///     .start()
///     .await?;
/// assert!(sandbox.max_connections() <= 64);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SandboxBuilder {
    bind: SocketAddr,
    rate_limit: Option<u32>,
    rate_window: Duration,
    seed: bool,
    tokens: Vec<SandboxToken>,
    clock: Option<VirtualClock>,
    admin: AdminAccess,
    retention: state::Retention,
    max_connections: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            rate_limit: None,
            rate_window: Duration::from_secs(1),
            seed: true,
            tokens: Vec::new(),
            clock: None,
            admin: AdminAccess::Off,
            retention: state::Retention {
                keys: defaults::MAX_IDEMPOTENCY_KEYS,
                requests: defaults::MAX_RECORDED_REQUESTS,
                orders: defaults::MAX_STORED_ORDERS,
            },
            max_connections: defaults::MAX_CONNECTIONS,
            header_read_timeout: defaults::HEADER_READ_TIMEOUT,
            body_read_timeout: defaults::BODY_READ_TIMEOUT,
        }
    }
}

impl SandboxBuilder {
    /// Listens on this address (default `127.0.0.1:0`, a free port on
    /// loopback).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
    /// Answers 429 past this many requests per second (default: no limit).
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = Some(per_second);
        self
    }
    /// Counts the rate limit over windows of this length instead of one
    /// second: `.rate_limit(1).rate_limit_window(30 s)` allows one request
    /// per 30 seconds and answers the next with a 429 whose
    /// `X-Ratelimit-Reset` says how many seconds of the window are left.
    /// The window runs on the sandbox's clock.
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.rate_window = window;
        self
    }
    /// Starts without the seeded tokens.
    pub fn empty(mut self) -> Self {
        self.seed = false;
        self
    }
    /// Adds a token to the starting state (after the seeded ones; it
    /// replaces a seeded token with the same id). [`Sandbox::reset`] brings
    /// it back.
    pub fn token(mut self, token: SandboxToken) -> Self {
        self.tokens.push(token);
        self
    }
    /// Runs the sandbox on a fresh [`VirtualClock`], shared with the
    /// clients it hands out ([`Sandbox::client`],
    /// [`Sandbox::client_builder`]): a client's waits between attempts
    /// cost no real time and move the sandbox's rate-limit window and
    /// 24-hour idempotency window with them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use klarna_customer_token::sandbox::Sandbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let sandbox = Sandbox::builder().virtual_time().start().await?;
    /// sandbox.clock().advance(Duration::from_secs(60));
    /// let clock = sandbox.clock().virtual_clock().expect("virtual");
    /// assert_eq!(klarna_customer_token::clock::Clock::now(clock), Duration::from_secs(60));
    /// # Ok(()) }
    /// ```
    ///
    /// Injected delays and the connection timeouts stay on real time.
    pub fn virtual_time(self) -> Self {
        self.clock(VirtualClock::new())
    }
    /// Runs the sandbox on this [`VirtualClock`] (clones share one clock),
    /// as [`virtual_time`](Self::virtual_time) does with a fresh one.
    pub fn clock(mut self, clock: VirtualClock) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Serves the admin API under `/__sandbox/` (see the README, "The
    /// sandbox's admin API"): open to every caller, or only to callers
    /// that send `Authorization: Bearer <token>`. Off by default.
    pub fn admin(mut self, access: AdminAccess) -> Self {
        self.admin = access;
        self
    }
    /// Remembers at most this many answered idempotency keys (default
    /// 100,000). Past the cap the oldest expire first, as if their 24 hours
    /// had passed; 0 remembers none. Independently, the stored answers are
    /// held to 64 MiB, which only answers far larger than Klarna's reach
    /// first.
    pub fn max_idempotency_keys(mut self, keys: usize) -> Self {
        self.retention.keys = keys;
        self
    }
    /// Keeps the last this many requests for [`Sandbox::requests`]
    /// (default 10,000); 0 records none.
    pub fn max_recorded_requests(mut self, requests: usize) -> Self {
        self.retention.requests = requests;
        self
    }
    /// Keeps the last this many orders for [`Sandbox::orders`] (default
    /// 100,000); 0 keeps none. Replays do not need them: a replay answers
    /// from the idempotency store.
    pub fn max_stored_orders(mut self, orders: usize) -> Self {
        self.retention.orders = orders;
        self
    }
    /// Holds at most this many connections open (default 1,024; at least
    /// 1). The sandbox lowers it to stay below the process's open-file
    /// limit, with a margin; [`Sandbox::max_connections`] tells the cap in
    /// force.
    ///
    /// At the cap, a new connection closes the one that has waited longest
    /// without sending a complete request head (an idle keep-alive
    /// connection, or one still sending its headers). Only when every
    /// connection is busy with a request is the new one refused, with a 503
    /// `SERVICE_UNAVAILABLE` and `Retry-After: 1` where the socket takes it.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }
    /// Closes a connection that has not sent a complete request head this
    /// long after the sandbox started waiting for one (default 10 s of real
    /// time; the [`SandboxClock`] does not move it). The connection is
    /// closed without an answer.
    ///
    /// Both timeouts run on tokio's timer, which is real time unless the
    /// runtime's time is paused; with paused time (not meant for real
    /// sockets) they would fire as soon as the runtime is idle.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
    /// Answers 408 `REQUEST_TIMEOUT` and closes the connection when a
    /// request body has not arrived in full this long after its head
    /// (default 30 s of real time): a `Content-Length` that lies, or a
    /// chunked body that never ends.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// The I/O error when the address cannot be bound.
    /// When a token added with [`token`](Self::token) has an id that is not
    /// a valid customer token, an error of kind
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) naming it.
    pub async fn start(self) -> std::io::Result<Sandbox> {
        let mut seed = if self.seed {
            seeded_tokens()
        } else {
            Vec::new()
        };
        for token in self.tokens {
            if let Err(e) = CustomerToken::new(token.id.as_str()) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("token {:?}: {e}", token.id),
                ));
            }
            seed.retain(|t| t.id != token.id);
            seed.push(token);
        }
        let clock = SandboxClock::new(self.clock);
        let state = Arc::new(state::Shared::new(
            state::Config {
                rate_limit: self.rate_limit,
                rate_window: self.rate_window,
                retention: self.retention,
                body_read_timeout: self.body_read_timeout,
                admin: self.admin.into_check(),
            },
            clock,
            seed,
        ));
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let client = client_builder(addr, state.clock.virtual_clock())
            .build()
            .map_err(std::io::Error::other)?;
        let limits = server::Limits {
            max_connections: server::connection_cap(self.max_connections),
            header_read_timeout: self.header_read_timeout,
        };
        let max_connections = limits.max_connections;
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), limits));
        Ok(Sandbox {
            inner: Arc::new(Inner {
                state,
                addr,
                client,
                task,
                max_connections,
            }),
        })
    }
}

/// The address a client uses to reach a sandbox bound to `addr`.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, addr.port()).into()
        }
        _ => addr,
    }
}

fn client_builder(addr: SocketAddr, clock: Option<&VirtualClock>) -> ClientBuilder {
    let addr = reachable(addr);
    let mut builder = Client::builder()
        .basic_auth(credentials::USERNAME, credentials::PASSWORD)
        .base_url(format!("http://{addr}"));
    if let Some(clock) = clock {
        builder = builder.clock(clock.clone());
    }
    if addr.ip().is_loopback() {
        builder
    } else {
        builder.allow_insecure_http()
    }
}

fn seeded_tokens() -> Vec<SandboxToken> {
    vec![
        SandboxToken::new(tokens::ACTIVE_INVOICE, PaymentMethodType::Invoice),
        SandboxToken::new(tokens::ACTIVE_CARD, PaymentMethodType::Card).card(
            "VISA",
            "12/2030",
            "************1234",
        ),
        SandboxToken::new(tokens::ACTIVE_DIRECT_DEBIT, PaymentMethodType::DirectDebit)
            .direct_debit("**********1240"),
        SandboxToken::new(tokens::SUSPENDED, PaymentMethodType::Invoice)
            .status(TokenStatus::Suspended),
        SandboxToken::new(tokens::CANCELLED, PaymentMethodType::Card)
            .status(TokenStatus::Cancelled)
            .card("MASTERCARD", "01/2029", "************4444"),
    ]
}

/// Who may use a sandbox's admin API (see [`SandboxBuilder::admin`]).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AdminAccess {
    /// No admin API: `/__sandbox/` paths are unknown paths (the default).
    #[default]
    Off,
    /// Every caller may use it: for a sandbox on loopback.
    Open,
    /// Only callers that send `Authorization: Bearer <token>` with this
    /// token (compared in constant time).
    Token(String),
}

impl AdminAccess {
    fn into_check(self) -> Option<admin::Access> {
        match self {
            Self::Off => None,
            Self::Open => Some(admin::Access::open()),
            Self::Token(token) => Some(admin::Access::bearer(&token)),
        }
    }
}

impl fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("Off"),
            Self::Open => f.write_str("Open"),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
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
        format!("http://{}", reachable(self.inner.addr))
    }

    /// A client builder set up for this sandbox: its base URL, its Basic
    /// auth credentials and, for a sandbox on virtual time, its clock.
    /// Adjust it before building, for example with a retry policy.
    pub fn client_builder(&self) -> ClientBuilder {
        client_builder(self.inner.addr, self.state().clock.virtual_clock())
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
    pub fn add_token(&self, token: SandboxToken) -> Result<CustomerToken, crate::Error> {
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
    /// use klarna_customer_token::sandbox::{tokens, Sandbox};
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
    /// idempotency keys, faults or recorded requests; the rate-limit window
    /// starts afresh. The clock keeps its time.
    pub fn reset(&self) {
        self.state().reset();
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> &SandboxClock {
        &self.state().clock
    }
}
