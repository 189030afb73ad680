#![cfg(feature = "sandbox")]
//! The in-memory sandbox (`klarna_customer_token::sandbox`), end to end:
//! the crate's own client where it can produce the input, raw HTTP
//! (reqwest) or raw TCP where it cannot.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use klarna_customer_token::sandbox::{
    Fault, IDEMPOTENCY_KEY_MISMATCH, MAX_BODY_BYTES, Sandbox, SandboxToken, credentials, tokens,
};
use klarna_customer_token::{
    Address, Attachment, Client, CustomerToken, Error, ErrorCode, IdempotencyKey, MerchantUrls,
    Operation, OrderLine, OrderOutcome, OrderRequest, PaymentMethodType, ProductIdentifiers,
    RetryPolicy, Subscription, SubscriptionInterval, TokenStatus,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every test body runs under this bound, so that nothing can hang.
const TEST_BOUND: Duration = Duration::from_secs(60);
const PREFIX: &str = "/customer-token/v1/tokens/";

async fn within<F: Future>(body: F) -> F::Output {
    match tokio::time::timeout(TEST_BOUND, body).await {
        Ok(output) => output,
        Err(_) => panic!("the test did not finish within {TEST_BOUND:?}"),
    }
}

async fn start() -> Sandbox {
    Sandbox::start().await.expect("the sandbox starts")
}

#[track_caller]
fn token(id: &str) -> CustomerToken {
    CustomerToken::new(id).expect("a valid token")
}

/// A client for this sandbox that makes exactly one attempt per call.
fn once(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

fn api_key_client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .api_key(credentials::API_KEY)
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

/// A valid order; `reference` makes bodies differ.
fn order_with(reference: &str) -> OrderRequest {
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

fn order() -> OrderRequest {
    order_with("ON-1")
}

/// The order's JSON with `order_lines[0].total_amount` off by one: valid
/// JSON, well typed, but against Klarna's arithmetic.
fn invalid_order_json() -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&order().to_json()).expect("json");
    value["order_lines"][0]["total_amount"] = json!(1189);
    serde_json::to_vec(&value).expect("json")
}

fn basic_value() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::USERNAME,
        credentials::PASSWORD
    ))
}

fn basic_header() -> String {
    format!("Basic {}", basic_value())
}

