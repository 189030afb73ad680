//! The sandbox under hostile input: what it keeps (idempotency keys, the
//! request log) stays bounded, its clock cannot overflow, and every answer,
//! hyper's own included, is a well-formed Klarna-style answer.

use crate::support;
use support::{PREFIX, basic_header, order_with};

use std::time::Duration;

use klarna_customer_token::{CustomerToken, ErrorCode, IdempotencyKey, RetryPolicy};
use klarna_customer_token_sandbox::{
    MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_RECORDED_BYTES, Sandbox, defaults, tokens,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TEST_BOUND: Duration = Duration::from_secs(120);

async fn within<F: Future>(body: F) -> F::Output {
    support::within_for(TEST_BOUND, body).await
}

struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

async fn create(sandbox: &Sandbox, token: &str, key: &str, body: Vec<u8>) -> Raw {
    let response = crate::support::http()
        .post(format!("{}{PREFIX}{token}/order", sandbox.base_url()))
        .header("authorization", basic_header())
        .header("content-type", "application/json")
        .header("klarna-idempotency-key", key)
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body").to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

/// A hostile body of `len` bytes: one long string in an object.
fn long_string(len: usize) -> Vec<u8> {
    let mut body = b"{\"order_lines\":\"".to_vec();
    body.resize(len - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

/// A hostile body of `len` bytes: `[0,0,…]`, valid JSON far from an order.
fn zeros(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len);
    body.push(b'[');
    while body.len() + 4 <= len {
        body.extend_from_slice(b"0,");
    }
    body.push(b'0');
    body.push(b']');
    body
}

/// Writes `head` on a fresh connection and reads the answer until the
/// sandbox closes the connection (or 10 s pass).
async fn exchange(sandbox: &Sandbox, head: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(sandbox.addr())
        .await
        .expect("connect");
    let _ = stream.write_all(head).await;
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

/// The JSON body of a raw HTTP/1.1 answer.
fn body_of(reply: &str) -> Value {
    let (_, body) = reply.split_once("\r\n\r\n").expect("a complete answer");
    serde_json::from_str(body).expect("a JSON body")
}

// ---------------------------------------------------------------------------
// Idempotency store
// ---------------------------------------------------------------------------

/// Twenty bodies of 10 MiB under fresh keys (two `[0,0,…]`, the others one
/// long string: parsing millions of zeros is slow in a debug build), to an
/// unknown token with the public credentials: each leaves one small entry,
/// and each is replayed from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_hostile_keyed_bodies_leaves_one_small_entry_each() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let body = zeros(MAX_BODY_BYTES - 16);
        let string = long_string(MAX_BODY_BYTES);
        let mut first = None;
        for i in 0..20 {
            let hostile = if i < 2 { body.clone() } else { string.clone() };
            let raw = create(&sandbox, "no-such-token-0000", &format!("k-{i}"), hostile).await;
            assert_eq!(raw.status, 404, "{}", String::from_utf8_lossy(&raw.body));
            assert!(raw.body.len() < 512, "the answer is small");
            first.get_or_insert(raw.json());
        }
        assert_eq!(sandbox.idempotency_keys(), 20);
        // A replay gets the first answer, byte for byte.
        let again = create(&sandbox, "no-such-token-0000", "k-0", body.clone()).await;
        assert_eq!(again.json(), first.expect("an answer"));
        assert_eq!(sandbox.idempotency_keys(), 20);
        // The same key with another body is still a mismatch.
        let mut other = body;
        other[1] = b'1';
        let mismatch = create(&sandbox, "no-such-token-0000", "k-0", other).await;
        assert_eq!(mismatch.status, 409);
        assert_eq!(
            mismatch.json()["error_code"],
            ErrorCode::IdempotencyKeyMismatch.as_str()
        );
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

/// The digest covers every field of the body, unknown ones included, and
/// ignores key order and whitespace.
#[tokio::test]
async fn the_body_digest_covers_every_field_and_ignores_layout() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let mut value: Value =
            serde_json::from_slice(&order_with("digest").to_json()).expect("json");
        value["x_unknown"] = serde_json::json!({"b": 1, "a": [1, 2]});
        let compact = serde_json::to_vec(&value).expect("json");
        let first = create(&sandbox, tokens::ACTIVE_INVOICE, "digest", compact).await;
        let status = first.status;
        // The same value, pretty-printed: a replay.
        let pretty = serde_json::to_vec_pretty(&value).expect("json");
        let again = create(&sandbox, tokens::ACTIVE_INVOICE, "digest", pretty).await;
        assert_eq!(again.status, status);
        assert_eq!(again.body, first.body);
        // Only the unknown field differs: a mismatch.
        value["x_unknown"]["a"] = serde_json::json!([2, 1]);
        let changed = serde_json::to_vec(&value).expect("json");
        let mismatch = create(&sandbox, tokens::ACTIVE_INVOICE, "digest", changed).await;
        assert_eq!(mismatch.status, 409);
        assert_eq!(
            mismatch.json()["error_code"],
            ErrorCode::IdempotencyKeyMismatch.as_str()
        );
    })
    .await;
}

/// An order breaking thousands of rules gets a bounded answer, so that the
/// idempotency store, which keeps it, stays small.
#[tokio::test]
async fn an_answer_to_an_order_breaking_every_rule_stays_small() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let line = r#"{"name":"x","quantity":1,"unit_price":1,"total_amount":5,"tax_rate":99999,"total_tax_amount":7,"total_discount_amount":-3}"#;
        let lines = vec![line; 1000].join(",");
        let body = format!(
            r#"{{"purchase_currency":"EUR","order_amount":1,"order_tax_amount":9,"order_lines":[{lines}]}}"#
        );
        let first = create(&sandbox, tokens::ACTIVE_INVOICE, "every-rule", body.clone().into_bytes()).await;
        assert_eq!(first.status, 400);
        assert!(first.body.len() < 5 * 1024, "{} bytes", first.body.len());
        let messages = first.json()["error_messages"].clone();
        let last = messages
            .as_array()
            .and_then(|m| m.last())
            .and_then(Value::as_str)
            .expect("a last message")
            .to_owned();
        assert!(last.contains("more (the sandbox lists at most"), "{last}");
        let again = create(&sandbox, tokens::ACTIVE_INVOICE, "every-rule", body.into_bytes()).await;
        assert_eq!(again.body, first.body, "replayed");
    })
    .await;
}

