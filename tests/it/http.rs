//! The exact requests the client sends, per operation, checked against an
//! httpmock server on 127.0.0.1.

use std::collections::BTreeSet;

use crate::support::fixtures::{SHOE_ORDER_JSON as ORDER_JSON, TOKEN, client, shoe_order, token};

use httpmock::HttpMockRequest;
use httpmock::prelude::*;
use klarna_customer_token::{
    Client, CustomerToken, FraudStatus, IdempotencyKey, OrderRequest, PaymentMethodType,
    TokenStatus,
};

/// base64("K123456_abcd12345:shared-secret")
const BASIC: &str = "Basic SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA==";

fn order() -> OrderRequest {
    shoe_order().expect("order")
}

/// Header names of a request, lowercased.
fn header_names(req: &HttpMockRequest) -> BTreeSet<String> {
    req.headers_vec()
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect()
}

fn user_agent_ok(req: &HttpMockRequest) -> bool {
    req.headers_vec().iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("user-agent")
            && value.starts_with(&format!(
                "Library/klarna-customer-token_{} Language/Rust_",
                env!("CARGO_PKG_VERSION")
            ))
            && value.contains(" OS/")
    })
}

fn exactly(names: &[&str]) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    let expected: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    move |req| header_names(req) == expected
}

#[tokio::test]
async fn read_token_sends_exactly_the_promised_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/customer-token/v1/tokens/{TOKEN}"))
                .header("authorization", BASIC)
                .header("accept", "application/json")
                .header_missing("api-version")
                .header_missing("content-type")
                .header_missing("klarna-idempotency-key")
                .is_true(exactly(&["host", "authorization", "user-agent", "accept"]))
                .is_true(user_agent_ok)
                .is_true(|req: &HttpMockRequest| req.body_ref().is_empty());
            then.status(200)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", "corr-1")
                .body(
                    r#"{"card":{"brand":"VISA","expiry_date":"12/2030","masked_number":"************1234"},"payment_method_type":"CARD","status":"ACTIVE"}"#,
                );
        })
        .await;
    let details = client(server.base_url())
        .read_token(&token())
        .await
        .expect("read");
    mock.assert_calls_async(1).await;
    assert_eq!(details.status(), &TokenStatus::Active);
    assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
    let card = details.card().expect("card");
    assert_eq!(card.brand(), "VISA");
    assert_eq!(card.expiry_date(), "12/2030");
    assert_eq!(card.masked_number(), "************1234");
    assert!(details.direct_debit().is_none());
}

#[tokio::test]
async fn create_order_sends_exactly_the_promised_request() {
    let server = MockServer::start_async().await;
    let key = IdempotencyKey::new("caller-key-42").expect("key");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/customer-token/v1/tokens/{TOKEN}/order"))
                .header("authorization", BASIC)
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .header("klarna-idempotency-key", "caller-key-42")
                .header("content-length", ORDER_JSON.len().to_string())
                .header_missing("api-version")
                .is_true(exactly(&[
                    "host",
                    "authorization",
                    "user-agent",
                    "accept",
                    "content-type",
                    "content-length",
                    "klarna-idempotency-key",
                ]))
                .is_true(user_agent_ok)
                .body(ORDER_JSON);
            then.status(200)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", "corr-2")
                .body(
                    r#"{"order_id":"ord-1","fraud_status":"ACCEPTED","redirect_url":"https://credit.klarna.com/v1/sessions/x/redirect","authorized_payment_method":{"type":"invoice","number_of_days":14}}"#,
                );
        })
        .await;
    let order = order();
    let client = client(server.base_url());
    let token = token();
    let created = client
        .create_order(&token, &order)
        .with_idempotency_key(key.clone())
        .await
        .expect("create");
    mock.assert_calls_async(1).await;
    assert_eq!(created.order_id(), "ord-1");
    assert_eq!(created.fraud_status(), &FraudStatus::Accepted);
    assert_eq!(
        created.redirect_url(),
        Some("https://credit.klarna.com/v1/sessions/x/redirect")
    );
    let method = created.authorized_payment_method().expect("method");
    assert_eq!(method.method_type().as_str(), "invoice");
    assert_eq!(method.number_of_days(), Some(14));
    assert_eq!(created.idempotency_key(), &key);
    assert_eq!(created.correlation_id(), Some("corr-2"));
}

#[tokio::test]
async fn create_order_without_a_caller_key_sends_the_generated_one() {
    let server = MockServer::start_async().await;
    let client = client(server.base_url());
    let token = token();
    let order = order();
    let call = client.create_order(&token, &order);
    // The key exists before the first await.
    let key = call.idempotency_key().unwrap().clone();
    let parsed = uuid_version(key.as_str());
    assert_eq!(parsed, Some(4), "{key}");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .header("klarna-idempotency-key", key.as_str())
                .body(ORDER_JSON);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"order_id":"ord-2","fraud_status":"PENDING"}"#);
        })
        .await;
    let created = call.await.expect("create");
    mock.assert_calls_async(1).await;
    assert_eq!(created.idempotency_key(), &key);
    assert_eq!(created.fraud_status(), &FraudStatus::Pending);
    assert_eq!(created.redirect_url(), None);
}

