//! Steering the in-process sandbox: targeted faults, token states, order
//! lookups, one clock for the sandbox and its clients, and the fidelity of
//! its answers to unknown tokens and to the `Authorization` scheme.

use std::time::{Duration, Instant};

use klarna_customer_token::clock::Clock as _;
use klarna_customer_token::{Error, ErrorCode, IdempotencyKey, Operation, TokenStatus};
use klarna_customer_token_sandbox::{Fault, Sandbox, tokens};

const UNAVAILABLE: &str = r#"{"error_code":"SERVICE_UNAVAILABLE"}"#;

use crate::support;
use support::{basic_value, once, order, post_order, token, within};

#[tokio::test]
async fn a_leftover_fault_on_one_token_never_touches_another() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = once(&sandbox);
        let a = token(tokens::ACTIVE_INVOICE);
        let b = token(tokens::ACTIVE_CARD);
        sandbox.inject(Fault::status(503, UNAVAILABLE).with_times(5).with_token(&a));

        // Token B is served normally, however often, while A's fault waits.
        for _ in 0..3 {
            client.read_token(&b).await.expect("b is untouched");
            client
                .create_order(&b, &order())
                .await
                .expect("b is charged");
        }
        let pending = sandbox.pending_faults();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].times_left(), 5);
        assert_eq!(pending[0].token(), Some(&a));

        // A gets it, every operation, and each use counts.
        let e = client.read_token(&a).await.expect_err("a's fault");
        assert_eq!(e.status(), Some(503));
        assert_eq!(sandbox.pending_faults()[0].times_left(), 4);
        sandbox.clear_faults();
        assert!(sandbox.pending_faults().is_empty());
        client.read_token(&a).await.expect("cleared");
    })
    .await;
}

#[tokio::test]
async fn faults_target_an_operation_a_token_and_a_key_together() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = once(&sandbox);
        let a = token(tokens::ACTIVE_INVOICE);
        let b = token(tokens::ACTIVE_CARD);
        let key = IdempotencyKey::derive("steer", "charge-1");
        let other_key = IdempotencyKey::derive("steer", "charge-2");
        sandbox.inject(
            Fault::status(502, UNAVAILABLE)
                .with_operation(Operation::CreateOrder)
                .with_token(&a)
                .with_key(&key),
        );

        // Same token, other key; same key, other token; same token, other
        // operation; no key at all: none of them match.
        client
            .create_order(&a, &order())
            .with_idempotency_key(other_key)
            .await
            .expect("other key");
        client
            .create_order(&b, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("other token");
        client.read_token(&a).await.expect("other operation");
        client
            .create_order(&a, &order())
            .await
            .expect("a random key");
        assert_eq!(sandbox.pending_faults().len(), 1);

        let e = client
            .create_order(&a, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect_err("the targeted request");
        assert_eq!(e.status(), Some(502));
        assert!(sandbox.pending_faults().is_empty());
        // The fault answered without processing: the key is still free.
        client
            .create_order(&a, &order())
            .with_idempotency_key(key)
            .await
            .expect("processed now");
        assert_eq!(sandbox.orders().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_request_gets_the_first_matching_fault_and_others_wait() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = once(&sandbox);
        let a = token(tokens::ACTIVE_INVOICE);
        let b = token(tokens::ACTIVE_CARD);
        sandbox.inject(Fault::status(503, UNAVAILABLE).with_token(&a));
        sandbox.inject(Fault::status(500, UNAVAILABLE).with_token(&b));
        sandbox.inject(Fault::status(504, UNAVAILABLE));

        // B skips A's fault and takes its own; then A takes its own; then
        // the untargeted one applies to anything.
        assert_eq!(
            client.read_token(&b).await.expect_err("b").status(),
            Some(500)
        );
        assert_eq!(
            client.read_token(&a).await.expect_err("a").status(),
            Some(503)
        );
        assert_eq!(
            client.read_token(&b).await.expect_err("any").status(),
            Some(504)
        );
        client.read_token(&a).await.expect("no fault left");
    })
    .await;
}