fn url(sandbox: &Sandbox, token: &str, tail: &str) -> String {
    format!("{}{PREFIX}{token}{tail}", sandbox.base_url())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// A raw answer.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    #[track_caller]
    fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            ),
        }
    }
    #[track_caller]
    fn error_code(&self) -> String {
        self.json()["error_code"]
            .as_str()
            .expect("an error_code")
            .to_owned()
    }
    #[track_caller]
    fn messages(&self) -> Vec<String> {
        self.json()["error_messages"]
            .as_array()
            .expect("error_messages")
            .iter()
            .map(|m| m.as_str().expect("a string message").to_owned())
            .collect()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Raw {
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
async fn raw_create(sandbox: &Sandbox, token: &str, key: Option<&str>, body: Vec<u8>) -> Raw {
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

async fn raw_read(sandbox: &Sandbox, token: &str) -> Raw {
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
async fn tcp_exchange(addr: SocketAddr, chunks: Vec<Vec<u8>>, eof: bool) -> Vec<u8> {
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
async fn raw_tcp(addr: SocketAddr, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    tcp_exchange(addr, chunks, false).await
}

/// Sends raw bytes, then the end of input: for requests cut short.
async fn raw_tcp_eof(addr: SocketAddr, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    tcp_exchange(addr, chunks, true).await
}

#[track_caller]
fn api_error(result: Result<impl std::fmt::Debug, Error>) -> Box<klarna_customer_token::ApiError> {
    match result {
        Err(Error::Api(api)) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[track_caller]
fn assert_transport(e: &Error) {
    assert!(
        matches!(e, Error::Connection(_) | Error::Timeout(_)),
        "expected a transport error, got {e:?}"
    );
}

/// Serializes a JSON value with every object's keys in reverse order and
/// generous whitespace: the same JSON value, different bytes.
fn reordered(value: &Value) -> String {
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

// ---------------------------------------------------------------------------
// 1. Start and seed
// ---------------------------------------------------------------------------

async fn check_seeded_tokens(sandbox: &Sandbox) {
    let client = sandbox.client();

    let invoice = client
        .read_token(&token(tokens::ACTIVE_INVOICE))
        .await
        .expect("read");
    assert_eq!(invoice.status(), &TokenStatus::Active);
    assert_eq!(invoice.payment_method_type(), &PaymentMethodType::Invoice);
    assert!(invoice.card().is_none());
    assert!(invoice.direct_debit().is_none());

    let card = client
        .read_token(&token(tokens::ACTIVE_CARD))
        .await
        .expect("read");
    assert_eq!(card.status(), &TokenStatus::Active);
    assert_eq!(card.payment_method_type(), &PaymentMethodType::Card);
    let details = card.card().expect("card details");
    assert_eq!(details.brand(), "VISA");
    assert_eq!(details.expiry_date(), "12/2030");
    assert_eq!(details.masked_number(), "************1234");
    assert!(card.direct_debit().is_none());

    let debit = client
        .read_token(&token(tokens::ACTIVE_DIRECT_DEBIT))
        .await
        .expect("read");
    assert_eq!(debit.status(), &TokenStatus::Active);
    assert_eq!(debit.payment_method_type(), &PaymentMethodType::DirectDebit);
    assert_eq!(
        debit.direct_debit().expect("direct debit").masked_number(),
        "**********1240"
    );
    assert!(debit.card().is_none());

    let suspended = client
        .read_token(&token(tokens::SUSPENDED))
        .await
        .expect("read");
    assert_eq!(suspended.status(), &TokenStatus::Suspended);
    assert_eq!(suspended.payment_method_type(), &PaymentMethodType::Invoice);

    let cancelled = client
        .read_token(&token(tokens::CANCELLED))
        .await
        .expect("read");
    assert_eq!(cancelled.status(), &TokenStatus::Cancelled);
    assert_eq!(cancelled.payment_method_type(), &PaymentMethodType::Card);
    let details = cancelled.card().expect("card details");
    assert_eq!(details.brand(), "MASTERCARD");
    assert_eq!(details.expiry_date(), "01/2029");
    assert_eq!(details.masked_number(), "************4444");

    for id in [
        tokens::ACTIVE_INVOICE,
        tokens::ACTIVE_CARD,
        tokens::ACTIVE_DIRECT_DEBIT,
    ] {
        assert_eq!(sandbox.token_status(&token(id)), Some(TokenStatus::Active));
    }
    assert_eq!(
        sandbox.token_status(&token(tokens::SUSPENDED)),
        Some(TokenStatus::Suspended)
    );
    assert_eq!(
        sandbox.token_status(&token(tokens::CANCELLED)),
        Some(TokenStatus::Cancelled)
    );
    assert_eq!(sandbox.token_status(&token("no-such-token-9999")), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_on_loopback_with_the_seeded_tokens_multi_thread() {
    within(async {
        let sandbox = start().await;
        assert_eq!(sandbox.addr().ip(), std::net::Ipv4Addr::LOCALHOST);
        assert_ne!(sandbox.addr().port(), 0);
        assert_eq!(
            sandbox.base_url(),
            format!("http://127.0.0.1:{}", sandbox.addr().port())
        );
        assert_eq!(sandbox.client().base_url(), sandbox.base_url());
        check_seeded_tokens(&sandbox).await;
        assert!(sandbox.orders().is_empty());
        assert!(format!("{sandbox:?}").contains(&sandbox.addr().to_string()));
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    within(async {
        let sandbox = start().await;
        check_seeded_tokens(&sandbox).await;
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        let created = client.create_order(&t, &order()).await.expect("create");
        assert_eq!(sandbox.orders().len(), 1);
        assert_eq!(sandbox.orders()[0].order_id, created.order_id());
        client.cancel_token(&t).await.expect("cancel");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
    })
    .await;
}

#[tokio::test]
async fn add_token_adds_and_replaces_tokens() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();

        let added = sandbox
            .add_token(
                SandboxToken::new("my-card-token-5678", PaymentMethodType::Card).card(
                    "AMEX",
                    "03/2032",
                    "***********0005",
                ),
            )
            .expect("a valid id");
        assert_eq!(added.as_str(), "my-card-token-5678");
        let details = client.read_token(&added).await.expect("read");
        assert_eq!(details.status(), &TokenStatus::Active);
        assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
        let card = details.card().expect("card");
        assert_eq!(
            (card.brand(), card.expiry_date(), card.masked_number()),
            ("AMEX", "03/2032", "***********0005")
        );
        let created = client.create_order(&added, &order()).await.expect("create");
        assert_eq!(
            created
                .authorized_payment_method()
                .expect("authorized payment method")
                .method_type()
                .as_str(),
            "card"
        );

        let debit = sandbox
            .add_token(
                SandboxToken::new("my-debit-token-4321", PaymentMethodType::DirectDebit)
                    .status(TokenStatus::Suspended)
                    .direct_debit("****9876"),
            )
            .expect("a valid id");
        let details = client.read_token(&debit).await.expect("read");
        assert_eq!(details.status(), &TokenStatus::Suspended);
        assert_eq!(
            details
                .direct_debit()
                .expect("direct debit")
                .masked_number(),
            "****9876"
        );

        // The same id replaces the seeded token.
        sandbox
            .add_token(
                SandboxToken::new(tokens::ACTIVE_INVOICE, PaymentMethodType::Invoice)
                    .status(TokenStatus::Suspended),
            )
            .expect("a valid id");
        let details = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect("read");
        assert_eq!(details.status(), &TokenStatus::Suspended);

        // An id the client could not send is refused, and not added.
        let refused = sandbox.add_token(SandboxToken::new("../admin", PaymentMethodType::Card));
        assert!(matches!(&refused, Err(Error::Validation(_))), "{refused:?}");
    })
    .await;
}

#[tokio::test]
async fn add_token_with_characters_the_client_percent_encodes() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        for id in [
            "tök€n-ümlaut-0001",
            "tok:en+with=sub;delims@1234",
            "a.b~c_d-e!f$g&h'(i)*",
        ] {
            let t = sandbox
                .add_token(SandboxToken::new(id, PaymentMethodType::Invoice))
                .expect("a valid id");
            let details = client.read_token(&t).await.unwrap_or_else(|e| {
                panic!("read of a token with special characters failed: {e:?}")
            });
            assert_eq!(details.status(), &TokenStatus::Active);
            client
                .create_order(&t, &order())
                .await
                .expect("create-order");
            client.cancel_token(&t).await.expect("cancel");
            assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        }
    })
    .await;
}

#[tokio::test]
async fn an_empty_sandbox_has_no_tokens() {
    within(async {
        let sandbox = Sandbox::builder().empty().start().await.expect("start");
        let e = api_error(
            sandbox
                .client()
                .read_token(&token(tokens::ACTIVE_INVOICE))
                .await,
        );
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn two_sandboxes_are_independent() {
    within(async {
        let a = start().await;
        let b = start().await;
        assert_ne!(a.addr(), b.addr());
        let t = token(tokens::ACTIVE_INVOICE);
        a.client().cancel_token(&t).await.expect("cancel");
        assert_eq!(a.token_status(&t), Some(TokenStatus::Cancelled));
        assert_eq!(b.token_status(&t), Some(TokenStatus::Active));
        b.client().create_order(&t, &order()).await.expect("create");
        assert!(a.orders().is_empty());
        assert_eq!(b.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn created_orders_report_the_token_s_payment_method() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();
        for (id, kind) in [
            (tokens::ACTIVE_INVOICE, "invoice"),
            (tokens::ACTIVE_CARD, "card"),
            (tokens::ACTIVE_DIRECT_DEBIT, "direct_debit"),
        ] {
            let created = client
                .create_order(&token(id), &order())
                .await
                .expect("create");
            assert_eq!(created.fraud_status().as_str(), "ACCEPTED");
            assert_eq!(
                created
                    .authorized_payment_method()
                    .expect("authorized payment method")
                    .method_type()
                    .as_str(),
                kind
            );
            assert!(
                created
                    .redirect_url()
                    .is_some_and(|u| u.contains(created.order_id()))
            );
            assert!(created.correlation_id().is_some());
            assert_eq!(created.attempts(), 1);
        }
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 3);
        let mut ids: Vec<_> = orders.iter().map(|o| o.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "order ids are unique");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 2. Authentication
// ---------------------------------------------------------------------------

#[tokio::test]
async fn no_authorization_gets_an_html_401() {
    within(async {
        let sandbox = start().await;
        let raw = send(http().get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))).await;
        assert_eq!(raw.status, 401);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{:?}",
            raw.headers
        );
        assert!(String::from_utf8_lossy(&raw.body).contains("<html"));
        assert!(raw.header("klarna-correlation-id").is_some());

        // Nothing is done without credentials.
        let raw = send(
            http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("content-type", "application/json")
                .body(order().to_json()),
        )
        .await;
        assert_eq!(raw.status, 401);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.contains("html"))
        );
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::ACTIVE_INVOICE, "/status"))
                .header("content-type", "application/json")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 401);
        assert!(sandbox.orders().is_empty());
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_INVOICE)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}

#[tokio::test]
async fn the_client_surfaces_an_html_401_as_an_api_error() {
    within(async {
        // The client always sends credentials, so the gateway's HTML 401 is
        // reproduced with a raw fault carrying the very body the sandbox
        // sends without credentials.
        let sandbox = start().await;
        let html = send(http().get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))).await;
        sandbox.inject(Fault::raw(
            401,
            "text/html",
            String::from_utf8(html.body.to_vec()).expect("utf-8"),
        ));
        let e = api_error(
            once(&sandbox)
                .read_token(&token(tokens::ACTIVE_INVOICE))
                .await,
        );
        assert_eq!(e.status(), 401);
        assert!(String::from_utf8_lossy(e.raw_body()).contains("<html"));
        assert_eq!(e.content_type(), Some("text/html"));
        assert!(e.error_code().is_none());
    })
    .await;
}

#[tokio::test]
async fn wrong_credentials_get_401() {
    within(async {
        let sandbox = start().await;
        let t = token(tokens::ACTIVE_INVOICE);

        let wrong_password = Client::builder()
            .basic_auth(credentials::USERNAME, "not-the-password")
            .base_url(sandbox.base_url())
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let e = api_error(wrong_password.read_token(&t).await);
        assert_eq!(e.status(), 401);
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("UNAUTHORIZED"));
        assert!(e.correlation_id().is_some());

        let result = wrong_password.create_order(&t, &order()).await;
        let err = result.expect_err("refused");
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        let e = api_error(wrong_password.cancel_token(&t).await);
        assert_eq!(e.status(), 401);

        let wrong_key = Client::builder()
            .api_key("klarna_test_api_not_the_key")
            .base_url(sandbox.base_url())
            .build()
            .expect("client");
        assert_eq!(
            wrong_key
                .read_token(&t)
                .await
                .expect_err("refused")
                .status(),
            Some(401)
        );

        // Neither the username alone nor another scheme is accepted.
        for authorization in [
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:", credentials::USERNAME))
            ),
            format!("Bearer {}", credentials::API_KEY),
            format!("Bearer {}", basic_value()),
            "Basic".to_owned(),
        ] {
            let raw = send(
                http()
                    .get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                    .header("authorization", authorization.as_str()),
            )
            .await;
            assert_eq!(raw.status, 401, "{authorization}");
            assert_eq!(raw.error_code(), "UNAUTHORIZED");
            assert!(raw.json()["correlation_id"].is_string());
        }

        assert!(sandbox.orders().is_empty());
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Active));
    })
    .await;
}

