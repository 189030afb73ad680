//! Retries that never charge a customer twice, proven against the sandbox's
//! fault injection. Waits between attempts run on a `VirtualClock`, so they
//! cost no real time; only per-attempt timeouts take (short) real time.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::fixtures::plan_order as order;
use klarna_customer_token::clock::{Clock, VirtualClock};
use klarna_customer_token::{
    Client, CustomerToken, Error, ErrorCode, IdempotencyKey, Operation, OrderOutcome, RetryPolicy,
};
use klarna_customer_token_sandbox::{Fault, Sandbox, tokens};
use klarna_customer_token_testkit::hostile::{Hostile, Reply};

fn token() -> CustomerToken {
    CustomerToken::new(tokens::ACTIVE_CARD).expect("token")
}

async fn setup() -> (Sandbox, Client, VirtualClock) {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let clock = VirtualClock::new();
    let client = sandbox
        .client_builder()
        .clock(clock.clone())
        .attempt_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    (sandbox, client, clock)
}

/// The idempotency keys of the create-order requests the sandbox received.
fn sent_keys(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("klarna-idempotency-key").unwrap_or("").to_owned())
        .collect()
}

const UNAVAILABLE: &str = r#"{"error_code":"SERVICE_UNAVAILABLE","error_messages":["try later"]}"#;

#[tokio::test]
async fn a_connection_dropped_after_the_order_is_stored_never_charges_twice() {
    for drops in 1..=2u32 {
        let (sandbox, client, _) = setup().await;
        sandbox.inject(
            Fault::drop_after_processing()
                .with_times(drops)
                .with_operation(Operation::CreateOrder),
        );
        let token = token();
        let order = order(1190);
        let call = client.create_order(&token, &order);
        let key = call.idempotency_key().unwrap().clone();
        let created = call.await.expect("the retry returns the stored order");
        let stored = sandbox.orders();
        assert_eq!(stored.len(), 1, "{drops} drops: exactly one order");
        assert_eq!(stored[0].order_id, created.order_id());
        assert_eq!(stored[0].idempotency_key.as_ref(), Some(&key));
        assert_eq!(created.idempotency_key(), &key);
        assert_eq!(created.attempts(), drops + 1);
        // The same key bytes on every attempt.
        assert_eq!(
            sent_keys(&sandbox),
            vec![key.as_str().to_owned(); drops as usize + 1]
        );
    }
}

#[tokio::test]
async fn two_503s_then_success() {
    let (sandbox, client, clock) = setup().await;
    sandbox.inject(Fault::status(503, UNAVAILABLE).with_times(2));
    let token = token();
    let order = order(1190);
    let created = client
        .create_order(&token, &order)
        .await
        .expect("third attempt");
    assert_eq!(created.attempts(), 3);
    assert_eq!(sandbox.orders().len(), 1);
    // Full jitter under 250 ms, then 500 ms.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(sleeps[0] <= Duration::from_millis(250), "{sleeps:?}");
    assert!(sleeps[1] <= Duration::from_millis(500), "{sleeps:?}");
}

#[tokio::test]
async fn a_rate_limit_reset_is_waited_for() {
    let (sandbox, client, clock) = setup().await;
    sandbox.inject(
        Fault::status(429, r#"{"error_code":"TOO_MANY_REQUESTS"}"#)
            .with_header("X-Ratelimit-Limit", "50")
            .with_header("X-Ratelimit-Remaining", "0")
            .with_header("X-Ratelimit-Reset", "3"),
    );
    let token = token();
    let details = client.read_token(&token).await.expect("after the wait");
    assert_eq!(details.status().as_str(), "ACTIVE");
    assert_eq!(sandbox.requests().len(), 2);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= Duration::from_secs(3), "{sleeps:?}");

    // Retry-After is honoured the same way.
    sandbox.inject(Fault::status(503, UNAVAILABLE).with_header("Retry-After", "7"));
    client.read_token(&token).await.expect("after the wait");
    assert!(clock.sleeps()[1] >= Duration::from_secs(7));
}

