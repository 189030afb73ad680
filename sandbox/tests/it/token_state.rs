//! Token state.

use klarna_customer_token::{ErrorCode, OrderOutcome, TokenStatus};
use klarna_customer_token_sandbox::tokens;

use crate::support::*;

#[tokio::test]
async fn create_order_on_cancelled_and_suspended_tokens_is_forbidden() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);

        let err = client
            .create_order(&token(tokens::CANCELLED), &order())
            .await
            .expect_err("cancelled");
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_CANCELLED")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        assert!(err.correlation_id().is_some());

        let err = client
            .create_order(&token(tokens::SUSPENDED), &order())
            .await
            .expect_err("suspended");
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_SUSPENDED")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));

        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn unknown_tokens_are_not_found_for_every_operation() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let unknown = token("no-such-token-0000");

        // Each operation answers with the code Klarna documents for it:
        // read and cancel NOT_FOUND, create-order TOKEN_NOT_FOUND.
        let e = api_error(client.read_token(&unknown).await);
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));
        assert_eq!(e.error_messages(), ["Invalid customer-token ID"]);

        let err = client
            .create_order(&unknown, &order())
            .await
            .expect_err("unknown");
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_NOT_FOUND")
        );
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));

        let e = api_error(client.cancel_token(&unknown).await);
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));

        // Cancelling an unknown token does not create it.
        assert_eq!(sandbox.token_status(&unknown), None);
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn cancel_is_202_makes_the_token_cancelled_and_can_be_repeated() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        let t = token(tokens::ACTIVE_INVOICE);

        client.cancel_token(&t).await.expect("cancel");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        assert_eq!(
            client.read_token(&t).await.expect("read").status(),
            &TokenStatus::Cancelled
        );
        // Again: still accepted.
        client.cancel_token(&t).await.expect("cancel again");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        // And the seeded cancelled token can be cancelled too.
        client
            .cancel_token(&token(tokens::CANCELLED))
            .await
            .expect("cancel a cancelled token");

        // A cancelled token cannot be charged.
        let err = client
            .create_order(&t, &order())
            .await
            .expect_err("cancelled");
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOKEN_CANCELLED")
        );

        // The status is 202, raw, with no body; a suspended token can be
        // cancelled as well.
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::SUSPENDED, "/status"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 202);
        assert!(raw.body.is_empty());
        assert!(raw.header("klarna-correlation-id").is_some());
        assert_eq!(
            sandbox.token_status(&token(tokens::SUSPENDED)),
            Some(TokenStatus::Cancelled)
        );
    })
    .await;
}

#[tokio::test]
async fn cancel_with_a_bad_body_changes_nothing() {
    within(async {
        let sandbox = start().await;
        for body in [
            r#"{"status":"ACTIVE"}"#,
            r#"{"status":"CANCELLED","extra":1}"#,
            r#"{}"#,
            r#"{"status":"#,
        ] {
            let raw = send(
                http()
                    .patch(url(&sandbox, tokens::ACTIVE_CARD, "/status"))
                    .header("authorization", basic_header())
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(raw.status, 400, "{body}");
            assert!(
                ["BAD_VALUE", "BAD_REQUEST"].contains(&raw.error_code().as_str()),
                "{body}"
            );
        }
        let raw = send(
            http()
                .patch(url(&sandbox, tokens::ACTIVE_CARD, "/status"))
                .header("authorization", basic_header())
                .header("content-type", "text/plain")
                .body(r#"{"status":"CANCELLED"}"#),
        )
        .await;
        assert_eq!(raw.status, 400);
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_CARD)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    within(async {
        let sandbox = start().await;
        let base = sandbox.base_url();
        let raw = send(
            http()
                .get(format!("{base}/customer-token/v1/nothing"))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 404);
        assert_eq!(raw.error_code(), "NOT_FOUND");

        let raw = send(
            http()
                .delete(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 405);
        assert_eq!(raw.error_code(), "METHOD_NOT_ALLOWED");

        let raw = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header()),
        )
        .await;
        assert_eq!(raw.status, 405);
        assert!(sandbox.orders().is_empty());
        assert_eq!(
            sandbox.token_status(&token(tokens::ACTIVE_INVOICE)),
            Some(TokenStatus::Active)
        );
    })
    .await;
}