#[tokio::test]
async fn the_api_key_sent_verbatim_is_accepted() {
    within(async {
        let sandbox = start().await;
        let client = api_key_client(&sandbox);
        let t = token(tokens::ACTIVE_CARD);
        let details = client.read_token(&t).await.expect("read with the API key");
        assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
        client.create_order(&t, &order()).await.expect("create");
        assert_eq!(sandbox.orders().len(), 1);

        let requests = sandbox.requests();
        assert!(!requests.is_empty());
        for request in &requests {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Basic {}", credentials::API_KEY).as_str())
            );
        }

        // Raw, too.
        let raw = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_CARD, ""))
                .header("authorization", format!("Basic {}", credentials::API_KEY)),
        )
        .await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.json()["status"], "ACTIVE");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 3. Token state
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_order_on_cancelled_and_suspended_tokens_is_forbidden() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);

        let err = client
            .create_order(&token(tokens::CANCELLED), &order())
            .await
            .expect_err("cancelled");
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_CANCELLED")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        assert!(err.correlation_id().is_some());

        let err = client
            .create_order(&token(tokens::SUSPENDED), &order())
            .await
            .expect_err("suspended");
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_SUSPENDED")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));

        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn unknown_tokens_are_not_found_for_every_operation() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let unknown = token("no-such-token-0000");

        // Each operation answers with the code Klarna documents for it:
        // read and cancel NOT_FOUND, create-order TOKEN_NOT_FOUND.
        let e = api_error(client.read_token(&unknown).await);
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));
        assert_eq!(e.error_messages(), ["Invalid customer-token ID"]);

        let err = client
            .create_order(&unknown, &order())
            .await
            .expect_err("unknown");
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_NOT_FOUND")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));

        let e = api_error(client.cancel_token(&unknown).await);
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));

        // Cancelling an unknown token does not create it.
        assert_eq!(sandbox.token_status(&unknown), None);
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn cancel_is_202_makes_the_token_cancelled_and_can_be_repeated() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);

        client.cancel_token(&t).await.expect("cancel");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        assert_eq!(
            client.read_token(&t).await.expect("read").status(),
            &TokenStatus::Cancelled
        );
        // Again: still accepted.
        client.cancel_token(&t).await.expect("cancel again");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        // And the seeded cancelled token can be cancelled too.
        client
            .cancel_token(&token(tokens::CANCELLED))
            .await
            .expect("cancel a cancelled token");

        // A cancelled token cannot be charged.
        let err = client
            .create_order(&t, &order())
            .await
            .expect_err("cancelled");
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_CANCELLED")
        );

        // The status is 202, raw, with no body; a suspended token can be
        // cancelled as well.
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::SUSPENDED, "/status"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 202);
        assert!(raw.body.is_empty());
        assert!(raw.header("klarna-correlation-id").is_some());
        assert_eq!(
            sandbox.token_status(&token(tokens::SUSPENDED)),
            Some(TokenStatus::Cancelled)
        );
    })
    .await;
}

#[tokio::test]
async fn cancel_with_a_bad_body_changes_nothing() {
    within(async {
        let sandbox = start().await;
        for body in [
            r#"{"status":"ACTIVE"}"#,
            r#"{"status":"CANCELLED","extra":1}"#,
            r#"{}"#,
            r#"{"status":"#,
        ] {
            let raw = send(
                http()
                    .patch(url(&sandbox, tokens::ACTIVE_CARD, "/status"))
                    .header("authorization", basic_header())
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(raw.status, 400, "{body}");
            assert!(
                ["BAD_VALUE", "BAD_REQUEST"].contains(&raw.error_code().as_str()),
                "{body}"
            );
        }
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::ACTIVE_CARD, "/status"))
                .header("authorization", basic_header())
                .header("content-type", "text/plain")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 400);
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_CARD)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    within(async {
        let sandbox = start().await;
        let base = sandbox.base_url();
        let raw = send(
            http()
                .get(format!("{base}/customer-token/v1/nothing"))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 404);
        assert_eq!(raw.error_code(), "NOT_FOUND");

        let raw = send(
            http()
                .delete(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 405);
        assert_eq!(raw.error_code(), "METHOD_NOT_ALLOWED");

        let raw = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 405);
        assert!(sandbox.orders().is_empty());
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_INVOICE)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// 4. Validation shared with the client
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_invalid_order_gets_400_bad_value_naming_the_field() {
    within(async {
        let sandbox = start().await;
        let body = invalid_order_json();

        // The client refuses it before sending anything.
        let parsed = OrderRequest::from_json(&body).expect("well typed");
        let client_violations: Vec<String> = parsed
            .validate()
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        let err = sandbox
            .client()
            .create_order(&token(tokens::ACTIVE_INVOICE), &parsed)
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::Validation(_)), "{err:?}");
        assert!(sandbox.requests().is_empty(), "nothing was sent");

        // Sent raw, the sandbox refuses it with the same rules.
        let raw = raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, body).await;
        assert_eq!(raw.status, 400);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        );
        assert_eq!(raw.error_code(), "BAD_VALUE");
        let messages = raw.messages();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("order_lines[0].total_amount")),
            "{messages:?}"
        );
        assert_eq!(messages, client_violations);
        let body_id = raw.json()["correlation_id"]
            .as_str()
            .expect("correlation_id")
            .to_owned();
        assert!(!body_id.is_empty());
        assert_eq!(raw.header("klarna-correlation-id"), Some(body_id.as_str()));
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn ill_typed_orders_get_400_bad_value_with_the_path() {
    within(async {
        let sandbox = start().await;
        let mut wrong_type: Value = serde_json::from_slice(&order().to_json()).expect("json");
        wrong_type["order_lines"][0]["quantity"] = json!("one");
        let mut no_lines: Value = serde_json::from_slice(&order().to_json()).expect("json");
        no_lines["order_lines"] = json!([]);
        let mut bad_currency: Value = serde_json::from_slice(&order().to_json()).expect("json");
        bad_currency["purchase_currency"] = json!("EURO");

        for (value, path) in [
            (wrong_type, "order_lines[0].quantity"),
            (no_lines, "order_lines"),
            (bad_currency, "purchase_currency"),
        ] {
            let raw = raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                None,
                serde_json::to_vec(&value).expect("json"),
            )
            .await;
            assert_eq!(raw.status, 400, "{path}");
            assert_eq!(raw.error_code(), "BAD_VALUE", "{path}");
            let messages = raw.messages();
            assert!(
                messages.iter().any(|m| m.contains(path)),
                "{path}: {messages:?}"
            );
        }
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn token_state_is_checked_before_the_order() {
    within(async {
        // An invalid order on a cancelled or unknown token: the token
        // answer wins, as it does for Klarna.
        let sandbox = start().await;
        let raw = raw_create(&sandbox, tokens::CANCELLED, None, invalid_order_json()).await;
        assert_eq!(raw.status, 403);
        assert_eq!(raw.error_code(), "TOKEN_CANCELLED");
        let raw = raw_create(&sandbox, "no-such-token-0000", None, invalid_order_json()).await;
        assert_eq!(raw.status, 404);
        assert_eq!(raw.error_code(), "TOKEN_NOT_FOUND");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 5. Idempotency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_same_key_twice_creates_one_order() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let key = IdempotencyKey::derive("acme-billing", "subscription-42/2026-01");

        let first = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone())
            .await
            .expect("first");
        let second = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone())
            .await
            .expect("second");
        assert_eq!(first.order_id(), second.order_id());
        assert_eq!(first.idempotency_key(), &key);
        assert_eq!(second.idempotency_key(), &key);
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].order_id, first.order_id());
        assert_eq!(orders[0].idempotency_key.as_ref(), Some(&key));

        // A different key is a different order; no key at all, too.
        let third = client.create_order(&t, &order).await.expect("third");
        assert_ne!(third.order_id(), first.order_id());
        let raw_a = raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, order.to_json()).await;
        let raw_b = raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, order.to_json()).await;
        assert_eq!(raw_a.status, 200);
        assert_eq!(raw_b.status, 200);
        assert_ne!(raw_a.json()["order_id"], raw_b.json()["order_id"]);
        assert_eq!(sandbox.orders().len(), 4);
        assert_eq!(sandbox.orders()[3].idempotency_key, None);
    })
    .await;
}

