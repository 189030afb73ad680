//! How every failure Klarna (or a gateway, or the network) can produce
//! reaches the caller: the `Error` variant, its status, code, messages,
//! correlation id, raw body, retryability, order outcome, idempotency key and
//! attempt count — and that nothing it shows leaks the token or the
//! credentials.
//!
//! Every test runs against a local `httpmock` server on 127.0.0.1.

use std::time::Duration;

use httpmock::Method::{GET, PATCH, POST};
use httpmock::MockServer;
use klarna_customer_token::{
    AuthorizedPaymentMethodType, Client, CustomerToken, Error, ErrorCode, FraudStatus, Operation,
    OrderLine, OrderOutcome, OrderRequest, PaymentMethodType, RetryPolicy, TokenStatus,
};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";
const REDACTED: &str = "…9e00";
const USERNAME: &str = "K123456_abcd12345";
const PASSWORD: &str = "shared-secret";
/// base64("K123456_abcd12345:shared-secret")
const BASIC_B64: &str = "SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA==";

const READ_PATH: &str = "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00";
const ORDER_PATH: &str = "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00/order";
const STATUS_PATH: &str = "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00/status";

fn client(base_url: impl Into<String>) -> Client {
    Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(base_url)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("the client builds")
}

/// A client that retries quickly, for the tests that exercise retries.
fn retrying_client(base_url: impl Into<String>, retries: u32) -> Client {
    Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(base_url)
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(retries)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .build()
        .expect("the client builds")
}

fn token() -> CustomerToken {
    CustomerToken::new(TOKEN).expect("a valid token")
}

fn order() -> Result<OrderRequest, Error> {
    OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()?,
        )
        .build()
}

