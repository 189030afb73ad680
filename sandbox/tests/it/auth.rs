//! Authentication.

use base64::Engine as _;
use klarna_customer_token::{Client, OrderOutcome, PaymentMethodType, RetryPolicy, TokenStatus};
use klarna_customer_token_sandbox::{Fault, credentials, tokens};

use crate::support::*;

#[tokio::test]
async fn no_authorization_gets_an_html_401() {
    within(async {
        let sandbox = start().await;
        let raw = send(http().get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))).await;
        assert_eq!(raw.status, 401);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{:?}",
            raw.headers
        );
        assert!(String::from_utf8_lossy(&raw.body).contains("<html"));
        assert!(raw.header("klarna-correlation-id").is_some());

        // Nothing is done without credentials.
        let raw = send(
            http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("content-type", "application/json")
                .body(order().to_json()),
        )
        .await;
        assert_eq!(raw.status, 401);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.contains("html"))
        );
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::ACTIVE_INVOICE, "/status"))
                .header("content-type", "application/json")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 401);
        assert!(sandbox.orders().is_empty());
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_INVOICE)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}

#[tokio::test]
async fn the_client_surfaces_an_html_401_as_an_api_error() {
    within(async {
        // The client always sends credentials, so the gateway's HTML 401 is
        // reproduced with a raw fault carrying the very body the sandbox
        // sends without credentials.
        let sandbox = start().await;
        let html = send(http().get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))).await;
        sandbox.inject(Fault::raw(
            401,
            "text/html",
            String::from_utf8(html.body.to_vec()).expect("utf-8"),
        ));
        let e = api_error(
            once(&sandbox)
                .read_token(&token(tokens::ACTIVE_INVOICE))
                .await,
        );
        assert_eq!(e.status(), 401);
        assert!(String::from_utf8_lossy(e.raw_body()).contains("<html"));
        assert_eq!(e.content_type(), Some("text/html"));
        assert!(e.error_code().is_none());
    })
    .await;
}

#[tokio::test]
async fn wrong_credentials_get_401() {
    within(async {
        let sandbox = start().await;
        let t = token(tokens::ACTIVE_INVOICE);

        let wrong_password = Client::builder()
            .basic_auth(credentials::USERNAME, "not-the-password")
            .base_url(sandbox.base_url())
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let e = api_error(wrong_password.read_token(&t).await);
        assert_eq!(e.status(), 401);
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("UNAUTHORIZED"));
        assert!(e.correlation_id().is_some());

        let result = wrong_password.create_order(&t, &order()).await;
        let err = result.expect_err("refused");
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        let e = api_error(wrong_password.cancel_token(&t).await);
        assert_eq!(e.status(), 401);

        let wrong_key = Client::builder()
            .api_key("klarna_test_api_not_the_key")
            .base_url(sandbox.base_url())
            .build()
            .expect("client");
        assert_eq!(
            wrong_key
                .read_token(&t)
                .await
                .expect_err("refused")
                .status(),
            Some(401)
        );

        // Neither the username alone nor another scheme is accepted.
        for authorization in [
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:", credentials::USERNAME))
            ),
            format!("Bearer {}", credentials::API_KEY),
            format!("Bearer {}", basic_value()),
            "Basic".to_owned(),
        ] {
            let raw = send(
                http()
                    .get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                    .header("authorization", authorization.as_str()),
            )
            .await;
            assert_eq!(raw.status, 401, "{authorization}");
            assert_eq!(raw.error_code(), "UNAUTHORIZED");
            assert!(raw.json()["correlation_id"].is_string());
        }

        assert!(sandbox.orders().is_empty());
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Active));
    })
    .await;
}

#[tokio::test]
async fn the_api_key_sent_verbatim_is_accepted() {
    within(async {
        let sandbox = start().await;
        let client = api_key_client(&sandbox);
        let t = token(tokens::ACTIVE_CARD);
        let details = client.read_token(&t).await.expect("read with the API key");
        assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
        client.create_order(&t, &order()).await.expect("create");
        assert_eq!(sandbox.orders().len(), 1);

        let requests = sandbox.requests();
        assert!(!requests.is_empty());
        for request in &requests {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Basic {}", credentials::API_KEY).as_str())
            );
        }

        // Raw, too.
        let raw = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_CARD, ""))
                .header("authorization", format!("Basic {}", credentials::API_KEY)),
        )
        .await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.json()["status"], "ACTIVE");
    })
    .await;
}