#[tokio::test]
async fn a_stored_400_is_replayed_identically() {
    within(async {
        let sandbox = start().await;
        let first = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("key-400"),
            invalid_order_json(),
        )
        .await;
        assert_eq!(first.status, 400);
        assert_eq!(first.error_code(), "BAD_VALUE");
        let second = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("key-400"),
            invalid_order_json(),
        )
        .await;
        assert_eq!(second.status, 400);
        assert_eq!(
            second.body, first.body,
            "the body is replayed byte for byte"
        );
        assert_eq!(
            second.json()["correlation_id"],
            first.json()["correlation_id"]
        );
        assert_eq!(second.header("content-type"), first.header("content-type"));
        assert!(sandbox.orders().is_empty());

        // The key is spent on that body: a corrected order under the same
        // key is a mismatch, not a charge.
        let third = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("key-400"),
            order().to_json(),
        )
        .await;
        assert_eq!(third.status, 409);
        assert_eq!(third.error_code(), IDEMPOTENCY_KEY_MISMATCH);
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn stored_403_and_404_answers_are_replayed() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let key = IdempotencyKey::new("key-403-404").expect("key");

        // 403 on a suspended token...
        let suspended = token(tokens::SUSPENDED);
        let err = client
            .create_order(&suspended, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("suspended");
        assert_eq!(err.status(), Some(403));
        // ...stays the answer for that key after the token is reactivated.
        sandbox
            .add_token(SandboxToken::new(
                tokens::SUSPENDED,
                PaymentMethodType::Invoice,
            ))
            .expect("token");
        let err = client
            .create_order(&suspended, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("replayed 403");
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_SUSPENDED")
        );
        assert!(sandbox.orders().is_empty());
        // A fresh key charges the now active token.
        client
            .create_order(&suspended, &order())
            .await
            .expect("fresh key");
        assert_eq!(sandbox.orders().len(), 1);

        // 404 on an unknown token, replayed after the token appears.
        let later = token("appears-later-7777");
        let err = client
            .create_order(&later, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("unknown");
        assert_eq!(err.status(), Some(404));
        sandbox
            .add_token(SandboxToken::new(
                later.as_str(),
                PaymentMethodType::Invoice,
            ))
            .expect("token");
        let err = client
            .create_order(&later, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("replayed 404");
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_NOT_FOUND")
        );
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn keys_are_scoped_per_token() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let key = IdempotencyKey::new("shared-key-1").expect("key");
        let a = client
            .create_order(&token(tokens::ACTIVE_INVOICE), &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("a");
        let b = client
            .create_order(&token(tokens::ACTIVE_CARD), &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("b");
        assert_ne!(a.order_id(), b.order_id());
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].token.as_str(), tokens::ACTIVE_INVOICE);
        assert_eq!(orders[1].token.as_str(), tokens::ACTIVE_CARD);
    })
    .await;
}