#[tokio::test]
async fn a_wait_beyond_the_deadline_fails_at_once_with_the_wait() {
    let (sandbox, client, clock) = setup().await;
    sandbox.inject(
        Fault::status(429, r#"{"error_code":"TOO_MANY_REQUESTS"}"#)
            .with_header("Retry-After", "30"),
    );
    let token = token();
    let order = order(1190);
    let call = client
        .create_order(&token, &order)
        .with_retry_policy(RetryPolicy::default().with_deadline(Duration::from_secs(10)));
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("the wait would overrun the deadline");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert!(clock.sleeps().is_empty(), "no wait was started");
    assert_eq!(sandbox.requests().len(), 1);

    // A wait longer than 60 s is never honoured, whatever the deadline.
    sandbox.inject(Fault::status(503, UNAVAILABLE).with_header("X-Ratelimit-Reset", "61"));
    let e = client
        .read_token(&token)
        .with_retry_policy(RetryPolicy::default().with_deadline(Duration::from_secs(600)))
        .await
        .expect_err("not waited for");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(61)));
    assert_eq!(e.attempts(), Some(1));
}

#[tokio::test]
async fn the_deadline_covers_every_attempt_and_wait() {
    let (sandbox, client, clock) = setup().await;
    // Each answer asks for 4 s; a 10 s deadline leaves room for two waits.
    sandbox.inject(
        Fault::status(503, UNAVAILABLE)
            .with_header("Retry-After", "4")
            .with_times(10),
    );
    let e = client
        .read_token(&token())
        .with_retry_policy(
            RetryPolicy::default()
                .with_max_retries(10)
                .with_deadline(Duration::from_secs(10)),
        )
        .await
        .expect_err("out of time");
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(clock.sleeps().len(), 2);
    assert!(clock.now() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_retry_replays_the_stored_order() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let client = sandbox
        .client_builder()
        .clock(VirtualClock::new())
        .attempt_timeout(Duration::from_millis(150))
        .build()
        .expect("client");
    // The order is stored, then the answer is late.
    sandbox.inject(
        Fault::delay_after_processing(Duration::from_millis(600))
            .with_operation(Operation::CreateOrder),
    );
    let token = token();
    let order = order(2380);
    let created = client.create_order(&token, &order).await.expect("replayed");
    assert_eq!(created.attempts(), 2);
    assert_eq!(sandbox.orders().len(), 1);
    assert_eq!(sandbox.orders()[0].order_id, created.order_id());
}

#[tokio::test]
async fn a_timeout_without_retries_may_have_created_the_order() {
    let (sandbox, client, _) = setup().await;
    sandbox.inject(
        Fault::delay_before_processing(Duration::from_millis(500))
            .with_operation(Operation::CreateOrder),
    );
    let token = token();
    let order = order(1190);
    let call = client
        .create_order(&token, &order)
        .with_retry_policy(RetryPolicy::none())
        .with_attempt_timeout(Duration::from_millis(100));
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("too slow");
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn definitive_answers_are_never_retried() {
    let (sandbox, client, clock) = setup().await;
    let token = token();
    let order = order(1190);

    // 400 (a fault: the client itself never sends an invalid order).
    sandbox.inject(Fault::status(
        400,
        r#"{"error_code":"BAD_VALUE","error_messages":["order_amount: bad"]}"#,
    ));
    let e = client.create_order(&token, &order).await.expect_err("400");
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(sandbox.requests().len(), 1);

    // 401.
    sandbox.clear_requests();
    let wrong = Client::builder()
        .basic_auth("sandbox_merchant", "wrong")
        .base_url(sandbox.base_url())
        .clock(clock.clone())
        .build()
        .expect("client");
    let e = wrong.create_order(&token, &order).await.expect_err("401");
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(sandbox.requests().len(), 1);

    // 403.
    sandbox.clear_requests();
    let cancelled = CustomerToken::new(tokens::CANCELLED).expect("token");
    let e = client
        .create_order(&cancelled, &order)
        .await
        .expect_err("403");
    assert_eq!(e.error_code(), Some(&ErrorCode::TokenCancelled));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(sandbox.requests().len(), 1);

    // 404.
    sandbox.clear_requests();
    let unknown = CustomerToken::new("no-such-token-0000").expect("token");
    let e = client
        .create_order(&unknown, &order)
        .await
        .expect_err("404");
    assert_eq!(e.error_code(), Some(&ErrorCode::TokenNotFound));
    assert_eq!(sandbox.requests().len(), 1);
    let e = client.read_token(&unknown).await.expect_err("404");
    assert_eq!(e.status(), Some(404));
    assert_eq!(sandbox.requests().len(), 2);

    // 409: the same key with another body.
    let key = IdempotencyKey::new("billing-run-7").expect("key");
    client
        .create_order(&token, &order)
        .with_idempotency_key(key.clone())
        .await
        .expect("first");
    sandbox.clear_requests();
    let e = client
        .create_order(&token, &self::order(2380))
        .with_idempotency_key(key.clone())
        .await
        .expect_err("409");
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(sandbox.requests().len(), 1);

    assert!(clock.sleeps().is_empty(), "nothing was waited for");
}

#[tokio::test]
async fn exhausted_retries_report_attempts_outcome_and_key() {
    let (sandbox, client, _) = setup().await;
    sandbox.inject(Fault::status(503, UNAVAILABLE).with_times(3));
    let token = token();
    let order = order(1190);
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("three 503s");
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    let shown = e.to_string();
    assert!(shown.contains("after 3 attempts"), "{shown}");
    assert!(shown.contains(key.as_str()), "{shown}");
    assert_eq!(sandbox.requests().len(), 3);

    // Dropped connections, exhausted: the order exists, and the same key
    // reconciles to it.
    sandbox.inject(Fault::drop_after_processing().with_times(3));
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("three drops");
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    let stored: Vec<_> = sandbox
        .orders()
        .into_iter()
        .filter(|o| o.idempotency_key.as_ref() == Some(&key))
        .collect();
    assert_eq!(stored.len(), 1, "stored once, whatever the attempts");
    let reconciled = client
        .create_order(&token, &order)
        .with_idempotency_key(key)
        .await
        .expect("reconciled");
    assert_eq!(reconciled.order_id(), stored[0].order_id);
}

#[tokio::test]
async fn a_later_409_does_not_erase_an_earlier_ambiguity() {
    let (sandbox, client, _) = setup().await;
    sandbox.inject(Fault::status(502, UNAVAILABLE));
    sandbox.inject(Fault::status(409, r#"{"error_code":"CONFLICT"}"#));
    let token = token();
    let order = order(1190);
    let e = client.create_order(&token, &order).await.expect_err("409");
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.attempts(), Some(2));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
}

#[tokio::test]
async fn retries_off_means_one_attempt_even_for_a_dropped_connection() {
    let (sandbox, client, clock) = setup().await;
    sandbox.inject(Fault::drop_before_processing());
    let token = token();
    let order = order(1190);
    let e = client
        .create_order(&token, &order)
        .with_retry_policy(RetryPolicy::none())
        .await
        .expect_err("dropped");
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(sandbox.requests().len(), 1);
    assert!(sandbox.orders().is_empty());
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn read_and_cancel_are_retried_too() {
    let (sandbox, client, _) = setup().await;
    let token = token();
    sandbox.inject(Fault::gateway_502().with_operation(Operation::ReadToken));
    client.read_token(&token).await.expect("read after a 502");
    sandbox.inject(Fault::drop_before_processing().with_operation(Operation::CancelToken));
    client
        .cancel_token(&token)
        .await
        .expect("cancel after a drop");
    let methods: Vec<String> = sandbox
        .requests()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["GET", "GET", "PATCH", "PATCH"]);
}

#[tokio::test]
async fn a_caller_key_is_kept_on_every_retry_and_never_reused() {
    let (sandbox, client, _) = setup().await;
    sandbox.inject(Fault::status(503, UNAVAILABLE).with_times(2));
    let token = token();
    let order = order(1190);
    let mine = IdempotencyKey::derive("acme-billing", "subscription-42/2026-11");
    let created = client
        .create_order(&token, &order)
        .with_idempotency_key(mine.clone())
        .await
        .expect("created");
    assert_eq!(created.idempotency_key(), &mine);
    let next = client.create_order(&token, &order).await.expect("next");
    assert_ne!(next.idempotency_key(), &mine);
    let keys = sent_keys(&sandbox);
    assert_eq!(keys.len(), 4);
    assert!(keys[..3].iter().all(|k| k == mine.as_str()), "{keys:?}");
    assert_eq!(keys[3], next.idempotency_key().as_str());
    assert_eq!(sandbox.orders().len(), 2);
}

/// At least 1,000 logical create-order calls under random faults, eight at
/// a time through one client: each call's faults are drawn in call order
/// from the seed and bound to its key, so concurrent calls never take each
/// other's faults. The seed is printed; set `SOAK_SEED` to replay a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_random_faults_never_double_charge() {
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    println!("soak seed: {seed} (set SOAK_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let sandbox = Sandbox::start().await.expect("sandbox");
    let client = sandbox
        .client_builder()
        .clock(VirtualClock::new())
        .attempt_timeout(Duration::from_millis(60))
        .build()
        .expect("client");
    let token = token();
    const CALLS: usize = 1_000;
    const LANES: usize = 8;
    // Up to three faults a call: sometimes more than the retries.
    let plans: Vec<Vec<Fault>> = (0..CALLS)
        .map(|_| {
            (0..rng.usize(0..=3))
                .map(|_| match rng.u8(0..7) {
                    0 => Fault::drop_before_processing(),
                    1 => Fault::drop_after_processing(),
                    2 => Fault::status(503, UNAVAILABLE),
                    3 => Fault::status(500, r#"{"error_code":"INTERNAL_SERVER_ERROR"}"#),
                    4 => Fault::gateway_502(),
                    5 => Fault::delay_before_processing(Duration::from_millis(rng.u64(80..120))),
                    _ => Fault::delay_after_processing(Duration::from_millis(rng.u64(80..120))),
                })
                .collect()
        })
        .collect();
    let plans = std::sync::Arc::new(plans);
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..LANES {
        let (sandbox, client, token, plans) = (
            sandbox.clone(),
            client.clone(),
            token.clone(),
            plans.clone(),
        );
        lanes.spawn(async move {
            let mut results = Vec::new();
            for i in (lane..CALLS).step_by(LANES) {
                let order = order(1000 + i as i64);
                let call = client.create_order(&token, &order);
                let key = call.idempotency_key().unwrap().clone();
                for fault in &plans[i] {
                    sandbox.inject(
                        fault
                            .clone()
                            .with_operation(Operation::CreateOrder)
                            .with_key(&key),
                    );
                }
                let result = call.await.map(|created| {
                    assert_eq!(created.idempotency_key(), &key);
                    created.order_id().to_owned()
                });
                results.push((i, key.as_str().to_owned(), result));
            }
            results
        });
    }
    let mut successes: HashMap<String, String> = HashMap::new();
    let mut may_have: HashSet<String> = HashSet::new();
    let mut not_created: HashSet<String> = HashSet::new();
    for (i, key, result) in lanes.join_all().await.into_iter().flatten() {
        match result {
            Ok(order_id) => {
                successes.insert(key, order_id);
            }
            Err(e) => {
                assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(key.as_str()));
                match e.order_outcome() {
                    Some(OrderOutcome::MayHaveBeenCreated) => {
                        may_have.insert(key);
                    }
                    Some(OrderOutcome::NotCreated) => {
                        not_created.insert(key);
                    }
                    other => panic!("call {i}: unexpected outcome {other:?}: {e}"),
                }
            }
        }
    }
    assert_eq!(
        successes.len() + may_have.len() + not_created.len(),
        CALLS,
        "every call has one result under a key of its own"
    );
    // Let delayed requests that outlived their client (delays are under
    // 120 ms) finish.
    tokio::time::sleep(Duration::from_millis(320)).await;

    let orders = sandbox.orders();
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for stored in &orders {
        let key = stored
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str().to_owned())
            .expect("every call carries a key");
        by_key.entry(key).or_default().push(stored.order_id.clone());
    }
    for (key, ids) in &by_key {
        assert_eq!(ids.len(), 1, "key {key} stored {} orders", ids.len());
    }
    for (key, order_id) in &successes {
        assert_eq!(
            by_key.get(key).map(|ids| ids[0].as_str()),
            Some(order_id.as_str()),
            "success {key} has no matching stored order"
        );
    }
    for key in &not_created {
        assert!(
            !by_key.contains_key(key),
            "{key} said not created, but was stored"
        );
    }
    let stored_ambiguous = may_have.iter().filter(|k| by_key.contains_key(*k)).count();
    assert_eq!(orders.len(), successes.len() + stored_ambiguous);
    println!(
        "soak: {CALLS} calls, {} succeeded, {} may have been created ({} of them stored), {} not created, {} requests",
        successes.len(),
        may_have.len(),
        stored_ambiguous,
        not_created.len(),
        sandbox.requests().len()
    );
    assert!(successes.len() > CALLS / 2, "the faults should not win");
}

#[tokio::test]
async fn every_attempt_of_a_retried_order_sends_the_same_bytes() {
    // Each retry makes the request again from the call's own inputs: the
    // request line, every header field (the key among them) and the body
    // must be the bytes of the first attempt.
    let json = [("content-type", "application/json")];
    let server = Hostile::recording(move |n| match n {
        0 | 1 => Reply::body(503, &json, UNAVAILABLE),
        _ => Reply::body(
            200,
            &json,
            r#"{"order_id":"o-1","fraud_status":"ACCEPTED"}"#,
        ),
    })
    .await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(&server.base_url)
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(2)),
        )
        .build()
        .expect("client");
    let order = order(1190);
    let call = client.create_order(&token(), &order);
    let key = call.idempotency_key().unwrap().clone();
    let done = call.await.expect("the third attempt succeeds");
    assert_eq!(done.attempts(), 3);
    let requests = server.recorded();
    assert_eq!(requests.len(), 3);
    let first = String::from_utf8(requests[0].clone()).expect("ascii");
    assert!(
        first.starts_with("POST /customer-token/v1/tokens/"),
        "{first}"
    );
    assert!(first.contains(key.as_str()), "{first}");
    assert!(
        first.ends_with(&String::from_utf8(order.to_json()).expect("utf-8")),
        "{first}"
    );
    for (n, request) in requests.iter().enumerate().skip(1) {
        assert_eq!(
            request,
            &requests[0],
            "attempt {} differs from the first",
            n + 1
        );
    }
}

