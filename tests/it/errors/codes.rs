//! Every documented error code, and unknown ones.

use crate::support::errors::*;

/// The api-reference table, for create-order.
const ORDER_ERRORS: &[(&str, u16)] = &[
    ("TOKEN_NOT_FOUND", 404),
    ("TOKEN_SUSPENDED", 403),
    ("TOKEN_CANCELLED", 403),
    ("TOKEN_FORBIDDEN", 403),
    ("UNAVAILABLE_PAYMENT_METHOD", 403),
    ("PAYMENT_METHOD_CURRENCY_MISMATCH", 403),
    ("PAYMENT_METHOD_FAILED", 403),
    ("BAD_REQUEST", 400),
    ("BAD_VALUE", 400),
    ("INTERNAL_SERVER_ERROR", 500),
    ("SERVICE_UNAVAILABLE", 503),
];

fn expected_code(code: &str) -> ErrorCode {
    match code {
        "TOKEN_NOT_FOUND" => ErrorCode::TokenNotFound,
        "NOT_FOUND" => ErrorCode::NotFound,
        "TOKEN_SUSPENDED" => ErrorCode::TokenSuspended,
        "TOKEN_CANCELLED" => ErrorCode::TokenCancelled,
        "TOKEN_FORBIDDEN" => ErrorCode::TokenForbidden,
        "UNAVAILABLE_PAYMENT_METHOD" => ErrorCode::UnavailablePaymentMethod,
        "PAYMENT_METHOD_CURRENCY_MISMATCH" => ErrorCode::PaymentMethodCurrencyMismatch,
        "PAYMENT_METHOD_FAILED" => ErrorCode::PaymentMethodFailed,
        "BAD_REQUEST" => ErrorCode::BadRequest,
        "BAD_VALUE" => ErrorCode::BadValue,
        "INTERNAL_SERVER_ERROR" => ErrorCode::InternalServerError,
        "SERVICE_UNAVAILABLE" => ErrorCode::ServiceUnavailable,
        other => panic!("no expectation for {other}"),
    }
}

