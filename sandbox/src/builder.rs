//! Configuring and starting a sandbox.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::token::seeded_tokens;
use super::{
    Inner, Sandbox, SandboxClock, SandboxToken, auth, credentials, defaults, notify, server, state,
};
use klarna_customer_token::clock::VirtualClock;
use klarna_customer_token::{Client, ClientBuilder, CustomerToken};

/// Configures a [`Sandbox`] before it starts.
///
/// Everything the sandbox keeps or holds open is capped; the defaults are
/// in [`defaults`]:
///
/// ```
/// use std::time::Duration;
/// use klarna_customer_token_sandbox::Sandbox;
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
    notify_allow: Vec<String>,
    max_notifications: usize,
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
            notify_allow: Vec::new(),
            max_notifications: defaults::MAX_NOTIFICATIONS,
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
    /// use klarna_customer_token_sandbox::Sandbox;
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
    /// Also delivers fraud-review notifications to this host (a name, or
    /// an IPv4 or IPv6 address); call once per host. By default the sandbox
    /// delivers only to loopback (`127.0.0.0/8`, `::1`, `localhost`, which
    /// it resolves to loopback itself), so that it cannot be used to reach
    /// other hosts: create-order refuses any other
    /// `merchant_urls.notification` with a 400 naming that field.
    pub fn notify_allow(mut self, host: impl Into<String>) -> Self {
        self.notify_allow.push(host.into());
        self
    }
    /// Keeps at most this many notification deliveries (default 10,000;
    /// see [`defaults::MAX_NOTIFICATIONS`]).
    pub fn max_notifications(mut self, deliveries: usize) -> Self {
        self.max_notifications = deliveries;
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
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let clock = SandboxClock::new(self.clock);
        let state = Arc::new(state::Shared::new(
            state::Config {
                rate_limit: self.rate_limit,
                rate_window: self.rate_window,
                retention: self.retention,
                body_read_timeout: self.body_read_timeout,
                admin: self.admin.into_check(),
                loopback: addr.ip().is_loopback(),
                notify_allow: self.notify_allow,
                max_notifications: self.max_notifications,
            },
            clock,
            seed,
        ));
        let client = client_builder(addr, state.clock.virtual_clock())
            .build()
            .map_err(std::io::Error::other)?;
        let limits = server::Limits {
            max_connections: server::connection_cap(self.max_connections),
            header_read_timeout: self.header_read_timeout,
        };
        let max_connections = limits.max_connections;
        let weak = Arc::downgrade(&state);
        let notifier = tokio::spawn(notify::worker::run(Arc::clone(&state.notify), move || {
            weak.upgrade().map(|shared| shared.clock.now())
        }));
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), limits));
        Ok(Sandbox {
            inner: Arc::new(Inner {
                state,
                addr,
                client,
                task,
                notifier,
                max_connections,
            }),
        })
    }
}

/// The address a client uses to reach a sandbox bound to `addr`.
pub(super) fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, addr.port()).into()
        }
        _ => addr,
    }
}

pub(super) fn client_builder(addr: SocketAddr, clock: Option<&VirtualClock>) -> ClientBuilder {
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
    fn into_check(self) -> Option<auth::Access> {
        match self {
            Self::Off => None,
            Self::Open => Some(auth::Access::open()),
            Self::Token(token) => Some(auth::Access::bearer(&token)),
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
