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
//! | unknown token | 404 `TOKEN_NOT_FOUND` |
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

mod canonical;
mod server;
mod state;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::enums::{PaymentMethodType, TokenStatus};
use crate::error::Operation;
use crate::{Client, ClientBuilder, CustomerToken, OrderRequest};

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

/// A fault to inject into the sandbox's next requests.
///
/// ```
/// use klarna_customer_token::sandbox::Fault;
/// use klarna_customer_token::Operation;
///
/// // The next two create-order requests get a JSON 503.
/// let fault = Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
///     .times(2)
///     .only(Operation::CreateOrder);
/// # let _ = fault;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) times: u32,
    pub(crate) only: Option<Operation>,
}

impl Fault {
    fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            times: 1,
            only: None,
        }
    }
    /// Answer with this status and JSON body, without processing the
    /// request.
    pub fn status(status: u16, json_body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status {
            status,
            body: json_body.into(),
            content_type: "application/json".to_owned(),
            headers: Vec::new(),
        })
    }
    /// Answer with this status, content type and body, without processing
    /// the request.
    pub fn raw(status: u16, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status {
            status,
            body: body.into(),
            content_type: content_type.into(),
            headers: Vec::new(),
        })
    }
    /// Answer with a gateway's HTML 502, without processing the request.
    pub fn gateway_502() -> Self {
        Self::raw(
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
    }
    /// Close the connection without processing the request or answering.
    pub fn drop_before_processing() -> Self {
        Self::new(FaultKind::Drop {
            phase: Phase::BeforeProcessing,
        })
    }
    /// Process the request (create-order stores the order), then close the
    /// connection without answering: the case that double-charges clients
    /// that retry without an idempotency key.
    pub fn drop_after_processing() -> Self {
        Self::new(FaultKind::Drop {
            phase: Phase::AfterProcessing,
        })
    }
    /// Wait this long before processing the request.
    pub fn delay_before_processing(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            delay,
            phase: Phase::BeforeProcessing,
        })
    }
    /// Process the request (create-order stores the order), then wait this
    /// long before answering.
    pub fn delay_after_processing(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            delay,
            phase: Phase::AfterProcessing,
        })
    }
    /// Adds a header to a status fault's answer, such as `Retry-After` or
    /// `X-Ratelimit-Reset`. Other faults have no answer to add it to.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let FaultKind::Status { headers, .. } = &mut self.kind {
            headers.push((name.into(), value.into()));
        }
        self
    }
    /// Applies the fault to this many requests (default 1).
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
    /// Applies the fault only to requests of this operation.
    pub fn only(mut self, operation: Operation) -> Self {
        self.only = Some(operation);
        self
    }
}

/// The sandbox's own clock, which tests can move forward.
///
/// It runs with tokio's clock and adds whatever [`advance`](Self::advance)
/// added, so that a test can step past the 24-hour idempotency window or a
/// rate-limit window without waiting.
#[derive(Debug)]
pub struct SandboxClock {
    origin: tokio::time::Instant,
    offset: std::sync::Mutex<Duration>,
}

