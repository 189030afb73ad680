//! Start and seed.

use klarna_customer_token::{Error, PaymentMethodType, TokenStatus};
use klarna_customer_token_sandbox::{Sandbox, SandboxToken, tokens};

use crate::support::*;

async fn check_seeded_tokens(sandbox: &Sandbox) {
    let client = sandbox.client();

    let invoice = client
        .read_token(&token(tokens::ACTIVE_INVOICE))
        .await
        .expect("read");
    assert_eq!(invoice.status(), &TokenStatus::Active);
    assert_eq!(invoice.payment_method_type(), &PaymentMethodType::Invoice);
    assert!(invoice.card().is_none());
    assert!(invoice.direct_debit().is_none());

    let card = client
        .read_token(&token(tokens::ACTIVE_CARD))
        .await
        .expect("read");
    assert_eq!(card.status(), &TokenStatus::Active);
    assert_eq!(card.payment_method_type(), &PaymentMethodType::Card);
    let details = card.card().expect("card details");
    assert_eq!(details.brand(), "VISA");
    assert_eq!(details.expiry_date(), "12/2030");
    assert_eq!(details.masked_number(), "************1234");
    assert!(card.direct_debit().is_none());

    let debit = client
        .read_token(&token(tokens::ACTIVE_DIRECT_DEBIT))
        .await
        .expect("read");
    assert_eq!(debit.status(), &TokenStatus::Active);
    assert_eq!(debit.payment_method_type(), &PaymentMethodType::DirectDebit);
    assert_eq!(
        debit.direct_debit().expect("direct debit").masked_number(),
        "**********1240"
    );
    assert!(debit.card().is_none());

    let suspended = client
        .read_token(&token(tokens::SUSPENDED))
        .await
        .expect("read");
    assert_eq!(suspended.status(), &TokenStatus::Suspended);
    assert_eq!(suspended.payment_method_type(), &PaymentMethodType::Invoice);

    let cancelled = client
        .read_token(&token(tokens::CANCELLED))
        .await
        .expect("read");
    assert_eq!(cancelled.status(), &TokenStatus::Cancelled);
    assert_eq!(cancelled.payment_method_type(), &PaymentMethodType::Card);
    let details = cancelled.card().expect("card details");
    assert_eq!(details.brand(), "MASTERCARD");
    assert_eq!(details.expiry_date(), "01/2029");
    assert_eq!(details.masked_number(), "************4444");

    for id in [
        tokens::ACTIVE_INVOICE,
        tokens::ACTIVE_CARD,
        tokens::ACTIVE_DIRECT_DEBIT,
    ] {
        assert_eq!(sandbox.token_status(&token(id)), Some(TokenStatus::Active));
    }
    assert_eq!(
        sandbox.token_status(&token(tokens::SUSPENDED)),
        Some(TokenStatus::Suspended)
    );
    assert_eq!(
        sandbox.token_status(&token(tokens::CANCELLED)),
        Some(TokenStatus::Cancelled)
    );
    assert_eq!(sandbox.token_status(&token("no-such-token-9999")), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_on_loopback_with_the_seeded_tokens_multi_thread() {
    within(async {
        let sandbox = start().await;
        assert_eq!(sandbox.addr().ip(), std::net::Ipv4Addr::LOCALHOST);
        assert_ne!(sandbox.addr().port(), 0);
        assert_eq!(
            sandbox.base_url(),
            format!("http://127.0.0.1:{}", sandbox.addr().port())
        );
        assert_eq!(sandbox.client().base_url(), sandbox.base_url());
        check_seeded_tokens(&sandbox).await;
        assert!(sandbox.orders().is_empty());
        assert!(format!("{sandbox:?}").contains(&sandbox.addr().to_string()));
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    within(async {
        let sandbox = start().await;
        check_seeded_tokens(&sandbox).await;
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        let created = client.create_order(&t, &order()).await.expect("create");
        assert_eq!(sandbox.orders().len(), 1);
        assert_eq!(sandbox.orders()[0].order_id, created.order_id());
        client.cancel_token(&t).await.expect("cancel");
        assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
    })
    .await;
}

#[tokio::test]
async fn add_token_adds_and_replaces_tokens() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();

        let added = sandbox
            .add_token(
                SandboxToken::new("my-card-token-5678", PaymentMethodType::Card).with_card(
                    "AMEX",
                    "03/2032",
                    "***********0005",
                ),
            )
            .expect("a valid id");
        assert_eq!(added.as_str(), "my-card-token-5678");
        let details = client.read_token(&added).await.expect("read");
        assert_eq!(details.status(), &TokenStatus::Active);
        assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
        let card = details.card().expect("card");
        assert_eq!(
            (card.brand(), card.expiry_date(), card.masked_number()),
            ("AMEX", "03/2032", "***********0005")
        );
        let created = client.create_order(&added, &order()).await.expect("create");
        assert_eq!(
            created
                .authorized_payment_method()
                .expect("authorized payment method")
                .method_type()
                .as_str(),
            "card"
        );

        let debit = sandbox
            .add_token(
                SandboxToken::new("my-debit-token-4321", PaymentMethodType::DirectDebit)
                    .with_status(TokenStatus::Suspended)
                    .with_direct_debit("****9876"),
            )
            .expect("a valid id");
        let details = client.read_token(&debit).await.expect("read");
        assert_eq!(details.status(), &TokenStatus::Suspended);
        assert_eq!(
            details
                .direct_debit()
                .expect("direct debit")
                .masked_number(),
            "****9876"
        );

        // The same id replaces the seeded token.
        sandbox
            .add_token(
                SandboxToken::new(tokens::ACTIVE_INVOICE, PaymentMethodType::Invoice)
                    .with_status(TokenStatus::Suspended),
            )
            .expect("a valid id");
        let details = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect("read");
        assert_eq!(details.status(), &TokenStatus::Suspended);

        // An id the client could not send is refused, and not added.
        let refused = sandbox.add_token(SandboxToken::new("../admin", PaymentMethodType::Card));
        assert!(matches!(&refused, Err(Error::Validation(_))), "{refused:?}");
    })
    .await;
}

#[tokio::test]
async fn add_token_with_characters_the_client_percent_encodes() {
    within(async {
        let sandbox = start().await;
        let client = once(&sandbox);
        for id in [
            "tök€n-ümlaut-0001",
            "tok:en+with=sub;delims@1234",
            "a.b~c_d-e!f$g&h'(i)*",
        ] {
            let t = sandbox
                .add_token(SandboxToken::new(id, PaymentMethodType::Invoice))
                .expect("a valid id");
            let details = client.read_token(&t).await.unwrap_or_else(|e| {
                panic!("read of a token with special characters failed: {e:?}")
            });
            assert_eq!(details.status(), &TokenStatus::Active);
            client
                .create_order(&t, &order())
                .await
                .expect("create-order");
            client.cancel_token(&t).await.expect("cancel");
            assert_eq!(sandbox.token_status(&t), Some(TokenStatus::Cancelled));
        }
    })
    .await;
}

#[tokio::test]
async fn an_empty_sandbox_has_no_tokens() {
    within(async {
        let sandbox = Sandbox::builder().empty().start().await.expect("start");
        let e = api_error(
            sandbox
                .client()
                .read_token(&token(tokens::ACTIVE_INVOICE))
                .await,
        );
        assert_eq!(e.status(), 404);
        assert_eq!(e.error_code().map(|c| c.as_str()), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn two_sandboxes_are_independent() {
    within(async {
        let a = start().await;
        let b = start().await;
        assert_ne!(a.addr(), b.addr());
        let t = token(tokens::ACTIVE_INVOICE);
        a.client().cancel_token(&t).await.expect("cancel");
        assert_eq!(a.token_status(&t), Some(TokenStatus::Cancelled));
        assert_eq!(b.token_status(&t), Some(TokenStatus::Active));
        b.client().create_order(&t, &order()).await.expect("create");
        assert!(a.orders().is_empty());
        assert_eq!(b.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn created_orders_report_the_token_s_payment_method() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();
        for (id, kind) in [
            (tokens::ACTIVE_INVOICE, "invoice"),
            (tokens::ACTIVE_CARD, "card"),
            (tokens::ACTIVE_DIRECT_DEBIT, "direct_debit"),
        ] {
            let created = client
                .create_order(&token(id), &order())
                .await
                .expect("create");
            assert_eq!(created.fraud_status().as_str(), "ACCEPTED");
            assert_eq!(
                created
                    .authorized_payment_method()
                    .expect("authorized payment method")
                    .method_type()
                    .as_str(),
                kind
            );
            assert!(
                created
                    .redirect_url()
                    .is_some_and(|u| u.contains(created.order_id()))
            );
            assert!(created.correlation_id().is_some());
            assert_eq!(created.attempts(), 1);
        }
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 3);
        let mut ids: Vec<_> = orders.iter().map(|o| o.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "order ids are unique");
    })
    .await;
}