#[test]
fn pending_faults_read_as_kind_target_and_times_left() {
    let a = token(tokens::ACTIVE_INVOICE);
    let key = IdempotencyKey::new("charge-42").expect("key");
    let shown = format!(
        "{:?}",
        Fault::drop_after_processing()
            .with_times(3)
            .with_operation(Operation::CreateOrder)
            .with_token(&a)
            .with_key(&key)
    );
    assert_eq!(
        shown,
        "Fault { kind: \"drop after processing\", \
         target: \"create_order, token …0001, key charge-42\", times_left: 3 }"
    );
    assert!(
        !shown.contains(tokens::ACTIVE_INVOICE),
        "the token is redacted"
    );
    let shown = format!(
        "{:?}",
        Fault::delay_before_processing(Duration::from_millis(250))
    );
    assert_eq!(
        shown,
        "Fault { kind: \"delay 250 ms before processing\", target: \"every request\", times_left: 1 }"
    );
    let shown = format!(
        "{:?}",
        Fault::status(429, "{}").with_header("Retry-After", "3")
    );
    assert!(
        shown.contains("status 429 (application/json, 2 bytes, Retry-After: 3)"),
        "{shown}"
    );
}

#[tokio::test]
async fn token_states_are_set_in_place() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = once(&sandbox);
        let card = token(tokens::ACTIVE_CARD);
        assert!(sandbox.set_token_status(&card, TokenStatus::Suspended));
        let read = client.read_token(&card).await.expect("read");
        assert_eq!(read.status(), &TokenStatus::Suspended);
        // The payment method is kept.
        assert!(read.card().is_some());
        let e = client
            .create_order(&card, &order())
            .await
            .expect_err("suspended");
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("TOKEN_SUSPENDED"));
        assert!(sandbox.set_token_status(&card, TokenStatus::Active));
        client
            .create_order(&card, &order())
            .await
            .expect("active again");

        let unknown = token("no-such-token-0000");
        assert!(!sandbox.set_token_status(&unknown, TokenStatus::Active));
        assert_eq!(sandbox.token_status(&unknown), None, "nothing added");
    })
    .await;
}

#[tokio::test]
async fn orders_are_found_by_token_and_by_key() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = sandbox.client();
        let a = token(tokens::ACTIVE_INVOICE);
        let b = token(tokens::ACTIVE_CARD);
        let key = IdempotencyKey::derive("steer", "by-key");
        let first = client
            .create_order(&a, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("a");
        client.create_order(&b, &order()).await.expect("b");
        client.create_order(&a, &order()).await.expect("a again");

        let for_a = sandbox.orders_for(&a);
        assert_eq!(for_a.len(), 2);
        assert!(for_a.iter().all(|o| o.token == a));
        assert_eq!(sandbox.orders_for(&b).len(), 1);
        let by_key = sandbox.order_by_key(&key).expect("stored with its key");
        assert_eq!(by_key.order_id, first.order_id());
        assert_eq!(by_key.idempotency_key.as_ref(), Some(&key));
        assert_eq!(sandbox.orders_with_key(&key).len(), 1);
        assert!(
            sandbox
                .order_by_key(&IdempotencyKey::derive("steer", "never-used"))
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn a_drop_after_commit_with_a_retried_key_stores_one_order() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let a = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::derive("steer", "double-charge");
        sandbox.inject(Fault::drop_after_processing().with_key(&key));
        let created = sandbox
            .client()
            .create_order(&a, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("the retry gets the stored answer");
        assert_eq!(created.attempts(), 2);
        let stored = sandbox.orders_with_key(&key);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].order_id, created.order_id());
    })
    .await;
}

#[tokio::test]
async fn a_clone_is_a_handle_to_the_same_sandbox() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let handle = sandbox.clone();
        assert_eq!(handle.addr(), sandbox.addr());
        handle.inject(Fault::status(503, UNAVAILABLE));
        assert_eq!(sandbox.pending_faults().len(), 1);
        // Dropping one handle keeps the server running for the other.
        let client = once(&sandbox);
        drop(sandbox);
        let e = client
            .read_token(&token(tokens::ACTIVE_CARD))
            .await
            .expect_err("the fault, served by the remaining handle");
        assert_eq!(e.status(), Some(503));
        client
            .read_token(&token(tokens::ACTIVE_CARD))
            .await
            .expect("still serving");
        // A task can own a handle.
        let task = tokio::spawn({
            let handle = handle.clone();
            async move { handle.orders().len() }
        });
        assert_eq!(task.await.expect("task"), 0);
    })
    .await;
}

#[tokio::test]
async fn a_429_with_a_30_s_reset_is_waited_out_on_virtual_time() {
    within(async {
        let sandbox = Sandbox::builder()
            .virtual_time()
            .rate_limit(1)
            .rate_limit_window(Duration::from_secs(30))
            .start()
            .await
            .expect("start");
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        client
            .read_token(&t)
            .await
            .expect("the window's one request");
        sandbox.clear_requests();

        let started = Instant::now();
        let read = client
            .read_token(&t)
            .await
            .expect("retried after the reset");
        assert_eq!(read.status(), &TokenStatus::Active);
        // Two attempts: the 429, then a success; no second 429.
        assert_eq!(sandbox.requests().len(), 2);
        let clock = sandbox.clock().virtual_clock().expect("virtual time");
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 1, "{sleeps:?}");
        assert!(sleeps[0] >= Duration::from_secs(30), "{sleeps:?}");
        // The sandbox saw the same time pass.
        assert!(sandbox.clock().now() >= Duration::from_secs(30));
        // No real wait: 30 s of waiting would exceed this many times over.
        assert!(started.elapsed() < Duration::from_secs(10));
    })
    .await;
}