impl SandboxClock {
    fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            offset: std::sync::Mutex::new(Duration::ZERO),
        }
    }
    /// Sandbox time elapsed since the sandbox started.
    ///
    /// It saturates at [`Duration::MAX`] instead of overflowing.
    pub fn now(&self) -> Duration {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.origin.elapsed().saturating_add(offset)
    }
    /// Moves sandbox time forward. Any value is accepted: the clock stops
    /// at [`Duration::MAX`] rather than overflowing, and every answer after
    /// that is still served.
    ///
    /// The sandbox's connection timeouts run on real time and ignore this
    /// clock.
    pub fn advance(&self, by: Duration) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset = offset.saturating_add(by);
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
    pub idempotency_key: Option<String>,
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

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = server::redact_path(&self.path);
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n == "authorization" || n == "proxy-authorization" {
                    (n.as_str(), "<redacted>")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("headers", &headers)
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
    seed: bool,
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
            seed: true,
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
    /// Starts without the seeded tokens.
    pub fn empty(mut self) -> Self {
        self.seed = false;
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
    pub async fn start(self) -> std::io::Result<Sandbox> {
        let state = Arc::new(state::Shared::new(
            self.rate_limit,
            self.retention,
            self.body_read_timeout,
        ));
        if self.seed {
            for token in seeded_tokens() {
                state.add_token(token);
            }
        }
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let client = client_builder(addr)
            .build()
            .map_err(std::io::Error::other)?;
        let limits = server::Limits {
            max_connections: server::connection_cap(self.max_connections),
            header_read_timeout: self.header_read_timeout,
        };
        let max_connections = limits.max_connections;
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), limits));
        Ok(Sandbox {
            state,
            addr,
            client,
            task,
            max_connections,
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

fn client_builder(addr: SocketAddr) -> ClientBuilder {
    let addr = reachable(addr);
    let builder = Client::builder()
        .basic_auth(credentials::USERNAME, credentials::PASSWORD)
        .base_url(format!("http://{addr}"));
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

/// A running sandbox. It stops serving when dropped.
pub struct Sandbox {
    state: Arc<state::Shared>,
    addr: SocketAddr,
    client: Client,
    task: tokio::task::JoinHandle<()>,
    max_connections: usize,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Drop for Sandbox {
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

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, such as `http://127.0.0.1:41234`. A sandbox bound to
    /// every interface is reached through loopback.
    pub fn base_url(&self) -> String {
        format!("http://{}", reachable(self.addr))
    }

    /// A client builder set up for this sandbox: its base URL and its Basic
    /// auth credentials. Adjust it before building, for example with a
    /// retry policy.
    pub fn client_builder(&self) -> ClientBuilder {
        client_builder(self.addr)
    }

    /// A ready client for this sandbox (built when the sandbox started;
    /// clones share its connection pool).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Adds a token, or replaces the token with the same id.
    ///
    /// # Errors
    /// When the id is not a valid customer token.
    pub fn add_token(&self, token: SandboxToken) -> Result<CustomerToken, crate::Error> {
        let id = CustomerToken::new(token.id.clone())?;
        self.state.add_token(token);
        Ok(id)
    }

    /// A token's current status, if the sandbox knows the token.
    pub fn token_status(&self, token: &CustomerToken) -> Option<TokenStatus> {
        self.state.token_status(token.as_str())
    }

    /// Every order stored so far, oldest first.
    pub fn orders(&self) -> Vec<StoredOrder> {
        self.state.orders()
    }

    /// The requests received, oldest first: the last 10,000 by default
    /// (see [`SandboxBuilder::max_recorded_requests`]), each with at most
    /// [`MAX_RECORDED_BYTES`] of method, path and headers.
    ///
    /// A request is recorded once its head has arrived within
    /// [`MAX_HEAD_BYTES`], before authentication and before its body is
    /// read: unauthenticated requests and requests whose body is too large
    /// are recorded too. A head hyper refuses (too large, unparsable) is
    /// not.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// How many idempotency keys the sandbox remembers now (answered or in
    /// flight); at most [`SandboxBuilder::max_idempotency_keys`] answered
    /// ones. Each answered key keeps a 32-byte digest of the key's scope, a
    /// 32-byte digest of the canonical request body, the answer (a few
    /// hundred bytes) and its time: never the body.
    pub fn idempotency_keys(&self) -> usize {
        self.state.key_count()
    }

    /// The connection cap in force: [`SandboxBuilder::max_connections`],
    /// lowered to stay below the process's open-file limit.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Forgets the recorded requests (stored orders are kept).
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Queues a fault for the next matching requests. Faults apply in the
    /// order they were queued.
    pub fn inject(&self, fault: Fault) {
        self.state.inject(fault);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Sets or removes the per-second rate limit.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        self.state.set_rate_limit(per_second);
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> &SandboxClock {
        &self.state.clock
    }
}