fn error_json(code: &str, message: &str, correlation_id: &str) -> serde_json::Value {
    json!({
        "error_code": code,
        "error_messages": [message],
        "correlation_id": correlation_id,
    })
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

/// The checks every error must pass: `Display` starts lowercase and shows
/// the token only redacted; neither `Display`, `Debug` nor any error in the
/// `source()` chain holds the token, the username, the password or the
/// encoded credentials.
fn assert_redacted(e: &Error) {
    let shown = format!("{e}");
    let debug = format!("{e:?}");
    assert!(
        shown.chars().next().is_some_and(char::is_lowercase),
        "Display must start lowercase: {shown}"
    );
    let mut texts = vec![shown.clone(), debug.clone()];
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    for text in &texts {
        for secret in [TOKEN, USERNAME, PASSWORD, BASIC_B64] {
            assert!(!text.contains(secret), "{secret:?} leaked into {text}");
        }
    }
    assert!(shown.contains(REDACTED), "no redacted token in {shown}");
    assert!(debug.contains(REDACTED), "no redacted token in {debug}");
}

/// The `ApiError` inside an `Error::Api`, or a panic naming what came
/// instead.
fn api(e: &Error) -> &klarna_customer_token::ApiError {
    match e {
        Error::Api(api) => api,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Every documented error code
// ---------------------------------------------------------------------------

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
        let key = call.idempotency_key().clone();
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

// ---------------------------------------------------------------------------
// 2. Message and correlation id shapes
// ---------------------------------------------------------------------------

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
    let key = call.idempotency_key().clone();
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

// ---------------------------------------------------------------------------
// 3. Statuses with unusual bodies
// ---------------------------------------------------------------------------

const HTML_401: &str = "<html><body>401 Authorization Required</body></html>";

#[tokio::test]
async fn html_401_keeps_status_and_body() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("401");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(e.correlation_id(), None);
    assert_eq!(a.raw_body(), HTML_401.as_bytes());
    assert_eq!(a.content_type(), Some("text/html"));
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("401"), "{shown}");
    assert!(shown.contains("text/html"), "{shown}");
    assert!(shown.contains("401 Authorization Required"), "{shown}");
    assert_redacted(&e);

    Ok(())
}

#[tokio::test]
async fn html_401_on_read_and_cancel() -> TestResult {
    let server = MockServer::start_async().await;
    let read = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let cancel = server
        .mock_async(|when, then| {
            when.method(PATCH).path(STATUS_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let client = client(server.base_url());
    let token = token();
    for e in [
        client.read_token(&token).await.expect_err("401"),
        client.cancel_token(&token).await.expect_err("401"),
    ] {
        assert_eq!(e.status(), Some(401));
        assert_eq!(api(&e).raw_body(), HTML_401.as_bytes());
        assert_eq!(e.order_outcome(), None);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("401"));
        assert_redacted(&e);
    }
    read.assert_calls_async(1).await;
    cancel.assert_calls_async(1).await;
    Ok(())
}

#[tokio::test]
async fn conflict_409_is_final() -> TestResult {
    let server = MockServer::start_async().await;
    let body = error_json(
        "BAD_REQUEST",
        "Idempotency key does not match the session",
        "corr-409",
    );
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(409)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    // Even with retries on, a 409 is not retried.
    let client = retrying_client(server.base_url(), 2);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("409");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.error_code(), Some(&ErrorCode::BadRequest));
    assert_eq!(
        a.error_messages(),
        ["Idempotency key does not match the session"]
    );
    assert_eq!(e.correlation_id(), Some("corr-409"));
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn unprocessable_422() -> TestResult {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "VALIDATION_ERROR",
        "error_messages": ["order_amount does not match the lines"],
        "correlation_id": "corr-422"
    });
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(422)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("422");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(422));
    assert_eq!(
        e.error_code(),
        Some(&ErrorCode::Unknown("VALIDATION_ERROR".into()))
    );
    assert_eq!(
        a.error_messages(),
        ["order_amount does not match the lines"]
    );
    assert_eq!(e.correlation_id(), Some("corr-422"));
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    let shown = e.to_string();
    assert!(shown.contains("422 VALIDATION_ERROR"), "{shown}");
    assert_redacted(&e);

    // A 422 with an empty body (the one that crashed an older SDK).
    server.reset_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(422);
        })
        .await;
    let e = client.create_order(&token, &order).await.expect_err("422");
    assert_eq!(e.status(), Some(422));
    assert_eq!(e.error_code(), None);
    assert!(api(&e).raw_body().is_empty());
    assert!(api(&e).error_messages().is_empty());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert!(e.to_string().contains("422"));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn rate_limited_429_carries_retry_after() -> TestResult {
    let server = MockServer::start_async().await;
    let body = error_json("RATE_LIMITED", "Too many requests", "corr-429");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(429)
                .header("content-type", "application/json")
                .header("Retry-After", "7")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("429");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(429));
    assert_eq!(
        e.error_code(),
        Some(&ErrorCode::Unknown("RATE_LIMITED".into()))
    );
    assert_eq!(a.error_messages(), ["Too many requests"]);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(a.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_retryable());
    // A final 429 is the gateway's refusal before processing: definitive.
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("429"), "{shown}");
    assert!(shown.contains("7s"), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn rate_limit_reset_header_is_read_for_read_token() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(429)
                .header("X-Ratelimit-Limit", "50")
                .header("X-Ratelimit-Remaining", "0")
                .header("X-Ratelimit-Reset", "3");
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("429");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), None);
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn plain_text_503() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(503)
                .header("content-type", "text/plain")
                .body("Service Unavailable");
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("503");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(e.correlation_id(), None);
    assert_eq!(a.raw_body(), b"Service Unavailable");
    assert_eq!(a.content_type(), Some("text/plain"));
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("503"), "{shown}");
    assert!(shown.contains("Service Unavailable"), "{shown}");
    assert!(shown.contains("may have been created"), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn html_502_from_a_gateway() -> TestResult {
    let server = MockServer::start_async().await;
    let page = "<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center></body></html>";
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(502)
                .header("content-type", "text/html")
                .body(page);
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("502");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(502));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(a.raw_body(), page.as_bytes());
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    let shown = e.to_string();
    assert!(shown.contains("502 Bad Gateway"), "{shown}");
    // The preview is a single line.
    assert!(!shown.contains('\n'), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn redirect_is_not_followed() -> TestResult {
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"order_id": "stolen", "fraud_status": "ACCEPTED"}));
        })
        .await;
    let redirect = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(302)
                .header("Location", server.url("/elsewhere"));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("302");
    redirect.assert_calls_async(1).await;
    elsewhere.assert_calls_async(0).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(302));
    assert_eq!(e.error_code(), None);
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    assert!(a.raw_body().is_empty());
    assert!(e.to_string().contains("302"));
    assert_redacted(&e);

    // The same for read-token.
    let read_redirect = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(301)
                .header("Location", server.url("/elsewhere"));
        })
        .await;
    let e = client.read_token(&token).await.expect_err("301");
    read_redirect.assert_calls_async(1).await;
    elsewhere.assert_calls_async(0).await;
    assert_eq!(e.status(), Some(301));
    assert_redacted(&e);
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. Success-side robustness
// ---------------------------------------------------------------------------

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
    let key = call.idempotency_key().clone();
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
    let key = call.idempotency_key().clone();
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

// ---------------------------------------------------------------------------
// 5. Connection failure
// ---------------------------------------------------------------------------

