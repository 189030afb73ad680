//! Message and correlation id shapes.

use crate::support::errors::*;

#[tokio::test]
async fn single_error_message_string() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(400)
                .header("content-type", "application/json")
                .json_body(json!({
                    "error_code": "BAD_VALUE",
                    "error_message": "Bad value: order_lines[0].tax_rate",
                    "correlation_id": "corr-single"
                }));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("400");
    let a = api(&e);
    assert_eq!(e.error_code(), Some(&ErrorCode::BadValue));
    assert_eq!(a.error_messages(), ["Bad value: order_lines[0].tax_rate"]);
    assert_eq!(e.correlation_id(), Some("corr-single"));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    let shown = e.to_string();
    assert!(
        shown.contains("400 BAD_VALUE: Bad value: order_lines[0].tax_rate"),
        "{shown}"
    );
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn several_messages_are_all_shown() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(400)
                .header("content-type", "application/json")
                .json_body(json!({
                    "error_code": "BAD_VALUE",
                    "error_messages": ["Bad value: purchase_currency", "Bad value: order_amount"],
                    "correlation_id": "c-3"
                }));
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("400");
    assert_eq!(
        api(&e).error_messages(),
        ["Bad value: purchase_currency", "Bad value: order_amount"]
    );
    let shown = e.to_string();
    assert!(shown.contains("Bad value: purchase_currency"), "{shown}");
    assert!(shown.contains("Bad value: order_amount"), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn correlation_id_from_header_only() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", "corr-from-header")
                .json_body(json!({
                    "error_code": "TOKEN_SUSPENDED",
                    "error_messages": ["suspended"]
                }));
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("403");
    assert_eq!(e.error_code(), Some(&ErrorCode::TokenSuspended));
    assert_eq!(e.correlation_id(), Some("corr-from-header"));
    assert_eq!(api(&e).correlation_id(), Some("corr-from-header"));
    assert!(e.to_string().contains("corr-from-header"));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn correlation_id_in_body_wins_over_header() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", "corr-from-header")
                .json_body(error_json("TOKEN_CANCELLED", "cancelled", "corr-from-body"));
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("403");
    assert_eq!(e.correlation_id(), Some("corr-from-body"));
    let shown = e.to_string();
    assert!(shown.contains("corr-from-body"), "{shown}");
    assert!(!shown.contains("corr-from-header"), "{shown}");
    assert_redacted(&e);
    Ok(())
}