fn uuid_version(s: &str) -> Option<u32> {
    // 8-4-4-4-12 hex; the version is the first digit of the third group.
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != 5 || groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    groups[2].chars().next().and_then(|c| c.to_digit(16))
}

#[tokio::test]
async fn each_call_gets_its_own_key_and_a_caller_key_never_leaks() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"order_id":"ord","fraud_status":"ACCEPTED"}"#);
        })
        .await;
    let client = client(server.base_url());
    let token = token();
    let order = order();
    let mine = IdempotencyKey::new("mine-1").expect("key");
    let first = client
        .create_order(&token, &order)
        .with_idempotency_key(mine.clone())
        .await
        .expect("first");
    let second = client.create_order(&token, &order).await.expect("second");
    let third = client.create_order(&token, &order).await.expect("third");
    mock.assert_calls_async(3).await;
    assert_eq!(first.idempotency_key(), &mine);
    assert_ne!(second.idempotency_key(), &mine);
    assert_ne!(third.idempotency_key(), &mine);
    assert_ne!(second.idempotency_key(), third.idempotency_key());
}

#[tokio::test]
async fn cancel_token_sends_exactly_the_promised_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path(format!("/customer-token/v1/tokens/{TOKEN}/status"))
                .header("authorization", BASIC)
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .header_missing("api-version")
                .header_missing("klarna-idempotency-key")
                .is_true(exactly(&[
                    "host",
                    "authorization",
                    "user-agent",
                    "accept",
                    "content-type",
                    "content-length",
                ]))
                .is_true(user_agent_ok)
                .body(r#"{"status":"CANCELLED"}"#);
            then.status(202);
        })
        .await;
    client(server.base_url())
        .cancel_token(&token())
        .await
        .expect("cancel");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn api_keys_are_sent_verbatim() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .header("authorization", "Basic klarna_test_api_c2VjcmV0");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"payment_method_type":"INVOICE","status":"SUSPENDED"}"#);
        })
        .await;
    let client = Client::builder()
        .api_key("klarna_test_api_c2VjcmV0")
        .base_url(server.base_url())
        .build()
        .expect("client");
    let details = client.read_token(&token()).await.expect("read");
    mock.assert_calls_async(1).await;
    assert_eq!(details.status(), &TokenStatus::Suspended);
    assert_eq!(details.payment_method_type(), &PaymentMethodType::Invoice);
}

#[tokio::test]
async fn user_agent_suffix_is_appended() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).is_true(|req: &HttpMockRequest| {
                req.headers_vec().iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("user-agent")
                        && value.starts_with("Library/klarna-customer-token_")
                        && value.ends_with(" Platform/acme-billing_2.1")
                })
            });
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"payment_method_type":"INVOICE","status":"ACTIVE"}"#);
        })
        .await;
    let client = Client::builder()
        .basic_auth("u", "p")
        .base_url(server.base_url())
        .user_agent_suffix("Platform/acme-billing_2.1")
        .build()
        .expect("client");
    client.read_token(&token()).await.expect("read");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_trailing_slash_and_a_path_prefix_never_produce_a_double_slash() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/proxy/customer-token/v1/tokens/{TOKEN}"))
                .is_true(|req: &HttpMockRequest| !req.uri().path().contains("//"));
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"payment_method_type":"INVOICE","status":"ACTIVE"}"#);
        })
        .await;
    for base in [
        format!("{}/proxy/", server.base_url()),
        format!("{}/proxy//", server.base_url()),
        format!("{}/proxy", server.base_url()),
    ] {
        let client = Client::builder()
            .basic_auth("u", "p")
            .base_url(base)
            .build()
            .expect("client");
        client.read_token(&token()).await.expect("read");
    }
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn an_invalid_order_is_never_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let bad = OrderRequest::from_json(
        br#"{"order_amount":0,"order_tax_amount":0,"purchase_currency":"GBP",
             "order_lines":[{"name":"x","quantity":1,"unit_price":0,"total_amount":0}]}"#,
    )
    .expect("parse");
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &bad);
    let key = call.idempotency_key().unwrap().clone();
    let err = call.await.expect_err("invalid");
    let violations = err.validation().expect("validation error");
    assert!(violations.at("order_amount").is_some(), "{err}");
    // Like every create-order error, it carries the key and the outcome.
    assert_eq!(err.idempotency_key(), Some(&key));
    assert_eq!(
        err.order_outcome(),
        Some(klarna_customer_token::OrderOutcome::NotCreated)
    );
    assert_eq!(err.attempts(), Some(0));
    mock.assert_calls_async(0).await;
}

#[test]
fn call_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = Client::builder()
        .basic_auth("u", "p")
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("client");
    let token = token();
    let order = order();
    {
        let read = std::future::IntoFuture::into_future(client.read_token(&token));
        let create = std::future::IntoFuture::into_future(client.create_order(&token, &order));
        let cancel = std::future::IntoFuture::into_future(client.cancel_token(&token));
        assert_send(&read);
        assert_send(&create);
        assert_send(&cancel);
    }
    // A spawned task needs 'static + Send.
    let owned = async move {
        let token = CustomerToken::new(TOKEN)?;
        client.read_token(&token).await.map(|_| ())
    };
    fn assert_spawnable<F: std::future::Future + Send + 'static>(_: &F) {}
    assert_spawnable(&owned);
}