#[tokio::test]
async fn one_clock_moves_the_idempotency_window_for_both_sides() {
    within(async {
        let sandbox = Sandbox::builder()
            .virtual_time()
            .start()
            .await
            .expect("start");
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        let key = IdempotencyKey::derive("steer", "window");
        let first = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("first");
        // Within the window: a replay.
        sandbox.clock().advance(Duration::from_secs(23 * 3600));
        let replay = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("replay");
        assert_eq!(replay.order_id(), first.order_id());
        // Moving the client's clock (the same one) past 24 hours expires it.
        let clock = sandbox.clock().virtual_clock().expect("virtual").clone();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), sandbox.clock().now());
        let fresh = client
            .create_order(&t, &order())
            .with_idempotency_key(key.clone())
            .await
            .expect("a new order");
        assert_ne!(fresh.order_id(), first.order_id());
        assert_eq!(sandbox.orders_with_key(&key).len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_sandbox_on_real_time_hands_out_clients_on_real_time() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        assert!(sandbox.clock().virtual_clock().is_none());
        // An injected delay is real time, on either clock.
        let sandbox_v = Sandbox::builder()
            .virtual_time()
            .start()
            .await
            .expect("start");
        sandbox_v.inject(Fault::delay_before_processing(Duration::from_millis(300)));
        let started = Instant::now();
        sandbox_v
            .client()
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect("read");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(sandbox_v.clock().now() < Duration::from_millis(300));
    })
    .await;
}

#[tokio::test]
async fn the_authorization_scheme_is_matched_case_insensitively() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let url = format!(
            "{}/customer-token/v1/tokens/{}",
            sandbox.base_url(),
            tokens::ACTIVE_INVOICE
        );
        let http = crate::support::http();
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            let response = http
                .get(&url)
                .header("authorization", format!("{scheme} {}", basic_value()))
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status().as_u16(), 200, "{scheme}");
        }
        let response = http
            .get(&url)
            .header("authorization", format!("Bearer {}", basic_value()))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), 401);
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_is_scoped_by_credentials_whatever_the_scheme_case() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let mut ids = Vec::new();
        for scheme in ["Basic", "basic"] {
            let authorization = format!("{scheme} {}", basic_value());
            let response = post_order(
                &sandbox.base_url(),
                tokens::ACTIVE_INVOICE,
                &authorization,
                "same-key-1",
            )
            .await;
            assert_eq!(response.status().as_u16(), 200);
            let json: serde_json::Value = response.json().await.expect("json");
            ids.push(json["order_id"].clone());
        }
        assert_eq!(ids[0], ids[1], "a replay, not a second order");
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_key_the_crate_could_not_send_is_refused() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let authorization = format!("Basic {}", basic_value());
        for key in ["has space".to_owned(), "k".repeat(256)] {
            let response = post_order(
                &sandbox.base_url(),
                tokens::ACTIVE_INVOICE,
                &authorization,
                &key,
            )
            .await;
            assert_eq!(response.status().as_u16(), 400, "{key}");
            let json: serde_json::Value = response.json().await.expect("json");
            assert_eq!(json["error_code"], "BAD_REQUEST");
            assert!(
                json["error_messages"][0]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Klarna-Idempotency-Key: ")),
                "{json}"
            );
        }
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn unknown_tokens_answer_with_the_code_of_each_operation() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let client = once(&sandbox);
        let unknown = token("no-such-token-0000");
        let code = |e: &Error| e.error_code().cloned();
        let read = client.read_token(&unknown).await.expect_err("read");
        assert_eq!(read.status(), Some(404));
        assert_eq!(code(&read), Some(ErrorCode::NotFound));
        let create = client
            .create_order(&unknown, &order())
            .await
            .expect_err("create");
        assert_eq!(code(&create), Some(ErrorCode::TokenNotFound));
        let cancel = client.cancel_token(&unknown).await.expect_err("cancel");
        assert_eq!(code(&cancel), Some(ErrorCode::NotFound));
        assert!(!read.is_retryable());
    })
    .await;
}
