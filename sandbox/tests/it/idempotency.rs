//! Idempotency.

use std::time::Duration;

use klarna_customer_token::{
    ErrorCode, IdempotencyKey, Operation, OrderOutcome, PaymentMethodType,
};
use klarna_customer_token_sandbox::{Fault, SandboxToken, tokens};
use serde_json::Value;

use crate::support::*;

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
        assert_eq!(
            third.error_code(),
            ErrorCode::IdempotencyKeyMismatch.as_str()
        );
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
        assert_eq!(err.error_code(), Some(&ErrorCode::IdempotencyKeyMismatch));
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
        assert_eq!(raw.error_code(), ErrorCode::IdempotencyKeyMismatch.as_str());
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
            Fault::delay_before_processing(Duration::from_millis(500))
                .with_operation(Operation::CreateOrder),
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
            Fault::delay_after_processing(Duration::from_secs(1))
                .with_operation(Operation::CreateOrder),
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
        sandbox.inject(Fault::drop_before_processing().with_operation(Operation::CreateOrder));
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
