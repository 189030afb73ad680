//! Retries (the only tests here with retries on).

use crate::support::errors::*;

#[tokio::test]
async fn retried_503_keeps_the_key_and_counts_attempts() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 2);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(ORDER_PATH)
                .header("Klarna-Idempotency-Key", key.as_str());
            then.status(503)
                .header("content-type", "application/json")
                .json_body(error_json("SERVICE_UNAVAILABLE", "try later", "corr-503"));
        })
        .await;
    let e = call.await.expect_err("503");
    mock.assert_calls_async(3).await;
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.error_code(), Some(&ErrorCode::ServiceUnavailable));
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn client_errors_are_not_retried() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 3);
    for (code, status) in [("BAD_VALUE", 400u16), ("PAYMENT_METHOD_FAILED", 403)] {
        let mock = server
            .mock_async(|when, then| {
                when.method(POST).path(ORDER_PATH);
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body(error_json(code, "no", "c"));
            })
            .await;
        let e = client.create_order(&token(), &order).await.expect_err(code);
        mock.assert_calls_async(1).await;
        mock.delete_async().await;
        assert_eq!(e.attempts(), Some(1), "{code}");
        assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated), "{code}");
    }
    Ok(())
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_at_once() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(429).header("Retry-After", "7");
        })
        .await;
    let client = Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(server.base_url())
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(3)
                .with_deadline(Duration::from_secs(2)),
        )
        .build()?;
    let order = order()?;
    let started = std::time::Instant::now();
    let e = client
        .create_order(&token(), &order)
        .await
        .expect_err("429");
    assert!(started.elapsed() < Duration::from_secs(2));
    mock.assert_calls_async(1).await;
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.attempts(), Some(1));
    assert!(e.is_retryable());
    // Every attempt was refused with a 429: nothing was processed.
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn retried_timeouts_may_have_created_the_order() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"order_id": "late", "fraud_status": "ACCEPTED"}))
                .delay(Duration::from_millis(800));
        })
        .await;
    let order = order()?;
    let e = retrying_client(server.base_url(), 1)
        .create_order(&token(), &order)
        .with_attempt_timeout(Duration::from_millis(100))
        .await
        .expect_err("timeout");
    mock.assert_calls_async(2).await;
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert_eq!(e.attempts(), Some(2));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_redacted(&e);
    Ok(())
}

/// A 5xx that is not in the retried list is retried only when its body is
/// not JSON. `Error::is_retryable` must agree with what the client did.
#[tokio::test]
async fn is_retryable_agrees_with_the_retry_loop_for_other_5xx() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 1);

    // A JSON body: final, not retried.
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(507)
                .header("content-type", "application/json")
                .json_body(error_json("INSUFFICIENT_STORAGE", "full", "c"));
        })
        .await;
    let e = client
        .create_order(&token(), &order)
        .await
        .expect_err("507");
    mock.assert_calls_async(1).await;
    mock.delete_async().await;
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));

    // A gateway page: retried.
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(507)
                .header("content-type", "text/html")
                .body("<html>507</html>");
        })
        .await;
    let e = client
        .create_order(&token(), &order)
        .await
        .expect_err("507");
    mock.assert_calls_async(2).await;
    assert!(e.is_retryable());
    assert_eq!(e.attempts(), Some(2));
    Ok(())
}
