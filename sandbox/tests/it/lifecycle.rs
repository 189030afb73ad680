//! Lifecycle.

use std::time::Duration;

use klarna_customer_token::{Client, Error, RetryPolicy};
use klarna_customer_token_sandbox::{credentials, tokens};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sandbox_refuses_new_connections() {
    within(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        let base_url = sandbox.base_url();
        drop(sandbox);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let client = Client::builder()
            .basic_auth(credentials::USERNAME, credentials::PASSWORD)
            .base_url(base_url)
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let err = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "the port is closed"
        );
    })
    .await;
}

/// `Sandbox` says it "stops serving when dropped". Its `Drop` aborts only
/// the accept loop; each connection is served by its own spawned task,
/// which keeps running, so a client with a kept-alive connection is still
/// answered (and can still create orders no one can see).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sandbox_stops_serving_open_connections() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);
        // Leaves a kept-alive connection in the client's pool.
        client.read_token(&t).await.expect("read");
        drop(sandbox);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let result = client.read_token(&t).await;
        assert!(
            result.is_err(),
            "a dropped sandbox still answered: {result:?}"
        );
    })
    .await;
}
