//! Faults.

use std::time::Duration;

use klarna_customer_token::{Error, Operation, OrderOutcome, RetryPolicy, TokenStatus};
use klarna_customer_token_sandbox::{Fault, tokens};

use crate::support::*;

#[tokio::test]
async fn a_status_fault_applies_the_given_number_of_times() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox.inject(Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#).with_times(2));
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
                .with_times(2)
                .with_operation(Operation::CreateOrder),
        );
        let created = sandbox
            .client_builder()
            .retry_policy(
                RetryPolicy::default()
                    .with_initial_backoff(Duration::from_millis(10))
                    .with_max_backoff(Duration::from_millis(20)),
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
        sandbox.inject(Fault::gateway_502().with_times(0));
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
        sandbox.inject(Fault::drop_after_processing().with_operation(Operation::CreateOrder));

        let call = client.create_order(&t, &order);
        let key = call.idempotency_key().unwrap().clone();
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
        sandbox.inject(Fault::drop_after_processing().with_operation(Operation::CreateOrder));
        let created = sandbox
            .client_builder()
            .retry_policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(10)))
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
        sandbox.inject(Fault::drop_before_processing().with_times(2));
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
        sandbox.inject(Fault::drop_after_processing().with_operation(Operation::CancelToken));
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
            Fault::delay_after_processing(Duration::from_secs(3))
                .with_operation(Operation::CreateOrder),
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
        sandbox.inject(Fault::gateway_502().with_operation(Operation::ReadToken));
        sandbox.inject(Fault::drop_before_processing().with_operation(Operation::CancelToken));

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
        sandbox.inject(Fault::status(500, "{}").with_operation(Operation::CreateOrder));
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
