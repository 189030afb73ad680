//! Helpers shared by the tests that start a sandbox: time bounds, clients,
//! orders, credentials, and raw HTTP and TCP exchanges for what the
//! client cannot send; `receiver` is a merchant's notification receiver.

pub(crate) mod receiver;

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use klarna_customer_token::{Client, CustomerToken, Error, OrderLine, OrderRequest, RetryPolicy};
use klarna_customer_token_sandbox::{Sandbox, credentials};
use serde_json::{Value, json};

/// How long one test may take.
pub const TEST_BOUND: Duration = Duration::from_secs(60);

/// Runs a test body, failing it past [`TEST_BOUND`] of real time.
pub async fn within<F: Future>(body: F) -> F::Output {
    within_for(TEST_BOUND, body).await
}

/// Runs a test body, failing it past `bound` of real time.
pub async fn within_for<F: Future>(bound: Duration, body: F) -> F::Output {
    match tokio::time::timeout(bound, body).await {
        Ok(output) => output,
        Err(_) => panic!("the test did not finish within {bound:?}"),
    }
}

/// The sandbox's Basic credentials, encoded.
pub fn basic_value() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::USERNAME,
        credentials::PASSWORD
    ))
}

/// The sandbox's credentials as an `Authorization` header value.
pub fn basic_header() -> String {
    format!("Basic {}", basic_value())
}

/// POSTs a create-order request with this `Authorization` value and key,
/// as a client in another language would.
pub async fn post_order(
    base_url: &str,
    token: &str,
    authorization: &str,
    key: &str,
) -> reqwest::Response {
    http()
        .post(format!("{base_url}/customer-token/v1/tokens/{token}/order"))
        .header("authorization", authorization)
        .header("content-type", "application/json")
        .header("klarna-idempotency-key", key)
        .body(order().to_json())
        .send()
        .await
        .expect("an answer")
}

pub const PREFIX: &str = "/customer-token/v1/tokens/";

pub async fn start() -> Sandbox {
    Sandbox::start().await.expect("the sandbox starts")
}

#[track_caller]
pub fn token(id: &str) -> CustomerToken {
    CustomerToken::new(id).expect("a valid token")
}

/// A client for this sandbox that makes exactly one attempt per call.
pub fn once(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

pub fn api_key_client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .api_key(credentials::API_KEY)
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

/// A valid order; `reference` makes bodies differ.
pub fn order_with(reference: &str) -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .merchant_reference1(reference)
        .line(
            OrderLine::builder("Gold plan")
                .quantity(1)
                .unit_price(1190)
                .tax_rate(1900)
                .build()
                .expect("line"),
        )
        .build()
        .expect("order")
}

pub fn order() -> OrderRequest {
    order_with("ON-1")
}

/// The order's JSON with `order_lines[0].total_amount` off by one: valid
/// JSON, well typed, but against Klarna's arithmetic.
pub fn invalid_order_json() -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&order().to_json()).expect("json");
    value["order_lines"][0]["total_amount"] = json!(1189);
    serde_json::to_vec(&value).expect("json")
}

pub fn url(sandbox: &Sandbox, token: &str, tail: &str) -> String {
    format!("{}{PREFIX}{token}{tail}", sandbox.base_url())
}

/// A plain HTTP client for what the klarna client cannot send. On rustls:
/// where `native-tls` is built too (`--all-features`), reqwest's default
/// would set up OpenSSL for each client, which took most of these tests'
/// CPU time; they only speak HTTP to 127.0.0.1.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_rustls()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// A raw answer.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    #[track_caller]
    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            ),
        }
    }
    #[track_caller]
    pub fn error_code(&self) -> String {
        self.json()["error_code"]
            .as_str()
            .expect("an error_code")
            .to_owned()
    }
    #[track_caller]
    pub fn messages(&self) -> Vec<String> {
        self.json()["error_messages"]
            .as_array()
            .expect("error_messages")
            .iter()
            .map(|m| m.as_str().expect("a string message").to_owned())
            .collect()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Raw {
    let response = request.send().await.expect("the sandbox answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("the whole body");
    Raw {
        status,
        headers,
        body,
    }
}

/// POST create-order with Basic auth, a JSON content type and this body.
pub async fn raw_create(sandbox: &Sandbox, token: &str, key: Option<&str>, body: Vec<u8>) -> Raw {
    let mut request = http()
        .post(url(sandbox, token, "/order"))
        .header("authorization", basic_header())
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("klarna-idempotency-key", key);
    }
    send(request).await
}

pub async fn raw_read(sandbox: &Sandbox, token: &str) -> Raw {
    send(
        http()
            .get(url(sandbox, token, ""))
            .header("authorization", basic_header()),
    )
    .await
}

/// Writes `chunks` to a fresh TCP connection (ignoring write errors, as the
/// sandbox may close early), then reads until the sandbox closes it (or 5 s
/// pass) and returns what came back. With `eof`, the connection is
/// half-closed after writing, so that the sandbox sees the end of input.
pub async fn tcp_exchange(addr: SocketAddr, chunks: Vec<Vec<u8>>, eof: bool) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let mut stream =
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        for chunk in chunks {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
        if eof {
            let _ = stream.shutdown(std::net::Shutdown::Write);
        }
        let mut reply = Vec::new();
        // On a timeout or a reset, what was read so far is kept.
        let _ = stream.read_to_end(&mut reply);
        reply
    })
    .await
    .expect("the raw TCP task")
}

/// Sends raw bytes and reads the answer; the connection stays open for
/// writing, so the sandbox is the one to close it.
pub async fn raw_tcp(addr: SocketAddr, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    tcp_exchange(addr, chunks, false).await
}

/// Sends raw bytes, then the end of input: for requests cut short.
pub async fn raw_tcp_eof(addr: SocketAddr, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    tcp_exchange(addr, chunks, true).await
}

#[track_caller]
pub fn api_error(
    result: Result<impl std::fmt::Debug, Error>,
) -> Box<klarna_customer_token::ApiError> {
    match result {
        Err(Error::Api(api)) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_transport(e: &Error) {
    assert!(
        matches!(e, Error::Connection(_) | Error::Timeout(_)),
        "expected a transport error, got {e:?}"
    );
}

/// Serializes a JSON value with every object's keys in reverse order and
/// generous whitespace: the same JSON value, different bytes.
pub fn reordered(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                out.push_str("{\n  ");
                for (i, (k, v)) in map.iter().rev().enumerate() {
                    if i > 0 {
                        out.push_str(" ,\n  ");
                    }
                    out.push_str(&serde_json::to_string(k).expect("key"));
                    out.push_str(" :  ");
                    write(v, out);
                }
                out.push_str("\n}");
            }
            Value::Array(items) => {
                out.push_str("[ ");
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" , ");
                    }
                    write(v, out);
                }
                out.push_str(" ]");
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::from("\n ");
    write(value, &mut out);
    out.push_str("\n\n");
    out
}
