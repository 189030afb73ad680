//! The two sides the end-to-end bench and the allocation count compare: the
//! facade's client, and a hand-written raw `reqwest` call that sends the same
//! bytes with the same headers, with a per-request timeout (as the facade has
//! per attempt), over a client with the same settings, and decodes the same
//! fields. [`same_bytes`] checks, before anything is measured, that both send
//! the same bytes.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};

use klarna_customer_token::{Client, CustomerToken, OrderLine, OrderRequest, RetryPolicy};

use crate::server;

/// The customer token both sides use.
pub const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

/// The raw side's decoded types: the same fields as the facade decodes.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
pub struct RawOrder {
    order_id: String,
    fraud_status: String,
    redirect_url: Option<String>,
    authorized_payment_method: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
pub struct RawToken {
    payment_method_type: String,
    status: String,
}

/// The idempotency key's header, named once.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("klarna-idempotency-key");

/// The facade's default per-attempt timeout, which the raw side sets on
/// every request.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The raw side: a hand-written reqwest call per operation.
pub struct Raw {
    http: reqwest::Client,
    /// The server's base URL.
    pub base: String,
    /// Made once, as the facade makes its own: a clone shares the bytes.
    authorization: HeaderValue,
    user_agent: HeaderValue,
}

impl Raw {
    /// Sends `body` as a create-order request and decodes the answer.
    pub async fn create_order(&self, body: bytes::Bytes) -> RawOrder {
        let url = format!("{}/customer-token/v1/tokens/{TOKEN}/order", self.base);
        let request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(IDEMPOTENCY_KEY, uuid_like())
            .body(body);
        self.exchange(request).await
    }

    /// Reads the token and decodes the answer.
    pub async fn read_token(&self) -> RawToken {
        let url = format!("{}/customer-token/v1/tokens/{TOKEN}", self.base);
        self.exchange(self.http.get(url)).await
    }

    /// Adds the headers every request carries and the timeout, sends,
    /// reads the body and decodes it.
    async fn exchange<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> T {
        let response = request
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .timeout(TIMEOUT)
            .send()
            .await
            .expect("sent");
        let bytes = response.bytes().await.expect("read");
        serde_json::from_slice(&bytes).expect("decoded")
    }
}

/// A fresh key per call, as the facade makes one (UUID v4 text).
fn uuid_like() -> String {
    let a = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 96) as u32,
        (a >> 80) as u16,
        (a >> 68) as u16 & 0xfff,
        ((a >> 52) as u16 & 0x3fff) | 0x8000,
        a as u64 & 0xffff_ffff_ffff
    )
}

/// The order both sides send: one line.
pub fn order() -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()
                .expect("line"),
        )
        .merchant_reference1("ON4711")
        .build()
        .expect("order")
}

/// The facade's client, as a merchant would build it.
pub fn facade(base: &str) -> Client {
    Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(base)
        .retry_policy(RetryPolicy::default())
        .build()
        .expect("client")
}

/// The raw side's HTTP client, with the settings the facade gives its own:
/// no redirects, no retries of reqwest's, the same connect timeout and idle
/// timeout, no proxy. Both use reqwest's default pool (no cap on idle
/// connections) and HTTP/1.1.
pub fn raw_http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .pool_idle_timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .expect("reqwest")
}

/// One request as received, its header fields sorted and the idempotency
/// key's value (fresh per call on both sides) blanked.
fn normalized(request: &[u8]) -> (Vec<String>, Vec<u8>) {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = std::str::from_utf8(&request[..end]).expect("ascii head");
    let mut lines: Vec<String> = head
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if name.eq_ignore_ascii_case("klarna-idempotency-key") => {
                "klarna-idempotency-key: <fresh>".to_owned()
            }
            Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
            None => line.to_owned(),
        })
        .collect();
    lines[1..].sort();
    (lines, request[end + 4..].to_vec())
}

/// The value of a header field in a received request, as a header value.
fn header_value(request: &[u8], name: &str) -> HeaderValue {
    HeaderValue::from_str(&field(request, name)).expect("a header value")
}

/// The value of a header field in a received request.
fn field(request: &[u8], name: &str) -> String {
    normalized(request)
        .0
        .iter()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_owned))
        .unwrap_or_else(|| panic!("the facade sends {name}"))
}

/// Sends one create_order and one read_token from each side to a capturing
/// server; panics unless both sides send the same bytes (the idempotency
/// key's value aside). Returns the raw side, with the Authorization and
/// User-Agent values the facade sends, pointed at `base`.
pub fn same_bytes(runtime: &tokio::runtime::Runtime, order: &OrderRequest, base: &str) -> Raw {
    let (capture, received) = runtime.block_on(server::start_capturing());
    let token = CustomerToken::new(TOKEN).expect("token");
    let client = facade(&capture);
    runtime.block_on(async {
        client.create_order(&token, order).await.expect("created");
        client.read_token(&token).await.expect("read");
    });
    let next = || {
        received
            .recv_timeout(Duration::from_secs(5))
            .expect("a captured request")
    };
    let (facade_order, facade_token) = (next(), next());
    let raw = |base: &str| Raw {
        http: raw_http(),
        base: base.to_owned(),
        authorization: header_value(&facade_order, "authorization"),
        user_agent: header_value(&facade_order, "user-agent"),
    };
    let checking = raw(&capture);
    runtime.block_on(async {
        checking
            .create_order(bytes::Bytes::from(order.to_json()))
            .await;
        checking.read_token().await;
    });
    let (raw_order, raw_token) = (next(), next());
    assert_eq!(
        normalized(&facade_order),
        normalized(&raw_order),
        "create_order: the raw side sends other bytes than the facade"
    );
    assert_eq!(
        normalized(&facade_token),
        normalized(&raw_token),
        "read_token: the raw side sends other bytes than the facade"
    );
    raw(base)
}

/// What the end-to-end measurements share: the bench server, the raw side
/// (checked by [`same_bytes`] to send the facade's bytes) and the facade's
/// client pointed at it, the token, the order and its serialized body.
pub struct Sides {
    /// The facade's client.
    pub client: Client,
    /// The raw side.
    pub raw: Arc<Raw>,
    /// The token both sides use.
    pub token: Arc<CustomerToken>,
    /// The order the facade sends.
    pub order: Arc<OrderRequest>,
    /// The bytes the raw side sends: the order's JSON.
    pub body: bytes::Bytes,
}

/// A runtime as the bench uses (one worker thread, so that both sides and
/// the server share it alike) and the [`Sides`], the server started on it.
pub fn setup() -> (tokio::runtime::Runtime, Sides) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let order = order();
    let base = runtime.block_on(server::start());
    let raw = Arc::new(same_bytes(&runtime, &order, &base));
    let sides = Sides {
        client: facade(&base),
        raw,
        token: Arc::new(CustomerToken::new(TOKEN).expect("token")),
        body: bytes::Bytes::from(order.to_json()),
        order: Arc::new(order),
    };
    (runtime, sides)
}
