//! Success-side robustness: unknown values, odd cancel answers, undecodable orders.

use crate::support::errors::*;

#[tokio::test]
async fn unknown_token_values_decode_to_unknown() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({
                    "status": "FROZEN",
                    "payment_method_type": "CRYPTO",
                    "direct_debit": {"masked_number": "****1234", "brand": "SEPA"},
                    "new_field": {"nested": [1, 2, 3]},
                    "another": null
                }));
        })
        .await;
    let details = client(server.base_url()).read_token(&token()).await?;
    assert_eq!(details.status(), &TokenStatus::Unknown("FROZEN".into()));
    assert_eq!(
        details.payment_method_type(),
        &PaymentMethodType::Unknown("CRYPTO".into())
    );
    assert_eq!(
        details.direct_debit().map(|d| d.masked_number()),
        Some("****1234")
    );
    assert!(details.card().is_none());
    Ok(())
}

#[tokio::test]
async fn unknown_order_values_decode_to_unknown() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", "corr-ok")
                .json_body(json!({
                    "order_id": "order-1",
                    "fraud_status": "REVIEW",
                    "authorized_payment_method": {
                        "type": "new_thing",
                        "number_of_installments": 3,
                        "colour": "green"
                    },
                    "extra": "ignored",
                    "another_extra": {"a": 1}
                }));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let created = call.await?;
    assert_eq!(created.order_id(), "order-1");
    assert_eq!(
        created.fraud_status(),
        &FraudStatus::Unknown("REVIEW".into())
    );
    let method = created
        .authorized_payment_method()
        .expect("a payment method");
    assert_eq!(
        method.method_type(),
        &AuthorizedPaymentMethodType::Unknown("new_thing".into())
    );
    assert_eq!(method.number_of_installments(), Some(3));
    assert_eq!(method.number_of_days(), None);
    // No redirect_url in the body.
    assert_eq!(created.redirect_url(), None);
    assert_eq!(created.idempotency_key(), &key);
    assert_eq!(created.correlation_id(), Some("corr-ok"));
    assert_eq!(created.attempts(), 1);
    Ok(())
}

#[tokio::test]
async fn cancel_accepts_202_with_a_text_body() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(PATCH).path(STATUS_PATH);
            then.status(202)
                .header("content-type", "text/plain")
                .body("Accepted");
        })
        .await;
    client(server.base_url()).cancel_token(&token()).await?;
    mock.assert_calls_async(1).await;
    Ok(())
}

#[tokio::test]
async fn cancel_accepts_200() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(PATCH).path(STATUS_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"status": "CANCELLED"}));
        })
        .await;
    client(server.base_url()).cancel_token(&token()).await?;
    mock.assert_calls_async(1).await;

    // And a 204 with no body.
    server.reset_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(PATCH).path(STATUS_PATH);
            then.status(204);
        })
        .await;
    client(server.base_url()).cancel_token(&token()).await?;
    mock.assert_calls_async(1).await;
    Ok(())
}

async fn undecodable_order(body: &'static str, content_type: &str) -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", content_type)
                .header("Klarna-Correlation-Id", "corr-undecodable")
                .body(body);
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err(body);
    mock.assert_calls_async(1).await;
    let Error::UndecodableResponse(u) = &e else {
        panic!("expected UndecodableResponse, got {e:?}");
    };
    assert_eq!(u.status(), 200);
    assert_eq!(e.status(), Some(200));
    assert_eq!(u.raw_body(), body.as_bytes());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.correlation_id(), Some("corr-undecodable"));
    assert_eq!(e.error_code(), None);
    assert_eq!(e.attempts(), Some(1));
    assert!(!e.is_retryable());
    let shown = e.to_string();
    assert!(shown.contains("200"), "{shown}");
    assert!(shown.contains("the order was created"), "{shown}");
    assert!(
        shown.contains("do not retry with a new idempotency key"),
        "{shown}"
    );
    assert!(shown.contains(key.as_str()), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn created_order_with_a_wrongly_typed_field_is_undecodable_but_created() -> TestResult {
    undecodable_order(r#"{"order_id": 5}"#, "application/json").await
}

#[tokio::test]
async fn created_order_with_a_non_json_body_is_undecodable_but_created() -> TestResult {
    undecodable_order("not json", "text/plain").await
}

#[tokio::test]
async fn created_order_with_a_bad_field_names_its_path() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"order_id": "o-1", "fraud_status": 7}"#);
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("undecodable");
    let Error::UndecodableResponse(u) = &e else {
        panic!("expected UndecodableResponse, got {e:?}");
    };
    assert_eq!(u.path(), "fraud_status");
    assert!(e.to_string().contains("fraud_status"), "{e}");
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn read_token_missing_status_is_undecodable() -> TestResult {
    let server = MockServer::start_async().await;
    let body = r#"{"payment_method_type": "INVOICE"}"#;
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("undecodable");
    let Error::UndecodableResponse(u) = &e else {
        panic!("expected UndecodableResponse, got {e:?}");
    };
    assert_eq!(u.status(), 200);
    assert_eq!(u.raw_body(), body.as_bytes());
    assert_eq!(e.order_outcome(), None);
    assert_eq!(e.idempotency_key(), None);
    assert_eq!(e.operation(), Some(Operation::ReadToken));
    assert!(!e.is_retryable());
    let shown = e.to_string();
    assert!(shown.contains("status"), "{shown}");
    assert!(shown.contains("missing field"), "{shown}");
    assert!(!shown.contains("idempotency key"), "{shown}");
    assert_redacted(&e);
    Ok(())
}