#[tokio::test]
async fn connection_refused() -> TestResult {
    let base_url = format!("http://127.0.0.1:{}", closed_port());
    let client = client(base_url);
    let token = token();
    let order = order()?;

    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
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
    let key = call.idempotency_key().clone();
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
    let key = call.idempotency_key().clone();
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

// ---------------------------------------------------------------------------
// Retries (the only tests with retries on)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn retried_503_keeps_the_key_and_counts_attempts() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 2);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
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

// ---------------------------------------------------------------------------
// 7. Redaction
// ---------------------------------------------------------------------------

#[tokio::test]
async fn html_404_echoing_the_token_is_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let page = format!(
        "<html><body><h1>404 Not Found</h1><p>The requested URL {READ_PATH} was not found. Token {TOKEN} is unknown.</p></body></html>"
    );
    server
        .mock_async(|when, then| {
            when.path_includes(TOKEN);
            then.status(404)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let client = client(server.base_url());
    let token = token();
    let order = order()?;
    for e in [
        client.read_token(&token).await.expect_err("404"),
        client.create_order(&token, &order).await.expect_err("404"),
        client.cancel_token(&token).await.expect_err("404"),
    ] {
        let a = api(&e);
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.error_code(), None);
        // The raw body is kept verbatim, token and all.
        assert_eq!(a.raw_body(), page.as_bytes());
        assert!(String::from_utf8_lossy(a.raw_body()).contains(TOKEN));
        let shown = e.to_string();
        assert!(shown.contains("404 Not Found"), "{shown}");
        assert!(shown.contains("Token …9e00 is unknown"), "{shown}");
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn json_messages_echoing_the_token_are_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "TOKEN_NOT_FOUND",
        "error_messages": [format!("Customer token {TOKEN} was not found")],
        "error_message": format!("token={TOKEN}"),
        "correlation_id": "corr-echo"
    });
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(404)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("404");
    let a = api(&e);
    assert_eq!(e.error_code(), Some(&ErrorCode::TokenNotFound));
    assert_eq!(
        a.error_messages(),
        [
            "Customer token …9e00 was not found".to_owned(),
            "token=…9e00".to_owned()
        ]
    );
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(String::from_utf8_lossy(a.raw_body()).contains(TOKEN));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn long_bodies_are_cut_short_in_messages() -> TestResult {
    let server = MockServer::start_async().await;
    let page = format!("<html>{}{TOKEN}</html>", "x ".repeat(500));
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(500)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("500");
    assert_eq!(api(&e).raw_body(), page.as_bytes());
    let shown = e.to_string();
    assert!(shown.len() < page.len(), "{shown}");
    assert!(shown.contains('…'), "{shown}");
    assert_redacted(&e);
    Ok(())
}

/// A create-order success body whose integer field holds a string: serde
/// echoes the string in its error, which the Display and Debug of
/// `UndecodableResponse` include.
#[tokio::test]
async fn undecodable_body_echoing_the_token_is_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let body = format!(
        r#"{{"order_id":"o-1","fraud_status":"ACCEPTED","authorized_payment_method":{{"type":"card","number_of_installments":"{TOKEN}"}}}}"#
    );
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(body.clone());
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
    assert_eq!(u.raw_body(), body.as_bytes());
    assert_eq!(u.path(), "authorized_payment_method.number_of_installments");
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn credentials_never_appear_even_when_echoed() -> TestResult {
    // A gateway that echoes the Authorization header it received.
    let server = MockServer::start_async().await;
    let page = format!(
        "<html><body>401: bad credentials Basic {BASIC_B64} for user {USERNAME}</body></html>"
    );
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("401");
    assert_eq!(e.status(), Some(401));
    assert_eq!(api(&e).raw_body(), page.as_bytes());
    assert_redacted(&e);
    Ok(())
}

// ---------------------------------------------------------------------------
// 8. Display
// ---------------------------------------------------------------------------

#[tokio::test]
async fn display_is_one_lowercase_sentence_with_code_and_messages() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .json_body(error_json(
                    "TOKEN_CANCELLED",
                    "The token has been cancelled",
                    "corr-display",
                ));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    let e = call.await.expect_err("403");
    assert_eq!(
        e.to_string(),
        format!(
            "create_order for token …9e00 failed: klarna answered 403 TOKEN_CANCELLED: \
             The token has been cancelled [correlation id corr-display] (after 1 attempt); \
             the order was not created; idempotency key {key}"
        )
    );
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn error_code_and_correlation_id_echoing_the_token_are_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", TOKEN)
                .json_body(json!({
                    "error_code": format!("TOKEN_{TOKEN}_FORBIDDEN"),
                    "error_messages": ["forbidden"]
                }));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let e = client.create_order(&token, &order).await.expect_err("403");
    assert_eq!(e.status(), Some(403));
    assert_redacted(&e);
    Ok(())
}

/// A 5xx outside the fixed list whose content type and body disagree (a
/// body labelled JSON that is not JSON, or the reverse): whatever the rule,
/// `Error::is_retryable` must say what the retry loop did.
#[tokio::test]
async fn is_retryable_agrees_with_the_retry_loop_for_mislabelled_5xx() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 1);
    let token = token();
    for (content_type, body) in [
        ("application/json", "<html>507</html>"),
        ("text/html", "{}"),
    ] {
        let mock = server
            .mock_async(|when, then| {
                when.method(POST).path(ORDER_PATH);
                then.status(507)
                    .header("content-type", content_type)
                    .body(body);
            })
            .await;
        let e = client.create_order(&token, &order).await.expect_err("507");
        let retried = mock.calls_async().await > 1;
        mock.delete_async().await;
        assert_eq!(e.attempts(), Some(if retried { 2 } else { 1 }));
        assert_eq!(
            e.is_retryable(),
            retried,
            "{content_type} body {body:?}: retried={retried} but is_retryable()={}",
            e.is_retryable()
        );
    }
    Ok(())
}