#[tokio::test]
async fn keys_are_scoped_per_credentials() {
    within(async {
        let sandbox = start().await;
        let t = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::new("shared-key-2").expect("key");
        let basic = once(&sandbox)
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("basic");
        let api_key = api_key_client(&sandbox)
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("api key");
        assert_ne!(basic.order_id(), api_key.order_id());
        assert_eq!(sandbox.orders().len(), 2);
        // Each credential still replays its own.
        let again = api_key_client(&sandbox)
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("api key again");
        assert_eq!(again.order_id(), api_key.order_id());
        assert_eq!(sandbox.orders().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_409_mismatch() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::new("reused-by-mistake").expect("key");
        client
            .create_order(&t, &order_with("ON-1"))
            .with_idempotency_key(key.clone())
            .await
            .expect("first");
        let err = client
            .create_order(&t, &order_with("ON-2"))
            .with_idempotency_key(key.clone())
            .await
            .expect_err("mismatch");
        assert_eq!(err.status(), Some(409));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some(IDEMPOTENCY_KEY_MISMATCH)
        );
        assert!(!err.is_retryable());
        assert_eq!(err.idempotency_key(), Some(&key));
        assert_eq!(sandbox.orders().len(), 1);

        // Raw: body has a correlation id and the header too.
        let raw = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some(key.as_str()),
            order_with("ON-3").to_json(),
        )
        .await;
        assert_eq!(raw.status, 409);
        assert_eq!(raw.error_code(), IDEMPOTENCY_KEY_MISMATCH);
        assert!(raw.json()["correlation_id"].is_string());
        assert!(raw.header("klarna-correlation-id").is_some());
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_same_json_in_other_bytes_is_a_replay() {
    within(async {
        let sandbox = start().await;
        let compact = order().to_json();
        let value: Value = serde_json::from_slice(&compact).expect("json");
        let other_bytes = reordered(&value);
        assert_ne!(other_bytes.as_bytes(), compact.as_slice());
        assert_eq!(
            serde_json::from_str::<Value>(&other_bytes).expect("still JSON"),
            value
        );

        let first = raw_create(&sandbox, tokens::ACTIVE_INVOICE, Some("bytes-key"), compact).await;
        assert_eq!(first.status, 200);
        let second = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("bytes-key"),
            other_bytes.into_bytes(),
        )
        .await;
        assert_eq!(second.status, 200, "{:?}", second.body);
        assert_eq!(first.json()["order_id"], second.json()["order_id"]);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn keys_expire_after_24_hours_of_sandbox_time() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::new("daily-key").expect("key");
        let day = Duration::from_secs(24 * 3600);

        let first = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("first");
        let before = sandbox.clock().now();
        sandbox.clock().advance(day - Duration::from_secs(5));
        assert!(sandbox.clock().now() >= before + day - Duration::from_secs(5));
        let within_window = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("within the window");
        assert_eq!(within_window.order_id(), first.order_id());
        assert_eq!(sandbox.orders().len(), 1);

        sandbox.clock().advance(Duration::from_secs(6));
        let after = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("after the window");
        assert_ne!(after.order_id(), first.order_id());
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 2);
        assert!(orders[1].created_at >= orders[0].created_at + day);

        // The new answer is remembered in turn.
        let replay = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("replay of the second");
        assert_eq!(replay.order_id(), after.order_id());
        assert_eq!(sandbox.orders().len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_while_the_first_is_delayed_gets_the_same_order() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let key = IdempotencyKey::new("in-flight-key").expect("key");
        sandbox.inject(
            Fault::delay_before_processing(Duration::from_millis(500)).only(Operation::CreateOrder),
        );

        let a = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone());
        let b = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone());
        let (a, b) = tokio::join!(a.into_future(), async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            b.await
        });
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert_eq!(a.order_id(), b.order_id());
        assert_eq!(sandbox.orders().len(), 1);
        let creates = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count();
        assert_eq!(creates, 2, "both requests reached the sandbox");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_while_the_first_answer_is_delayed_gets_the_same_order() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let key = IdempotencyKey::new("in-flight-key-2").expect("key");
        sandbox.inject(
            Fault::delay_after_processing(Duration::from_secs(1)).only(Operation::CreateOrder),
        );
        let a = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone());
        let b = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone());
        let ((a, a_done), (b, b_done)) = tokio::join!(
            async {
                let a = a.await;
                (a, tokio::time::Instant::now())
            },
            async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                let b = b.await;
                (b, tokio::time::Instant::now())
            }
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert_eq!(a.order_id(), b.order_id());
        assert!(
            b_done < a_done,
            "the replay does not wait for the delayed first answer"
        );
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_repeats_create_one_order() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let key = IdempotencyKey::new("stampede").expect("key");
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let client = client.clone();
            let t = t.clone();
            let order = order.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .create_order(&t, &order)
                    .with_idempotency_key(key)
                    .await
                    .map(|created| created.order_id().to_owned())
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.expect("task").expect("created"));
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn faults_and_5xx_are_not_remembered_under_a_key() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::new("after-a-503").expect("key");

        sandbox.inject(Fault::status(
            503,
            r#"{"error_code":"SERVICE_UNAVAILABLE","error_messages":["try later"]}"#,
        ));
        let err = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("503");
        assert_eq!(err.status(), Some(503));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("SERVICE_UNAVAILABLE")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
        assert!(err.is_retryable());
        assert!(sandbox.orders().is_empty());

        let created = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("processed normally");
        assert_eq!(sandbox.orders().len(), 1);
        assert_eq!(sandbox.orders()[0].order_id, created.order_id());

        // A key first met by a dropped connection is free too.
        let key = IdempotencyKey::new("after-a-drop").expect("key");
        sandbox.inject(Fault::drop_before_processing().only(Operation::CreateOrder));
        let err = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("dropped");
        assert_transport(&err);
        assert_eq!(sandbox.orders().len(), 1);
        client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("processed normally");
        assert_eq!(sandbox.orders().len(), 2);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_400_bad_request() {
    within(async {
        let sandbox = start().await;
        let valid = order().to_json();
        let truncated = valid[..valid.len() / 2].to_vec();
        for body in [
            b"{not json".to_vec(),
            truncated,
            Vec::new(),
            b"\xff\xfe\x00garbage".to_vec(),
            [valid.as_slice(), b"}"].concat(),
        ] {
            let raw = raw_create(&sandbox, tokens::ACTIVE_INVOICE, Some("malformed"), body).await;
            assert_eq!(raw.status, 400);
            assert_eq!(raw.error_code(), "BAD_REQUEST");
            assert!(raw.json()["correlation_id"].is_string());
            assert!(raw.header("klarna-correlation-id").is_some());
        }
        assert!(sandbox.orders().is_empty());
        // The key was never spent on malformed bodies.
        let raw = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("malformed"),
            order().to_json(),
        )
        .await;
        assert_eq!(raw.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_content_type_that_is_not_json_is_400() {
    within(async {
        let sandbox = start().await;
        for content_type in [Some("text/plain"), Some("application/xml"), None] {
            let mut request = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .body(order().to_json());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let raw = send(request).await;
            assert_eq!(raw.status, 400, "{content_type:?}");
            assert_eq!(raw.error_code(), "BAD_REQUEST");
        }
        assert!(sandbox.orders().is_empty());

        // Parameters and case do not matter.
        let raw = send(
            http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "Application/JSON; charset=utf-8")
                .body(order().to_json()),
        )
        .await;
        assert_eq!(raw.status, 200);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

/// The valid order's JSON padded with trailing whitespace to `len` bytes.
fn padded_order(len: usize) -> Vec<u8> {
    let mut body = order().to_json();
    assert!(body.len() < len);
    body.resize(len, b' ');
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_exactly_the_limit_is_accepted() {
    within(async {
        let sandbox = start().await;
        let raw = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            None,
            padded_order(MAX_BODY_BYTES),
        )
        .await;
        assert_eq!(raw.status, 200, "{:?}", raw.body);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_413_before_the_body_is_sent() {
    within(async {
        let sandbox = start().await;
        // Only the head is sent: the sandbox answers from Content-Length.
        let reply = raw_tcp(
            sandbox.addr(),
            vec![
                format!(
                    "POST {PREFIX}{}/order HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    basic_header(),
                    MAX_BODY_BYTES + 1
                )
                .into_bytes(),
            ],
        )
        .await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
        assert!(reply.contains("correlation_id"), "{reply}");
        assert!(
            reply
                .to_ascii_lowercase()
                .contains("klarna-correlation-id:"),
            "{reply}"
        );
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

/// A client that sends a whole body one byte over the limit should read
/// the 413. The sandbox answers from `Content-Length` without reading the
/// body and closes the connection, so the client, still writing, often gets
/// a broken pipe or a reset instead of the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_body_one_byte_over_the_limit_gets_413() {
    within(async {
        let sandbox = start().await;
        for attempt in 0..10 {
            let response = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(padded_order(MAX_BODY_BYTES + 1))
                .send()
                .await;
            match response {
                Ok(response) => assert_eq!(response.status().as_u16(), 413),
                Err(e) => panic!("attempt {attempt}: no answer, only {e:?}"),
            }
        }
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413() {
    within(async {
        let sandbox = start().await;
        // No Content-Length: the limit is found while reading.
        let head = format!(
            "POST {PREFIX}{}/order HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            tokens::ACTIVE_INVOICE,
            basic_header()
        );
        let mut chunks = vec![head.into_bytes()];
        let json = order().to_json();
        let mut sent = json.len();
        chunks.push(
            [
                format!("{:x}\r\n", json.len()).into_bytes(),
                json,
                b"\r\n".to_vec(),
            ]
            .concat(),
        );
        while sent <= MAX_BODY_BYTES {
            let size = (MAX_BODY_BYTES + 1 - sent).min(1024 * 1024);
            chunks.push(
                [
                    format!("{size:x}\r\n").into_bytes(),
                    vec![b' '; size],
                    b"\r\n".to_vec(),
                ]
                .concat(),
            );
            sent += size;
        }
        let reply = raw_tcp(sandbox.addr(), chunks).await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
        assert!(sandbox.orders().is_empty());
        let request = sandbox.requests().pop().expect("recorded");
        assert_eq!(request.header("content-length"), None);
        assert_eq!(request.header("transfer-encoding"), Some("chunked"));
    })
    .await;
}

fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

fn url_of(len: usize) -> String {
    let head = "https://example.com/";
    format!("{head}{}", long('p', len - head.len()))
}

/// An order at every length limit: `count` lines, every string at its maximum.
fn order_at_the_limits(count: usize) -> Result<OrderRequest, klarna_customer_token::Error> {
    use klarna_customer_token::limits;
    let lines = (0..count).map(|i| {
        // Non-ASCII names: lengths are counted in characters, not bytes.
        let name = format!("{i:04}{}", long('ü', limits::LINE_NAME.max - 4));
        OrderLine::builder(name.clone())
            .quantity(2)
            .unit_price(1000 + i as i64)
            .total_discount_amount(10)
            .tax_rate(2500)
            .quantity_unit(long('u', limits::QUANTITY_UNIT.max))
            .reference(long('r', limits::LINE_REFERENCE.max))
            .merchant_data(long('m', limits::LINE_MERCHANT_DATA.max))
            .image_url(url_of(limits::URL.max))
            .product_url(url_of(limits::URL.max))
            .product_identifiers(
                ProductIdentifiers::new()
                    .with_brand(long('b', limits::BRAND.max))
                    .with_category_path(long('c', limits::CATEGORY_PATH.max))
                    .with_global_trade_item_number(long('9', limits::GTIN.max))
                    .with_manufacturer_part_number(long('n', limits::MPN.max))
                    .with_color(long('o', limits::COLOR.max))
                    .with_size(long('s', limits::SIZE.max)),
            )
            .subscription(Subscription::new(name, SubscriptionInterval::Month, 1))
            .build()
            .expect("a line at the limits")
    });
    let address = Address::new()
        .with_attention(long('a', limits::ADDRESS_FIELD.max))
        .with_city(long('c', limits::ADDRESS_FIELD.max))
        .with_country("SE")
        .with_email(format!("{}@example.com", long('e', 80)))
        .with_family_name(long('f', limits::ADDRESS_FIELD.max))
        .with_given_name(long('g', limits::ADDRESS_FIELD.max))
        .with_organization_name(long('o', limits::ADDRESS_FIELD.max))
        .with_phone(long('1', limits::PHONE.max))
        .with_postal_code(long('2', limits::POSTAL_CODE.max))
        .with_region(long('r', limits::ADDRESS_FIELD.max))
        .with_street_address(long('s', limits::ADDRESS_FIELD.max))
        .with_street_address2(long('t', limits::ADDRESS_FIELD.max))
        .with_title(long('T', limits::TITLE.max));
    OrderRequest::builder()
        .purchase_currency("SEK")
        .lines(lines)
        .merchant_data(long('d', limits::MERCHANT_DATA.max))
        .merchant_reference1(long('1', limits::MERCHANT_REFERENCE.max))
        .merchant_reference2(long('2', limits::MERCHANT_REFERENCE.max))
        .merchant_urls(
            MerchantUrls::new(url_of(limits::MERCHANT_URL.max))
                .with_push(url_of(limits::MERCHANT_URL.max)),
        )
        .attachment(Attachment::new(
            "application/vnd.klarna.internal.emd-v2+json",
            r#"{"customer_account_info":[{"unique_account_identifier":"test@example.com"}]}"#,
        ))
        .auto_capture(true)
        .shipping_address(address)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_order_at_every_limit_is_accepted_and_stored() {
    within(async {
        let sandbox = start().await;
        // Every field at its limit, with as many lines as Klarna's 1 MB
        // request body holds; all 1000 lines would be over it.
        let body_limit = klarna_customer_token::limits::MAX_BODY_BYTES;
        let err = order_at_the_limits(1000).expect_err("over Klarna's 1 MB");
        assert!(err.to_string().contains("bytes"), "{err}");
        let order = order_at_the_limits(150).expect("an order at the limits is valid");
        let size = order.to_json().len();
        assert!(
            size > 512 * 1024 && size <= body_limit && size < MAX_BODY_BYTES,
            "{size} bytes"
        );
        let created = once(&sandbox)
            .create_order(&token(tokens::ACTIVE_INVOICE), &order)
            .await
            .expect("accepted");
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].order_id, created.order_id());
        assert_eq!(orders[0].order, order, "stored as sent");
        assert_eq!(orders[0].order.order_lines().len(), 150);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_does_not_take_the_sandbox_down() {
    within(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        let auth = basic_header();
        let path = format!("{PREFIX}{}/order", tokens::ACTIVE_INVOICE);

        // Garbage bytes: hyper answers 400 or closes.
        let reply = raw_tcp(
            addr,
            vec![b"\x00\x01\x02\xff\xfe garbage \r\n\r\n\r\n".to_vec()],
        )
        .await;
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 4"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        // Binary noise, a lot of it.
        let noise: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        raw_tcp_eof(addr, vec![noise]).await;
        // A request line only, then the connection closes.
        raw_tcp_eof(
            addr,
            vec![format!("POST {path} HTTP/1.1\r\nHost: x\r\n").into_bytes()],
        )
        .await;
        // Headers promising a body that never comes in full.
        let reply = raw_tcp_eof(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                )
                .into_bytes(),
                order().to_json()[..40].to_vec(),
            ],
        )
        .await;
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        // Truncated JSON with a correct Content-Length.
        let truncated = &order().to_json()[..40];
        let reply = raw_tcp(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    truncated.len()
                )
                .into_bytes(),
                truncated.to_vec(),
            ],
        )
        .await;
        assert!(
            reply.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(String::from_utf8_lossy(&reply).contains("BAD_REQUEST"));
        // A huge declared body, streamed until the sandbox closes.
        let huge = 3 * MAX_BODY_BYTES;
        let mut chunks = vec![
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                 Content-Type: application/json\r\nContent-Length: {huge}\r\n\r\n"
            )
            .into_bytes(),
        ];
        chunks.extend((0..30).map(|_| vec![b' '; 1024 * 1024]));
        raw_tcp_eof(addr, chunks).await;
        // A chunked body with a malformed chunk size.
        raw_tcp_eof(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                     zz\r\n{{}}\r\n0\r\n\r\n"
                )
                .into_bytes(),
            ],
        )
        .await;
        // An enormous header.
        raw_tcp_eof(
            addr,
            vec![
                format!(
                    "GET {PREFIX}{} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    long('h', 2 * 1024 * 1024)
                )
                .into_bytes(),
            ],
        )
        .await;
        // A connection opened and closed without a byte.
        raw_tcp_eof(addr, Vec::new()).await;
        // Huge bodies sent whole, over and over (the answer may be lost,
        // see a_whole_body_one_byte_over_the_limit_gets_413).
        for _ in 0..3 {
            let _ = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(vec![b' '; MAX_BODY_BYTES + 4096])
                .send()
                .await;
        }

        // Still serving, on fresh and pooled connections.
        let client = once(&sandbox);
        let details = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect("still serving");
        assert_eq!(details.status(), &TokenStatus::Active);
        let raw = raw_read(&sandbox, tokens::ACTIVE_CARD).await;
        assert_eq!(raw.status, 200);
        // A well-formed request over raw TCP still gets a well-formed answer.
        let reply = raw_tcp(
            addr,
            vec![
                format!(
                    "GET {PREFIX}{} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                     Connection: close\r\n\r\n",
                    tokens::ACTIVE_CARD
                )
                .into_bytes(),
            ],
        )
        .await;
        assert!(
            reply.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_connections_are_served() {
    within(async {
        let sandbox = start().await;
        let mut tasks = Vec::new();
        for i in 0..64 {
            let client = sandbox
                .client_builder()
                .retry_policy(RetryPolicy::none())
                .build()
                .expect("client");
            tasks.push(tokio::spawn(async move {
                let t = token(if i % 2 == 0 {
                    tokens::ACTIVE_CARD
                } else {
                    tokens::SUSPENDED
                });
                client.read_token(&t).await.map(|d| d.status().clone())
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let status = task.await.expect("task").expect("read");
            let expected = if i % 2 == 0 {
                TokenStatus::Active
            } else {
                TokenStatus::Suspended
            };
            assert_eq!(status, expected);
        }
        assert_eq!(sandbox.requests().len(), 64);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 7. Rate limit
// ---------------------------------------------------------------------------

/// The rate limit counts in one-second windows of real time, the first
/// starting when the sandbox starts. Runs `scenario` against fresh
/// sandboxes limited to `limit` until a run ends inside that first window
/// (on a loaded machine one may not), and returns that sandbox and result.
async fn in_first_window<T>(limit: u32, scenario: impl AsyncFn(&Sandbox) -> T) -> (Sandbox, T) {
    for _ in 0..5 {
        let sandbox = Sandbox::builder()
            .rate_limit(limit)
            .start()
            .await
            .expect("start");
        let result = scenario(&sandbox).await;
        if sandbox.clock().now() < Duration::from_millis(990) {
            return (sandbox, result);
        }
    }
    panic!("five runs in a row took more than a second");
}

#[track_caller]
fn reset_of(raw: &Raw) -> u64 {
    raw.header("x-ratelimit-reset")
        .expect("X-Ratelimit-Reset")
        .parse()
        .expect("whole seconds")
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_its_headers() {
    within(async {
        let (sandbox, answers) = in_first_window(3, async |sandbox: &Sandbox| {
            let http = http();
            let mut answers = Vec::new();
            for _ in 0..4 {
                answers.push(
                    send(
                        http.get(url(sandbox, tokens::ACTIVE_INVOICE, ""))
                            .header("authorization", basic_header()),
                    )
                    .await,
                );
            }
            answers.push(
                send(
                    http.post(url(sandbox, tokens::ACTIVE_INVOICE, "/order"))
                        .header("authorization", basic_header())
                        .header("content-type", "application/json")
                        .body(order().to_json()),
                )
                .await,
            );
            answers
        })
        .await;

        for (raw, remaining) in answers.iter().zip(["2", "1", "0"]) {
            assert_eq!(raw.status, 200);
            assert_eq!(raw.header("x-ratelimit-limit"), Some("3"));
            assert_eq!(raw.header("x-ratelimit-remaining"), Some(remaining));
            assert!(reset_of(raw) >= 1);
        }
        for raw in &answers[3..] {
            assert_eq!(raw.status, 429);
            assert_eq!(raw.header("x-ratelimit-limit"), Some("3"));
            assert_eq!(raw.header("x-ratelimit-remaining"), Some("0"));
            assert!(reset_of(raw) >= 1);
            assert_eq!(raw.error_code(), "TOO_MANY_REQUESTS");
            assert!(raw.json()["correlation_id"].is_string());
            assert!(raw.header("klarna-correlation-id").is_some());
        }
        // Nothing is processed while limited.
        assert!(sandbox.orders().is_empty());

        sandbox.clock().advance(Duration::from_secs(1));
        let raw = raw_read(&sandbox, tokens::ACTIVE_INVOICE).await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.header("x-ratelimit-remaining"), Some("2"));

        // The limit can be lifted.
        sandbox.set_rate_limit(None);
        let http = http();
        for _ in 0..10 {
            let raw = send(
                http.get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                    .header("authorization", basic_header()),
            )
            .await;
            assert_eq!(raw.status, 200);
            assert_eq!(raw.header("x-ratelimit-limit"), None);
        }
    })
    .await;
}

#[tokio::test]
async fn the_client_sees_429_with_retry_after() {
    within(async {
        let t = token(tokens::ACTIVE_INVOICE);
        let (sandbox, (reads, create)) = in_first_window(3, async |sandbox: &Sandbox| {
            let client = once(sandbox);
            let mut reads = Vec::new();
            for _ in 0..4 {
                reads.push(client.read_token(&t).await);
            }
            let create = client.create_order(&t, &order()).await;
            (reads, create)
        })
        .await;

        for read in &reads[..3] {
            assert!(read.is_ok(), "within the limit: {read:?}");
        }
        let err = reads[3].as_ref().expect_err("limited");
        assert_eq!(err.status(), Some(429));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOO_MANY_REQUESTS")
        );
        let wait = err.retry_after().expect("retry_after");
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        assert!(err.is_retryable());

        let err = create.expect_err("limited");
        assert_eq!(err.status(), Some(429));
        assert!(err.retry_after().is_some());
        // A final 429 is the gateway's refusal before processing.
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        assert!(sandbox.orders().is_empty());

        sandbox.clock().advance(Duration::from_secs(1));
        once(&sandbox).read_token(&t).await.expect("a new window");
    })
    .await;
}

#[tokio::test]
async fn a_retrying_client_waits_out_the_rate_limit() {
    within(async {
        let t = token(tokens::ACTIVE_INVOICE);
        for _ in 0..5 {
            let sandbox = Sandbox::builder()
                .rate_limit(1)
                .start()
                .await
                .expect("start");
            let client = sandbox.client();
            client.read_token(&t).await.expect("first");
            // The second call is limited, waits X-Ratelimit-Reset (real
            // time), and succeeds on its next attempt.
            let created = client
                .create_order(&t, &order())
                .await
                .expect("after waiting");
            assert_eq!(sandbox.orders().len(), 1);
            if created.attempts() == 1 {
                // Allowed at once: only if the window rolled over first.
                assert!(sandbox.clock().now() >= Duration::from_secs(1));
                continue;
            }
            assert_eq!(created.attempts(), 2);
            let methods: Vec<_> = sandbox
                .requests()
                .iter()
                .map(|r| r.method.clone())
                .collect();
            assert_eq!(methods, ["GET", "POST", "POST"]);
            return;
        }
        panic!("five runs in a row took more than a second");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 8. Faults
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_status_fault_applies_the_given_number_of_times() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#).times(2));
        for _ in 0..2 {
            let e = api_error(client.read_token(&t).await);
            assert_eq!(e.status(), 503);
            assert_eq!(
                e.error_code().map(|c| c.as_str()),
                Some("SERVICE_UNAVAILABLE")
            );
            assert_eq!(e.content_type(), Some("application/json"));
            assert!(e.correlation_id().is_some(), "from the header");
        }
        client.read_token(&t).await.expect("the fault is used up");

        // With the default policy, one call rides over both.
        sandbox.inject(
            Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
                .times(2)
                .only(Operation::CreateOrder),
        );
        let created = sandbox
            .client_builder()
            .retry_policy(
                RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(10))
                    .max_backoff(Duration::from_millis(20)),
            )
            .build()
            .expect("client")
            .create_order(&t, &order())
            .await
            .expect("third attempt");
        assert_eq!(created.attempts(), 3);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn faults_apply_in_the_order_they_were_queued() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::status(
            500,
            r#"{"error_code":"INTERNAL_SERVER_ERROR"}"#,
        ));
        sandbox.inject(Fault::raw(418, "text/plain", "teapot"));
        // A fault for no requests is no fault.
        sandbox.inject(Fault::gateway_502().times(0));
        assert_eq!(
            client.read_token(&t).await.expect_err("500").status(),
            Some(500)
        );
        let e = api_error(client.read_token(&t).await);
        assert_eq!(e.status(), 418);
        assert_eq!(e.raw_body(), b"teapot");
        assert_eq!(e.content_type(), Some("text/plain"));
        client.read_token(&t).await.expect("no more faults");
    })
    .await;
}

#[tokio::test]
async fn gateway_502_is_an_html_page() {
    within(async {
        let sandbox = start().await;
        sandbox.inject(Fault::gateway_502());
        let raw = raw_read(&sandbox, tokens::ACTIVE_INVOICE).await;
        assert_eq!(raw.status, 502);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.starts_with("text/html"))
        );
        assert!(String::from_utf8_lossy(&raw.body).contains("<html"));

        sandbox.inject(Fault::gateway_502());
        let e = api_error(
            once(&sandbox)
                .read_token(&token(tokens::ACTIVE_INVOICE))
                .await,
        );
        assert_eq!(e.status(), 502);
        assert_eq!(e.content_type(), Some("text/html"));
        assert!(String::from_utf8_lossy(e.raw_body()).contains("<html"));
        assert!(e.error_code().is_none());
    })
    .await;
}

#[tokio::test]
async fn drop_after_processing_stores_the_order_and_the_key_recovers_it() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        sandbox.inject(Fault::drop_after_processing().only(Operation::CreateOrder));

        let call = client.create_order(&t, &order);
        let key = call.idempotency_key().clone();
        let err = call.await.expect_err("the connection was dropped");
        assert_transport(&err);
        assert_eq!(err.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
        assert_eq!(err.idempotency_key(), Some(&key));
        assert!(err.is_retryable());

        // The customer was charged.
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].idempotency_key.as_ref(), Some(&key));
        let stored_id = orders[0].order_id.clone();

        // Reconciling with the same key returns that order, once.
        let recovered = client
            .create_order(&t, &order)
            .with_idempotency_key(key.clone())
            .await
            .expect("reconciled");
        assert_eq!(recovered.order_id(), stored_id);
        assert_eq!(sandbox.orders().len(), 1);

        // A retrying client does the same on its own.
        sandbox.inject(Fault::drop_after_processing().only(Operation::CreateOrder));
        let created = sandbox
            .client_builder()
            .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
            .build()
            .expect("client")
            .create_order(&t, &order)
            .await
            .expect("retried with the same key");
        assert_eq!(created.attempts(), 2);
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].order_id, created.order_id());
    })
    .await;
}

#[tokio::test]
async fn drop_before_processing_stores_nothing() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::drop_before_processing());
        let err = client
            .create_order(&t, &order())
            .await
            .expect_err("dropped");
        assert_transport(&err);
        assert_eq!(err.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
        assert!(sandbox.orders().is_empty());

        // Read and cancel too.
        sandbox.inject(Fault::drop_before_processing().times(2));
        assert_transport(&client.read_token(&t).await.expect_err("dropped"));
        assert_transport(&client.cancel_token(&t).await.expect_err("dropped"));
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Active));
        client.read_token(&t).await.expect("no more faults");
    })
    .await;
}

#[tokio::test]
async fn drop_after_processing_a_cancel_still_cancels() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_CARD);
        sandbox.inject(Fault::drop_after_processing().only(Operation::CancelToken));
        assert_transport(&client.cancel_token(&t).await.expect_err("dropped"));
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
    })
    .await;
}

