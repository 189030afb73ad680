//! Validation shared with the client.

use klarna_customer_token::{Error, OrderRequest};
use klarna_customer_token_sandbox::tokens;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn an_invalid_order_gets_400_bad_value_naming_the_field() {
    within(async {
        let sandbox = start().await;
        let body = invalid_order_json();

        // The client refuses it before sending anything.
        let parsed = OrderRequest::from_json(&body).expect("well typed");
        let client_violations: Vec<String> = parsed
            .validate()
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        let err = sandbox
            .client()
            .create_order(&token(tokens::ACTIVE_INVOICE), &parsed)
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::Validation(_)), "{err:?}");
        assert!(sandbox.requests().is_empty(), "nothing was sent");

        // Sent raw, the sandbox refuses it with the same rules.
        let raw = raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, body).await;
        assert_eq!(raw.status, 400);
        assert!(
            raw.header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        );
        assert_eq!(raw.error_code(), "BAD_VALUE");
        let messages = raw.messages();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("order_lines[0].total_amount")),
            "{messages:?}"
        );
        assert_eq!(messages, client_violations);
        let body_id = raw.json()["correlation_id"]
            .as_str()
            .expect("correlation_id")
            .to_owned();
        assert!(!body_id.is_empty());
        assert_eq!(raw.header("klarna-correlation-id"), Some(body_id.as_str()));
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn ill_typed_orders_get_400_bad_value_with_the_path() {
    within(async {
        let sandbox = start().await;
        let mut wrong_type: Value = serde_json::from_slice(&order().to_json()).expect("json");
        wrong_type["order_lines"][0]["quantity"] = json!("one");
        let mut no_lines: Value = serde_json::from_slice(&order().to_json()).expect("json");
        no_lines["order_lines"] = json!([]);
        let mut bad_currency: Value = serde_json::from_slice(&order().to_json()).expect("json");
        bad_currency["purchase_currency"] = json!("EURO");

        for (value, path) in [
            (wrong_type, "order_lines[0].quantity"),
            (no_lines, "order_lines"),
            (bad_currency, "purchase_currency"),
        ] {
            let raw = raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                None,
                serde_json::to_vec(&value).expect("json"),
            )
            .await;
            assert_eq!(raw.status, 400, "{path}");
            assert_eq!(raw.error_code(), "BAD_VALUE", "{path}");
            let messages = raw.messages();
            assert!(
                messages.iter().any(|m| m.contains(path)),
                "{path}: {messages:?}"
            );
        }
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn token_state_is_checked_before_the_order() {
    within(async {
        // An invalid order on a cancelled or unknown token: the token
        // answer wins, as it does for Klarna.
        let sandbox = start().await;
        let raw = raw_create(&sandbox, tokens::CANCELLED, None, invalid_order_json()).await;
        assert_eq!(raw.status, 403);
        assert_eq!(raw.error_code(), "TOKEN_CANCELLED");
        let raw = raw_create(&sandbox, "no-such-token-0000", None, invalid_order_json()).await;
        assert_eq!(raw.status, 404);
        assert_eq!(raw.error_code(), "TOKEN_NOT_FOUND");
    })
    .await;
}
