//! Helpers shared by the tests that steer a sandbox.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use klarna_customer_token::sandbox::credentials;
use klarna_customer_token::{OrderLine, OrderRequest};

/// How long one test may take.
pub const TEST_BOUND: Duration = Duration::from_secs(60);

/// Runs a test body, failing it past [`TEST_BOUND`] of real time.
pub async fn within<F: Future>(body: F) -> F::Output {
    within_for(TEST_BOUND, body).await
}

/// Runs a test body, failing it past `bound` of real time.
pub async fn within_for<F: Future>(bound: Duration, body: F) -> F::Output {
    match tokio::time::timeout(bound, body).await {
        Ok(output) => output,
        Err(_) => panic!("the test did not finish within {bound:?}"),
    }
}

/// A valid one-line order.
pub fn order() -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Gold plan")
                .quantity(1)
                .unit_price(1190)
                .tax_rate(1900)
                .build()
                .expect("line"),
        )
        .build()
        .expect("order")
}

/// The sandbox's Basic credentials, encoded.
pub fn basic_value() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::USERNAME,
        credentials::PASSWORD
    ))
}

/// The sandbox's credentials as an `Authorization` header value.
pub fn basic_header() -> String {
    format!("Basic {}", basic_value())
}

/// POSTs a create-order request with this `Authorization` value and key,
/// as a client in another language would.
pub async fn raw_create(
    base_url: &str,
    token: &str,
    authorization: &str,
    key: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base_url}/customer-token/v1/tokens/{token}/order"))
        .header("authorization", authorization)
        .header("content-type", "application/json")
        .header("klarna-idempotency-key", key)
        .body(order().to_json())
        .send()
        .await
        .expect("an answer")
}