#[tokio::test]
async fn a_delay_longer_than_the_attempt_timeout_is_a_timeout() {
    within(async {
        let sandbox = start().await;
        let impatient = sandbox
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .attempt_timeout(Duration::from_millis(500))
            .build()
            .expect("client");
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::delay_before_processing(Duration::from_secs(3)));
        let started = std::time::Instant::now();
        let err = impatient.read_token(&t).await.expect_err("timed out");
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));

        // A short delay is only a delay.
        sandbox.inject(Fault::delay_before_processing(Duration::from_millis(100)));
        let started = std::time::Instant::now();
        once(&sandbox).read_token(&t).await.expect("slow but fine");
        assert!(started.elapsed() >= Duration::from_millis(100));

        // A delayed answer after processing: the client times out, the
        // order exists.
        sandbox.inject(
            Fault::delay_after_processing(Duration::from_secs(3)).only(Operation::CreateOrder),
        );
        let err = impatient
            .create_order(&t, &order())
            .await
            .expect_err("timed out");
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        assert_eq!(err.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn operation_scoped_faults_leave_other_operations_alone() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::gateway_502().only(Operation::ReadToken));
        sandbox.inject(Fault::drop_before_processing().only(Operation::CancelToken));

        client
            .create_order(&t, &order())
            .await
            .expect("create is not affected");
        assert_eq!(sandbox.orders().len(), 1);
        assert_transport(
            &client
                .cancel_token(&token(tokens::ACTIVE_CARD))
                .await
                .expect_err("cancel fault"),
        );
        assert_eq!(
            client
                .read_token(&t)
                .await
                .expect_err("read fault")
                .status(),
            Some(502)
        );
        client.read_token(&t).await.expect("used up");
        client
            .cancel_token(&token(tokens::ACTIVE_CARD))
            .await
            .expect("used up");

        // A scoped fault is not used by a request outside the API.
        sandbox.inject(Fault::status(500, "{}").only(Operation::CreateOrder));
        let raw = send(
            http()
                .get(format!("{}/elsewhere", sandbox.base_url()))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 404);
        let err = client
            .create_order(&t, &order())
            .await
            .expect_err("still queued for create-order");
        assert_eq!(err.status(), Some(500));
    })
    .await;
}