#[tokio::test]
async fn past_the_key_cap_the_oldest_keys_expire_first() {
    within(async {
        let sandbox = Sandbox::builder()
            .max_idempotency_keys(3)
            .start()
            .await
            .expect("starts");
        let client = sandbox
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let token = CustomerToken::new(tokens::ACTIVE_INVOICE).expect("token");
        let keys: Vec<IdempotencyKey> = (0..5)
            .map(|i| IdempotencyKey::new(format!("cap-key-{i}")).expect("key"))
            .collect();
        let mut ids = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let created = client
                .create_order(&token, &order_with(&format!("r{i}")))
                .with_idempotency_key(key.clone())
                .await
                .expect("created");
            ids.push(created.order_id().to_owned());
        }
        assert_eq!(sandbox.idempotency_keys(), 3);
        // The newest is remembered: a replay, no new order.
        let replay = client
            .create_order(&token, &order_with("r4"))
            .with_idempotency_key(keys[4].clone())
            .await
            .expect("replayed");
        assert_eq!(replay.order_id(), ids[4]);
        assert_eq!(sandbox.orders().len(), 5);
        // The oldest has expired: processed again, as after 24 hours.
        let fresh = client
            .create_order(&token, &order_with("r0"))
            .with_idempotency_key(keys[0].clone())
            .await
            .expect("created");
        assert_ne!(fresh.order_id(), ids[0]);
        assert_eq!(sandbox.orders().len(), 6);
        assert_eq!(sandbox.idempotency_keys(), 3);
    })
    .await;
}

#[tokio::test]
async fn stored_orders_are_a_bounded_ring() {
    within(async {
        let sandbox = Sandbox::builder()
            .max_stored_orders(2)
            .start()
            .await
            .expect("starts");
        let client = sandbox.client();
        let token = CustomerToken::new(tokens::ACTIVE_CARD).expect("token");
        let mut ids = Vec::new();
        for i in 0..4 {
            let created = client
                .create_order(&token, &order_with(&format!("ring-{i}")))
                .await
                .expect("created");
            ids.push(created.order_id().to_owned());
        }
        let kept: Vec<String> = sandbox.orders().into_iter().map(|o| o.order_id).collect();
        assert_eq!(kept, ids[2..].to_vec());
    })
    .await;
}

