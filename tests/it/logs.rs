//! Logs never show a credential or a full customer token.

use std::time::Duration;

use crate::support::capture::Capture;

use httpmock::prelude::*;
use klarna_customer_token::{Client, CustomerToken, OrderLine, OrderRequest, RetryPolicy};

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

#[tokio::test]
async fn logs_show_neither_secrets_nor_full_tokens() {
    let capture = Capture::default();
    let _guard = capture.install();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(404)
                .header("content-type", "text/html")
                .body(format!("<html>no token {TOKEN} here</html>"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(503)
                .header("content-type", "text/plain")
                .body(format!("overloaded while serving {TOKEN}"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PATCH);
            then.status(202).delay(Duration::from_millis(400));
        })
        .await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(server.base_url())
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .attempt_timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let token = CustomerToken::new(TOKEN).expect("token");
    let order = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Plan")
                .quantity(1)
                .unit_price(1000)
                .build()
                .expect("line"),
        )
        .build()
        .expect("order");
    assert!(client.read_token(&token).await.is_err());
    assert!(client.create_order(&token, &order).await.is_err());
    assert!(client.cancel_token(&token).await.is_err());

    // A server that is not there: reqwest's error text holds the URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let offline = Client::builder()
        .api_key("klarna_test_api_dG9wc2VjcmV0")
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    assert!(offline.read_token(&token).await.is_err());

    let logs = capture.text();
    assert!(logs.contains("klarna.call"), "no spans logged:\n{logs}");
    assert!(
        logs.contains("…9e00"),
        "the redacted token is missing:\n{logs}"
    );
    assert!(logs.contains("status=503"), "statuses are missing:\n{logs}");
    for secret in [
        TOKEN,
        "shared-secret",
        "K123456_abcd12345",
        "SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA",
        "klarna_test_api_dG9wc2VjcmV0",
        "dG9wc2VjcmV0",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