// ---------------------------------------------------------------------------
// 9. Inspection
// ---------------------------------------------------------------------------

#[tokio::test]
async fn orders_and_requests_are_recorded() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let before = sandbox.clock().now();
        let call = client.create_order(&t, &order);
        let key = call.idempotency_key().clone();
        let created = call.await.expect("create");
        client.read_token(&t).await.expect("read");
        client.cancel_token(&t).await.expect("cancel");

        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        let stored = &orders[0];
        assert_eq!(stored.order_id, created.order_id());
        assert_eq!(stored.token, t);
        assert_eq!(stored.idempotency_key.as_ref(), Some(&key));
        assert_eq!(stored.order, order);
        assert!(stored.created_at >= before && stored.created_at <= sandbox.clock().now());

        let requests = sandbox.requests();
        assert_eq!(requests.len(), 3);
        let create = &requests[0];
        assert_eq!(create.method, "POST");
        assert_eq!(
            create.path,
            format!("{PREFIX}{}/order", tokens::ACTIVE_INVOICE)
        );
        assert_eq!(create.header("Klarna-Idempotency-Key"), Some(key.as_str()));
        assert_eq!(
            create.header("authorization"),
            Some(basic_header().as_str())
        );
        assert!(
            create
                .header("content-type")
                .is_some_and(|c| c.contains("application/json"))
        );
        assert!(
            create
                .headers
                .iter()
                .all(|(name, _)| *name == name.to_ascii_lowercase()),
            "names are lowercased"
        );
        assert_eq!(requests[1].method, "GET");
        assert_eq!(
            requests[1].path,
            format!("{PREFIX}{}", tokens::ACTIVE_INVOICE)
        );
        assert_eq!(requests[1].header("klarna-idempotency-key"), None);
        assert_eq!(requests[2].method, "PATCH");
        assert_eq!(
            requests[2].path,
            format!("{PREFIX}{}/status", tokens::ACTIVE_INVOICE)
        );

        // Even refused and rate-limited requests are recorded.
        let _ = send(http().get(url(&sandbox, tokens::ACTIVE_CARD, ""))).await;
        assert_eq!(sandbox.requests().len(), 4);

        sandbox.clear_requests();
        assert!(sandbox.requests().is_empty());
        assert_eq!(sandbox.orders().len(), 1, "orders are kept");
    })
    .await;
}