#[tokio::test]
async fn create_order_maps_every_documented_error_code() -> TestResult {
    let server = MockServer::start_async().await;
    let client = client(server.base_url());
    let token = token();
    let order = order()?;

    for &(code, status) in ORDER_ERRORS {
        let message = format!("message for {code}");
        let correlation = format!("corr-{}", code.to_ascii_lowercase());
        let body = error_json(code, &message, &correlation);
        let mock = server
            .mock_async(|when, then| {
                when.method(POST).path(ORDER_PATH);
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body(body.clone());
            })
            .await;

        let call = client.create_order(&token, &order);
        let key = call.idempotency_key().unwrap().clone();
        let e = call.await.expect_err(code);
        mock.assert_calls_async(1).await;
        mock.delete_async().await;

        let a = api(&e);
        assert_eq!(e.status(), Some(status), "{code}");
        assert_eq!(a.status(), status, "{code}");
        assert_eq!(e.error_code(), Some(&expected_code(code)), "{code}");
        assert!(e.error_code().is_some_and(ErrorCode::is_known), "{code}");
        assert_eq!(a.error_messages(), [message.as_str()], "{code}");
        assert_eq!(e.correlation_id(), Some(correlation.as_str()), "{code}");
        assert_eq!(a.correlation_id(), Some(correlation.as_str()), "{code}");
        assert_eq!(a.raw_body(), body.to_string().as_bytes(), "{code}");
        assert_eq!(a.content_type(), Some("application/json"), "{code}");
        assert_eq!(e.operation(), Some(Operation::CreateOrder), "{code}");
        assert_eq!(e.attempts(), Some(1), "{code}");
        assert_eq!(e.idempotency_key(), Some(&key), "{code}");
        assert_eq!(e.retry_after(), None, "{code}");
        if status >= 500 {
            assert!(e.is_retryable(), "{code}");
            assert_eq!(
                e.order_outcome(),
                Some(OrderOutcome::MayHaveBeenCreated),
                "{code}"
            );
        } else {
            // PAYMENT_METHOD_FAILED "may be tried again" by the caller, but
            // it is never an automatic retry.
            assert!(!e.is_retryable(), "{code}");
            assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated), "{code}");
        }

        // Display: lowercase, operation, status, code, message, correlation
        // id, outcome and key.
        let shown = e.to_string();
        assert!(
            shown.starts_with("create_order for token …9e00 failed"),
            "{shown}"
        );
        assert!(shown.contains(&status.to_string()), "{shown}");
        assert!(shown.contains(code), "{shown}");
        assert!(shown.contains(&message), "{shown}");
        assert!(shown.contains(&correlation), "{shown}");
        assert!(shown.contains(key.as_str()), "{shown}");
        assert!(shown.contains("after 1 attempt"), "{shown}");
        let outcome = e.order_outcome().map(|o| o.to_string()).unwrap_or_default();
        assert!(shown.contains(&outcome), "{shown}");
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn read_token_not_found() -> TestResult {
    let server = MockServer::start_async().await;
    let body = error_json("NOT_FOUND", "Token not found", "corr-read-404");
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(404)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;

    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("404");
    mock.assert_calls_async(1).await;

    let a = api(&e);
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));
    assert_eq!(a.error_messages(), ["Token not found"]);
    assert_eq!(e.correlation_id(), Some("corr-read-404"));
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(!e.is_retryable());
    assert_eq!(e.operation(), Some(Operation::ReadToken));
    assert_eq!(e.order_outcome(), None);
    assert_eq!(e.idempotency_key(), None);
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(
        shown.starts_with("read_token for token …9e00 failed"),
        "{shown}"
    );
    assert!(
        shown.contains("404 NOT_FOUND: Token not found [correlation id corr-read-404]"),
        "{shown}"
    );
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn read_token_token_not_found_and_forbidden() -> TestResult {
    let server = MockServer::start_async().await;
    let client = client(server.base_url());
    let token = token();
    for (code, status) in [("TOKEN_NOT_FOUND", 404u16), ("TOKEN_FORBIDDEN", 403)] {
        let body = error_json(code, "nope", "corr-read");
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path(READ_PATH);
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body(body.clone());
            })
            .await;
        let e = client.read_token(&token).await.expect_err(code);
        mock.assert_calls_async(1).await;
        mock.delete_async().await;
        assert_eq!(e.status(), Some(status));
        assert_eq!(e.error_code(), Some(&expected_code(code)));
        assert_eq!(e.order_outcome(), None);
        assert!(!e.is_retryable());
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn cancel_token_forbidden_and_not_found() -> TestResult {
    let server = MockServer::start_async().await;
    let client = client(server.base_url());
    let token = token();
    for (code, status) in [
        ("TOKEN_CANCELLED", 403u16),
        ("TOKEN_FORBIDDEN", 403),
        ("TOKEN_NOT_FOUND", 404),
    ] {
        let message = format!("cancel refused: {code}");
        let body = error_json(code, &message, "corr-cancel");
        let mock = server
            .mock_async(|when, then| {
                when.method(PATCH)
                    .path(STATUS_PATH)
                    .json_body(json!({"status": "CANCELLED"}));
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body(body.clone());
            })
            .await;
        let e = client.cancel_token(&token).await.expect_err(code);
        mock.assert_calls_async(1).await;
        mock.delete_async().await;

        let a = api(&e);
        assert_eq!(e.status(), Some(status), "{code}");
        assert_eq!(e.error_code(), Some(&expected_code(code)), "{code}");
        assert_eq!(a.error_messages(), [message.as_str()], "{code}");
        assert_eq!(e.correlation_id(), Some("corr-cancel"), "{code}");
        assert_eq!(a.raw_body(), body.to_string().as_bytes(), "{code}");
        assert!(!e.is_retryable(), "{code}");
        assert_eq!(e.operation(), Some(Operation::CancelToken), "{code}");
        assert_eq!(e.order_outcome(), None, "{code}");
        assert_eq!(e.idempotency_key(), None, "{code}");
        assert_eq!(e.attempts(), Some(1), "{code}");
        let shown = e.to_string();
        assert!(
            shown.starts_with("cancel_token for token …9e00 failed"),
            "{shown}"
        );
        assert!(shown.contains(code) && shown.contains(&message), "{shown}");
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn unknown_error_code_is_kept() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .json_body(error_json("TOKEN_ON_HOLD", "later", "c-1"));
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("403");
    assert_eq!(
        e.error_code(),
        Some(&ErrorCode::Unknown("TOKEN_ON_HOLD".into()))
    );
    assert!(e.to_string().contains("TOKEN_ON_HOLD"));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn create_order_rejection_details_are_kept() -> TestResult {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "PAYMENT_METHOD_FAILED",
        "error_messages": ["declined"],
        "correlation_id": "c-2",
        "fraud_status": "REJECTED",
        "reason": "risk",
        "authorized_payment_method": {"type": "invoice", "number_of_days": 14},
        "service_version": "1.2.3"
    });
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("403");
    let a = api(&e);
    assert_eq!(a.error_code(), Some(&ErrorCode::PaymentMethodFailed));
    assert_eq!(a.fraud_status(), Some(&FraudStatus::Rejected));
    assert_eq!(a.reason(), Some("risk"));
    let method = a.authorized_payment_method().expect("a payment method");
    assert_eq!(method.method_type(), &AuthorizedPaymentMethodType::Invoice);
    assert_eq!(method.number_of_days(), Some(14));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_redacted(&e);
    Ok(())
}