/// No retry is sent with less than the floor of the deadline left
/// (`min(1 s, the attempt timeout, a tenth of the deadline)`): the call
/// fails with the answer it has, its outcome worked out over the attempts
/// already made.
#[tokio::test]
async fn no_retry_is_sent_with_less_than_the_floor_of_the_deadline_left() {
    const TOO_MANY: &str = r#"{"error_code":"TOO_MANY_REQUESTS"}"#;
    // A 9.5 s deadline: the floor is 0.95 s. Each case answers a 429 (a
    // refusal before processing) or a 503 (which may have been processed)
    // asking for 1 s, then a 429 asking for 8 s: after that wait only 0.5 s
    // would be left.
    for (first, outcome) in [
        (429, OrderOutcome::NotCreated),
        (503, OrderOutcome::MayHaveBeenCreated),
    ] {
        let (sandbox, client, clock) = setup().await;
        let body = if first == 429 { TOO_MANY } else { UNAVAILABLE };
        sandbox.inject(Fault::status(first, body).with_header("Retry-After", "1"));
        sandbox.inject(Fault::status(429, TOO_MANY).with_header("Retry-After", "8"));
        let call = client
            .create_order(&token(), &order(1190))
            .with_retry_policy(
                RetryPolicy::default()
                    .with_max_retries(5)
                    .with_deadline(Duration::from_millis(9500)),
            );
        let key = call.idempotency_key().unwrap().clone();
        let e = call.await.expect_err("no time left for a third attempt");
        assert_eq!(e.status(), Some(429), "{first}: {e}");
        assert_eq!(e.attempts(), Some(2), "{first}: {e}");
        assert_eq!(e.order_outcome(), Some(outcome), "{first}: {e}");
        assert_eq!(e.idempotency_key(), Some(&key));
        assert_eq!(
            sandbox.requests().len(),
            2,
            "{first}: the third was not sent"
        );
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)], "no 8 s wait");
        assert!(sandbox.orders().is_empty());
    }

    // With exactly the floor left (a 10 s deadline, a 1 s floor), the
    // retry is sent, and the order is created once.
    let (sandbox, client, clock) = setup().await;
    sandbox.inject(Fault::status(429, TOO_MANY).with_header("Retry-After", "9"));
    let created = client
        .create_order(&token(), &order(1190))
        .with_retry_policy(RetryPolicy::default().with_deadline(Duration::from_secs(10)))
        .await
        .expect("the retry had its floor");
    assert_eq!(created.attempts(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(9)]);
    assert_eq!(sandbox.orders().len(), 1);

    // The first attempt is always sent, even with a deadline shorter than
    // a second: the floor is then a tenth of it.
    let (sandbox, client, _) = setup().await;
    let created = client
        .read_token(&token())
        .with_retry_policy(RetryPolicy::default().with_deadline(Duration::from_millis(300)))
        .await;
    assert!(created.is_ok(), "{created:?}");
    assert_eq!(sandbox.requests().len(), 1);
}