#[tokio::test]
async fn debug_output_hides_credentials_and_tokens() {
    within(async {
        let sandbox = start().await;
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox
            .client()
            .create_order(&t, &order())
            .await
            .expect("create");
        api_key_client(&sandbox)
            .read_token(&token(tokens::ACTIVE_DIRECT_DEBIT))
            .await
            .expect("read");
        let _ = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_CARD, ""))
                .header("proxy-authorization", basic_header())
                .header("authorization", basic_header()),
        )
        .await;

        let requests = sandbox.requests();
        assert_eq!(requests.len(), 3);
        let shown = format!("{requests:?}");
        let pretty = format!("{requests:#?}");
        for text in [&shown, &pretty] {
            for secret in [
                basic_header().as_str(),
                basic_value().as_str(),
                credentials::PASSWORD,
                credentials::API_KEY,
                tokens::ACTIVE_INVOICE,
                tokens::ACTIVE_DIRECT_DEBIT,
                tokens::ACTIVE_CARD,
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(text.contains("<redacted>"));
            assert!(text.contains("0001") && text.contains("0003") && text.contains("0002"));
            assert!(text.contains("/order"));
        }

        // Stored orders show tokens by their last four characters too.
        let orders = format!("{:?}", sandbox.orders());
        assert!(!orders.contains(tokens::ACTIVE_INVOICE), "{orders}");
    })
    .await;
}

/// Debug output promises to show a token in the path by its last four
/// characters only. A request with an empty segment before the token (a
/// double slash, as a hand-written client with a base URL ending in `/`
/// sends) is shown with the full token.
#[tokio::test]
async fn debug_output_hides_tokens_in_odd_paths() {
    within(async {
        let sandbox = start().await;
        let reply = raw_tcp(
            sandbox.addr(),
            vec![
                format!(
                    "GET {PREFIX}/{} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
                     Connection: close\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    basic_header()
                )
                .into_bytes(),
            ],
        )
        .await;
        assert!(reply.starts_with(b"HTTP/1.1 404"));
        let request = sandbox.requests().pop().expect("recorded");
        assert_eq!(request.path, format!("{PREFIX}/{}", tokens::ACTIVE_INVOICE));
        let shown = format!("{request:?}");
        assert!(!shown.contains(tokens::ACTIVE_INVOICE), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn every_answer_carries_a_correlation_id() {
    within(async {
        let sandbox = Sandbox::builder()
            .rate_limit(1000)
            .start()
            .await
            .expect("start");
        let http = http();
        let auth = basic_header();
        let invoice = url(&sandbox, tokens::ACTIVE_INVOICE, "");
        let mut answers = vec![
            send(http.get(&invoice).header("authorization", &auth)).await,
            send(http.get(&invoice)).await,
            send(http.get(&invoice).header("authorization", "Basic nope")).await,
            send(http.delete(&invoice).header("authorization", &auth)).await,
            send(
                http.get(url(&sandbox, "no-such-token-0000", ""))
                    .header("authorization", &auth),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order().to_json(),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order().to_json(),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order_with("other").to_json(),
            )
            .await,
            raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, b"{".to_vec()).await,
        ];
        sandbox.inject(Fault::status(503, "{}"));
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);
        sandbox.inject(Fault::gateway_502());
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);
        answers.push(
            send(
                http.patch(url(&sandbox, tokens::ACTIVE_INVOICE, "/status"))
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(r#"{"status":"CANCELLED"}"#),
            )
            .await,
        );
        sandbox.set_rate_limit(Some(0));
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);

        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses,
            [
                200, 401, 401, 405, 404, 200, 200, 409, 400, 503, 502, 202, 429
            ]
        );
        let mut ids = Vec::new();
        for answer in &answers {
            let id = answer
                .header("klarna-correlation-id")
                .unwrap_or_else(|| panic!("no correlation id on a {}", answer.status));
            assert!(!id.is_empty());
            ids.push(id.to_owned());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), answers.len(), "one id per answer");
    })
    .await;
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sandbox_refuses_new_connections() {
    within(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        let base_url = sandbox.base_url();
        drop(sandbox);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let client = Client::builder()
            .basic_auth(credentials::USERNAME, credentials::PASSWORD)
            .base_url(base_url)
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let err = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "the port is closed"
        );
    })
    .await;
}

/// `Sandbox` says it "stops serving when dropped". Its `Drop` aborts only
/// the accept loop; each connection is served by its own spawned task,
/// which keeps running, so a client with a kept-alive connection is still
/// answered (and can still create orders no one can see).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sandbox_stops_serving_open_connections() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        // Leaves a kept-alive connection in the client's pool.
        client.read_token(&t).await.expect("read");
        drop(sandbox);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let result = client.read_token(&t).await;
        assert!(
            result.is_err(),
            "a dropped sandbox still answered: {result:?}"
        );
    })
    .await;
}
