//! Inspection.

use klarna_customer_token_sandbox::{Fault, Sandbox, credentials, tokens};

use crate::support::*;

#[tokio::test]
async fn orders_and_requests_are_recorded() {
    within(async {
        let sandbox = start().await;
        let client = sandbox.client();
        let t = token(tokens::ACTIVE_INVOICE);
        let order = order();
        let before = sandbox.clock().now();
        let call = client.create_order(&t, &order);
        let key = call.idempotency_key().unwrap().clone();
        let created = call.await.expect("create");
        client.read_token(&t).await.expect("read");
        client.cancel_token(&t).await.expect("cancel");

        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        let stored = &orders[0];
        assert_eq!(stored.order_id, created.order_id());
        assert_eq!(stored.token, t);
        assert_eq!(stored.idempotency_key.as_ref(), Some(&key));
        assert_eq!(stored.order, order);
        assert!(stored.created_at >= before && stored.created_at <= sandbox.clock().now());

        let requests = sandbox.requests();
        assert_eq!(requests.len(), 3);
        let create = &requests[0];
        assert_eq!(create.method, "POST");
        assert_eq!(
            create.path,
            format!("{PREFIX}{}/order", tokens::ACTIVE_INVOICE)
        );
        assert_eq!(create.header("Klarna-Idempotency-Key"), Some(key.as_str()));
        assert_eq!(
            create.header("authorization"),
            Some(basic_header().as_str())
        );
        assert!(
            create
                .header("content-type")
                .is_some_and(|c| c.contains("application/json"))
        );
        assert!(
            create
                .headers
                .iter()
                .all(|(name, _)| *name == name.to_ascii_lowercase()),
            "names are lowercased"
        );
        assert_eq!(requests[1].method, "GET");
        assert_eq!(
            requests[1].path,
            format!("{PREFIX}{}", tokens::ACTIVE_INVOICE)
        );
        assert_eq!(requests[1].header("klarna-idempotency-key"), None);
        assert_eq!(requests[2].method, "PATCH");
        assert_eq!(
            requests[2].path,
            format!("{PREFIX}{}/status", tokens::ACTIVE_INVOICE)
        );

        // Even refused and rate-limited requests are recorded.
        let _ = send(http().get(url(&sandbox, tokens::ACTIVE_CARD, ""))).await;
        assert_eq!(sandbox.requests().len(), 4);

        sandbox.clear_requests();
        assert!(sandbox.requests().is_empty());
        assert_eq!(sandbox.orders().len(), 1, "orders are kept");
    })
    .await;
}

#[tokio::test]
async fn debug_output_hides_credentials_and_tokens() {
    within(async {
        let sandbox = start().await;
        let t = token(tokens::ACTIVE_INVOICE);
        sandbox
            .client()
            .create_order(&t, &order())
            .await
            .expect("create");
        api_key_client(&sandbox)
            .read_token(&token(tokens::ACTIVE_DIRECT_DEBIT))
            .await
            .expect("read");
        let _ = send(
            http()
                .get(url(&sandbox, tokens::ACTIVE_CARD, ""))
                .header("proxy-authorization", basic_header())
                .header("authorization", basic_header()),
        )
        .await;

        let requests = sandbox.requests();
        assert_eq!(requests.len(), 3);
        let shown = format!("{requests:?}");
        let pretty = format!("{requests:#?}");
        for text in [&shown, &pretty] {
            for secret in [
                basic_header().as_str(),
                basic_value().as_str(),
                credentials::PASSWORD,
                credentials::API_KEY,
                tokens::ACTIVE_INVOICE,
                tokens::ACTIVE_DIRECT_DEBIT,
                tokens::ACTIVE_CARD,
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(text.contains("<redacted>"));
            assert!(text.contains("0001") && text.contains("0003") && text.contains("0002"));
            assert!(text.contains("/order"));
        }

        // Stored orders show tokens by their last four characters too.
        let orders = format!("{:?}", sandbox.orders());
        assert!(!orders.contains(tokens::ACTIVE_INVOICE), "{orders}");
    })
    .await;
}

/// Debug output promises to show a token in the path by its last four
/// characters only. A request with an empty segment before the token (a
/// double slash, as a hand-written client with a base URL ending in `/`
/// sends) is shown with the full token.
#[tokio::test]
async fn debug_output_hides_tokens_in_odd_paths() {
    within(async {
        let sandbox = start().await;
        let reply = raw_tcp(
            sandbox.addr(),
            vec![
                format!(
                    "GET {PREFIX}/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
                     Connection: close\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    basic_header()
                )
                .into_bytes(),
            ],
        )
        .await;
        assert!(reply.starts_with(b"HTTP/1.1 404"));
        let request = sandbox.requests().pop().expect("recorded");
        assert_eq!(request.path, format!("{PREFIX}/{}", tokens::ACTIVE_INVOICE));
        let shown = format!("{request:?}");
        assert!(!shown.contains(tokens::ACTIVE_INVOICE), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn every_answer_carries_a_correlation_id() {
    within(async {
        let sandbox = Sandbox::builder()
            .rate_limit(1000)
            .start()
            .await
            .expect("start");
        let http = http();
        let auth = basic_header();
        let invoice = url(&sandbox, tokens::ACTIVE_INVOICE, "");
        let mut answers = vec![
            send(http.get(&invoice).header("authorization", &auth)).await,
            send(http.get(&invoice)).await,
            send(http.get(&invoice).header("authorization", "Basic nope")).await,
            send(http.delete(&invoice).header("authorization", &auth)).await,
            send(
                http.get(url(&sandbox, "no-such-token-0000", ""))
                    .header("authorization", &auth),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order().to_json(),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order().to_json(),
            )
            .await,
            raw_create(
                &sandbox,
                tokens::ACTIVE_INVOICE,
                Some("k"),
                order_with("other").to_json(),
            )
            .await,
            raw_create(&sandbox, tokens::ACTIVE_INVOICE, None, b"{".to_vec()).await,
        ];
        sandbox.inject(Fault::status(503, "{}"));
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);
        sandbox.inject(Fault::gateway_502());
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);
        answers.push(
            send(
                http.patch(url(&sandbox, tokens::ACTIVE_INVOICE, "/status"))
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(r#"{"status":"CANCELLED"}"#),
            )
            .await,
        );
        sandbox.set_rate_limit(Some(0));
        answers.push(send(http.get(&invoice).header("authorization", &auth)).await);

        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses,
            [
                200, 401, 401, 405, 404, 200, 200, 409, 400, 503, 502, 202, 429
            ]
        );
        let mut ids = Vec::new();
        for answer in &answers {
            let id = answer
                .header("klarna-correlation-id")
                .unwrap_or_else(|| panic!("no correlation id on a {}", answer.status));
            assert!(!id.is_empty());
            ids.push(id.to_owned());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), answers.len(), "one id per answer");
    })
    .await;
}