// ---------------------------------------------------------------------------
// Request log
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_request_log_keeps_the_last_requests_only() {
    within(async {
        let sandbox = Sandbox::builder()
            .max_recorded_requests(5)
            .start()
            .await
            .expect("starts");
        let http = crate::support::http();
        for i in 0..8 {
            http.get(format!("{}/nothing-{i}", sandbox.base_url()))
                .send()
                .await
                .expect("an answer");
        }
        let paths: Vec<String> = sandbox.requests().into_iter().map(|r| r.path).collect();
        let expected: Vec<String> = (3..8).map(|i| format!("/nothing-{i}")).collect();
        assert_eq!(paths, expected);

        let none = Sandbox::builder()
            .max_recorded_requests(0)
            .start()
            .await
            .expect("starts");
        http.get(format!("{}/x", none.base_url()))
            .send()
            .await
            .expect("an answer");
        assert!(none.requests().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_recorded_request_keeps_at_most_8_kib_of_headers() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let mut request = crate::support::http()
            .get(format!(
                "{}{PREFIX}{}",
                sandbox.base_url(),
                tokens::ACTIVE_CARD
            ))
            .header("x-first", "kept");
        // 40 headers of 1 KiB: 40 KiB, under the head limit.
        for i in 0..40 {
            request = request.header(format!("x-pad-{i}"), "p".repeat(1024));
        }
        let response = request.send().await.expect("an answer");
        assert_eq!(response.status(), 401, "no credentials");
        let recorded = sandbox.requests().pop().expect("recorded");
        let size = recorded.method.len()
            + recorded.path.len()
            + recorded
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        assert!(size <= MAX_RECORDED_BYTES, "{size} bytes kept");
        assert!(size > MAX_RECORDED_BYTES - 1024, "the budget is used");
        assert!(recorded.truncated);
        assert_eq!(recorded.header("x-first"), Some("kept"));
        assert!(recorded.header("x-pad-39").is_none());

        // A small request is kept whole.
        crate::support::http()
            .get(format!("{}/small", sandbox.base_url()))
            .send()
            .await
            .expect("an answer");
        let small = sandbox.requests().pop().expect("recorded");
        assert!(!small.truncated);
        assert_eq!(small.path, "/small");
    })
    .await;
}

// ---------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_clock_saturates_and_the_sandbox_keeps_serving() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let client = sandbox
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        sandbox.clock().advance(Duration::MAX);
        sandbox.clock().advance(Duration::MAX);
        sandbox.clock().advance(Duration::from_secs(1));
        assert_eq!(sandbox.clock().now(), Duration::MAX);
        sandbox.set_rate_limit(Some(100));
        let token = CustomerToken::new(tokens::ACTIVE_INVOICE).expect("token");
        client.read_token(&token).await.expect("served");
        let key = IdempotencyKey::new("after-the-end-of-time").expect("key");
        let first = client
            .create_order(&token, &order_with("late"))
            .with_idempotency_key(key.clone())
            .await
            .expect("created");
        let again = client
            .create_order(&token, &order_with("late"))
            .with_idempotency_key(key)
            .await
            .expect("replayed");
        assert_eq!(first.order_id(), again.order_id());
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_405_names_the_allowed_method() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let http = crate::support::http();
        let base = format!("{}{PREFIX}{}", sandbox.base_url(), tokens::ACTIVE_INVOICE);
        for (method, tail, allowed) in [
            (reqwest::Method::DELETE, "", "GET"),
            (reqwest::Method::GET, "/order", "POST"),
            (reqwest::Method::PUT, "/status", "PATCH"),
        ] {
            let response = http
                .request(method.clone(), format!("{base}{tail}"))
                .header("authorization", basic_header())
                .send()
                .await
                .expect("an answer");
            assert_eq!(response.status(), 405, "{method} {tail}");
            assert_eq!(
                response
                    .headers()
                    .get("allow")
                    .and_then(|v| v.to_str().ok()),
                Some(allowed),
                "{method} {tail}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_head_over_the_limit_gets_a_json_431() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        let head = format!(
            "GET {PREFIX}{} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
            tokens::ACTIVE_INVOICE,
            "h".repeat(MAX_HEAD_BYTES + 1024)
        );
        let reply = exchange(&sandbox, head.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 431 "), "{reply}");
        assert!(reply.contains("content-type: application/json"), "{reply}");
        let body = body_of(&reply);
        assert_eq!(body["error_code"], "REQUEST_HEADER_FIELDS_TOO_LARGE");
        assert!(body["correlation_id"].is_string());
        assert!(
            sandbox.requests().is_empty(),
            "a refused head is not recorded"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unparsable_request_line_gets_a_json_400() {
    within(async {
        let sandbox = Sandbox::start().await.expect("starts");
        for head in [
            &b"GET /x HTTP/9.9 extra\r\nHost: 127.0.0.1\r\n\r\n"[..],
            b"G\x01T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        ] {
            let reply = exchange(&sandbox, head).await;
            assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
            assert_eq!(body_of(&reply)["error_code"], "BAD_REQUEST", "{reply}");
        }
        // The sandbox's own 400s are left alone.
        let raw = create(&sandbox, tokens::ACTIVE_INVOICE, "bad-json", b"{".to_vec()).await;
        assert_eq!(raw.status, 400);
        assert!(raw.headers.contains_key("klarna-correlation-id"));
        assert_eq!(raw.json()["error_code"], "BAD_REQUEST");
    })
    .await;
}

#[test]
fn the_documented_defaults() {
    assert_eq!(defaults::MAX_IDEMPOTENCY_KEYS, 100_000);
    assert_eq!(defaults::MAX_RECORDED_REQUESTS, 10_000);
    assert_eq!(defaults::MAX_CONNECTIONS, 1_024);
    assert_eq!(defaults::HEADER_READ_TIMEOUT, Duration::from_secs(10));
    assert_eq!(defaults::BODY_READ_TIMEOUT, Duration::from_secs(30));
    assert_eq!(MAX_RECORDED_BYTES, 8 * 1024);
}
