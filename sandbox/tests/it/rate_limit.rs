//! Rate limit.

use std::time::Duration;

use klarna_customer_token::OrderOutcome;
use klarna_customer_token_sandbox::{Sandbox, tokens};

use crate::support::*;

/// The rate limit counts in one-second windows of real time, the first
/// starting when the sandbox starts. Runs `scenario` against fresh
/// sandboxes limited to `limit` until a run ends inside that first window
/// (on a loaded machine one may not), and returns that sandbox and result.
async fn in_first_window<T>(limit: u32, scenario: impl AsyncFn(&Sandbox) -> T) -> (Sandbox, T) {
    for _ in 0..5 {
        let sandbox = Sandbox::builder()
            .rate_limit(limit)
            .start()
            .await
            .expect("start");
        let result = scenario(&sandbox).await;
        if sandbox.clock().now() < Duration::from_millis(990) {
            return (sandbox, result);
        }
    }
    panic!("five runs in a row took more than a second");
}

#[track_caller]
fn reset_of(raw: &Raw) -> u64 {
    raw.header("x-ratelimit-reset")
        .expect("X-Ratelimit-Reset")
        .parse()
        .expect("whole seconds")
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_its_headers() {
    within(async {
        let (sandbox, answers) = in_first_window(3, async |sandbox: &Sandbox| {
            let http = http();
            let mut answers = Vec::new();
            for _ in 0..4 {
                answers.push(
                    send(
                        http.get(url(sandbox, tokens::ACTIVE_INVOICE, ""))
                            .header("authorization", basic_header()),
                    )
                    .await,
                );
            }
            answers.push(
                send(
                    http.post(url(sandbox, tokens::ACTIVE_INVOICE, "/order"))
                        .header("authorization", basic_header())
                        .header("content-type", "application/json")
                        .body(order().to_json()),
                )
                .await,
            );
            answers
        })
        .await;

        for (raw, remaining) in answers.iter().zip(["2", "1", "0"]) {
            assert_eq!(raw.status, 200);
            assert_eq!(raw.header("x-ratelimit-limit"), Some("3"));
            assert_eq!(raw.header("x-ratelimit-remaining"), Some(remaining));
            assert!(reset_of(raw) >= 1);
        }
        for raw in &answers[3..] {
            assert_eq!(raw.status, 429);
            assert_eq!(raw.header("x-ratelimit-limit"), Some("3"));
            assert_eq!(raw.header("x-ratelimit-remaining"), Some("0"));
            assert!(reset_of(raw) >= 1);
            assert_eq!(raw.error_code(), "TOO_MANY_REQUESTS");
            assert!(raw.json()["correlation_id"].is_string());
            assert!(raw.header("klarna-correlation-id").is_some());
        }
        // Nothing is processed while limited.
        assert!(sandbox.orders().is_empty());

        sandbox.clock().advance(Duration::from_secs(1));
        let raw = raw_read(&sandbox, tokens::ACTIVE_INVOICE).await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.header("x-ratelimit-remaining"), Some("2"));

        // The limit can be lifted.
        sandbox.set_rate_limit(None);
        let http = http();
        for _ in 0..10 {
            let raw = send(
                http.get(url(&sandbox, tokens::ACTIVE_INVOICE, ""))
                    .header("authorization", basic_header()),
            )
            .await;
            assert_eq!(raw.status, 200);
            assert_eq!(raw.header("x-ratelimit-limit"), None);
        }
    })
    .await;
}

#[tokio::test]
async fn the_client_sees_429_with_retry_after() {
    within(async {
        let t = token(tokens::ACTIVE_INVOICE);
        let (sandbox, (reads, create)) = in_first_window(3, async |sandbox: &Sandbox| {
            let client = once(sandbox);
            let mut reads = Vec::new();
            for _ in 0..4 {
                reads.push(client.read_token(&t).await);
            }
            let create = client.create_order(&t, &order()).await;
            (reads, create)
        })
        .await;

        for read in &reads[..3] {
            assert!(read.is_ok(), "within the limit: {read:?}");
        }
        let err = reads[3].as_ref().expect_err("limited");
        assert_eq!(err.status(), Some(429));
        assert_eq!(
            err.error_code().map(|c| c.as_str()),
            Some("TOO_MANY_REQUESTS")
        );
        let wait = err.retry_after().expect("retry_after");
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        assert!(err.is_retryable());

        let err = create.expect_err("limited");
        assert_eq!(err.status(), Some(429));
        assert!(err.retry_after().is_some());
        // A final 429 is the gateway's refusal before processing.
        assert_eq!(err.order_outcome(), Some(OrderOutcome::NotCreated));
        assert!(sandbox.orders().is_empty());

        sandbox.clock().advance(Duration::from_secs(1));
        once(&sandbox).read_token(&t).await.expect("a new window");
    })
    .await;
}

#[tokio::test]
async fn a_retrying_client_waits_out_the_rate_limit() {
    within(async {
        let t = token(tokens::ACTIVE_INVOICE);
        for _ in 0..5 {
            let sandbox = Sandbox::builder()
                .rate_limit(1)
                .start()
                .await
                .expect("start");
            let client = sandbox.client();
            client.read_token(&t).await.expect("first");
            // The second call is limited, waits X-Ratelimit-Reset (real
            // time), and succeeds on its next attempt.
            let created = client
                .create_order(&t, &order())
                .await
                .expect("after waiting");
            assert_eq!(sandbox.orders().len(), 1);
            if created.attempts() == 1 {
                // Allowed at once: only if the window rolled over first.
                assert!(sandbox.clock().now() >= Duration::from_secs(1));
                continue;
            }
            assert_eq!(created.attempts(), 2);
            let methods: Vec<_> = sandbox
                .requests()
                .iter()
                .map(|r| r.method.clone())
                .collect();
            assert_eq!(methods, ["GET", "POST", "POST"]);
            return;
        }
        panic!("five runs in a row took more than a second");
    })
    .await;
}
