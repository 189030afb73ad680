//! Connection failures and timeouts.

use crate::support::errors::*;

#[tokio::test]
async fn connection_refused() -> TestResult {
    let base_url = format!("http://127.0.0.1:{}", closed_port());
    let client = client(base_url);
    let token = token();
    let order = order()?;

    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("refused");
    let Error::Connection(t) = &e else {
        panic!("expected Error::Connection, got {e:?}");
    };
    assert!(!t.may_have_been_sent());
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
    assert_eq!(e.error_code(), None);
    assert_eq!(e.correlation_id(), None);
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.operation(), Some(Operation::CreateOrder));
    let shown = e.to_string();
    assert!(shown.contains("connect"), "{shown}");
    assert!(shown.contains("the order was not created"), "{shown}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "a connection error keeps its cause"
    );
    assert_redacted(&e);

    for (e, op) in [
        (
            client.read_token(&token).await.expect_err("refused"),
            Operation::ReadToken,
        ),
        (
            client.cancel_token(&token).await.expect_err("refused"),
            Operation::CancelToken,
        ),
    ] {
        assert!(matches!(e, Error::Connection(_)), "{e:?}");
        assert!(e.is_retryable());
        assert_eq!(e.operation(), Some(op));
        assert_eq!(e.order_outcome(), None);
        assert_eq!(e.idempotency_key(), None);
        assert_eq!(e.attempts(), Some(1));
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn connection_refused_with_retries_is_still_not_created() -> TestResult {
    let base_url = format!("http://127.0.0.1:{}", closed_port());
    let order = order()?;
    let client = retrying_client(base_url, 2);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("refused");
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
    assert_redacted(&e);
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. Timeout
// ---------------------------------------------------------------------------

#[tokio::test]
async fn attempt_timeout() -> TestResult {
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
    let client = client(server.base_url());
    let token = token();
    let call = client
        .create_order(&token, &order)
        .with_attempt_timeout(Duration::from_millis(100));
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("timeout");
    mock.assert_calls_async(1).await;
    let Error::Timeout(t) = &e else {
        panic!("expected Error::Timeout, got {e:?}");
    };
    assert!(t.may_have_been_sent());
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("timed out"), "{shown}");
    assert!(shown.contains("may have been created"), "{shown}");
    assert!(shown.contains(key.as_str()), "{shown}");
    assert_redacted(&e);

    // Read-token times out the same way, with no order outcome.
    let read = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"status": "ACTIVE", "payment_method_type": "INVOICE"}))
                .delay(Duration::from_millis(800));
        })
        .await;
    let e = client
        .read_token(&token)
        .with_attempt_timeout(Duration::from_millis(100))
        .await
        .expect_err("timeout");
    read.assert_calls_async(1).await;
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert_eq!(e.order_outcome(), None);
    assert_redacted(&e);
    Ok(())
}
