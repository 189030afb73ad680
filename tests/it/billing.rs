//! What a billing run leans on: calls that can be spawned, what it stores
//! (the `serde` feature) reading back the same, and the next step of real
//! answers from the sandbox.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::time::Duration;

use klarna_customer_token::clock::Clock as _;
use klarna_customer_token::{
    CallFuture, CancelTokenCall, CreateOrderCall, CreatedOrder, CustomerToken, Error, ErrorCode,
    ErrorReport, IdempotencyKey, NextStep, Operation, OrderLine, OrderOutcome, OrderRequest,
    ReadTokenCall, RetryPolicy, TokenStatus,
};
use klarna_customer_token_sandbox::{Fault, Sandbox, tokens};

fn order() -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Plan")
                .quantity(1)
                .unit_price(1000)
                .tax_rate(2000)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn round_trip<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "{json}");
    back
}

#[test]
fn keys_are_strings_and_checked_on_the_way_back() {
    let key = IdempotencyKey::for_charge("acme", "sub-1/2026-11", 1);
    assert_eq!(
        serde_json::to_string(&key).unwrap(),
        format!("\"{}\"", key.as_str())
    );
    round_trip(&key);
    assert!(serde_json::from_str::<IdempotencyKey>("\"a b\"").is_err());
    assert!(serde_json::from_str::<IdempotencyKey>("\"\"").is_err());
    assert!(serde_json::from_str::<IdempotencyKey>("7").is_err());
}

#[test]
fn tokens_serialize_in_full_and_stay_redacted_elsewhere() {
    let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00").unwrap();
    let json = serde_json::to_string(&token).unwrap();
    assert_eq!(json, "\"0b1d9815-165e-42e2-8867-35bc03789e00\"");
    let back = round_trip(&token);
    assert_eq!(format!("{back:?}"), "CustomerToken(…9e00)");
    assert_eq!(back.to_string(), "…9e00");
    let err = serde_json::from_str::<CustomerToken>("\"secret-token/../admin\"").unwrap_err();
    assert!(!err.to_string().contains("secret-token"), "{err}");
}

#[test]
fn keys_and_tokens_key_ordered_maps() {
    let mut journal: BTreeMap<IdempotencyKey, (CustomerToken, OrderOutcome)> = BTreeMap::new();
    for i in 0..3 {
        journal.insert(
            IdempotencyKey::for_charge("acme", format!("sub-{i}"), 1),
            (
                CustomerToken::new(format!("token-{i}-abcdef")).unwrap(),
                OrderOutcome::MayHaveBeenCreated,
            ),
        );
    }
    let json = serde_json::to_string(&journal).unwrap();
    let back: BTreeMap<IdempotencyKey, (CustomerToken, OrderOutcome)> =
        serde_json::from_str(&json).unwrap();
    assert_eq!(back, journal);
    let mut tokens: Vec<_> = back.values().map(|(t, _)| t.clone()).collect();
    tokens.sort();
    assert_eq!(tokens[0].as_str(), "token-0-abcdef");
}

#[test]
fn enums_round_trip_and_unknown_values_survive_or_fail_loudly() {
    for outcome in [
        OrderOutcome::NotCreated,
        OrderOutcome::MayHaveBeenCreated,
        OrderOutcome::Created,
    ] {
        round_trip(&outcome);
    }
    assert_eq!(
        serde_json::to_string(&OrderOutcome::MayHaveBeenCreated).unwrap(),
        "\"may_have_been_created\""
    );
    // A closed enum: an unknown outcome is refused, never guessed.
    assert!(serde_json::from_str::<OrderOutcome>("\"perhaps\"").is_err());

    for code in ErrorCode::KNOWN {
        round_trip(&ErrorCode::from(*code));
    }
    let new: ErrorCode = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
    assert_eq!(new, ErrorCode::Unknown("SOMETHING_NEW".into()));
    round_trip(&new);

    for step in [
        NextStep::Reconcile,
        NextStep::RetryLater { after: None },
        NextStep::RetryLater {
            after: Some(Duration::from_millis(1500)),
        },
        NextStep::AskCustomer,
        NextStep::StopCharging,
        NextStep::FixRequest,
        NextStep::FixConfiguration,
    ] {
        round_trip(&step);
    }
    assert_eq!(
        serde_json::to_string(&NextStep::RetryLater {
            after: Some(Duration::from_secs(2))
        })
        .unwrap(),
        r#"{"step":"retry_later","after":2000}"#
    );
    assert!(serde_json::from_str::<NextStep>(r#"{"step":"pray"}"#).is_err());
    round_trip(&Operation::CreateOrder);
}

#[tokio::test]
async fn created_orders_and_error_reports_round_trip() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    let created: CreatedOrder = client.create_order(&token, &order()).await.unwrap();
    let json = serde_json::to_value(&created).unwrap();
    assert_eq!(json["order_id"], created.order_id());
    assert_eq!(json["idempotency_key"], created.idempotency_key().as_str());
    round_trip(&created);

    // A cancelled token: stop charging it.
    let cancelled = CustomerToken::new(tokens::CANCELLED).unwrap();
    let e = client.create_order(&cancelled, &order()).await.unwrap_err();
    assert_eq!(e.next_step(), NextStep::StopCharging);
    let report = round_trip(&e.report());
    assert_eq!(report.kind, "api");
    assert_eq!(report.status, Some(403));
    assert_eq!(report.error_code, Some(ErrorCode::TokenCancelled));
    assert_eq!(report.outcome, Some(OrderOutcome::NotCreated));
    assert_eq!(report.next_step, NextStep::StopCharging);
    assert_eq!(report.idempotency_key.as_ref(), e.idempotency_key());
    assert_eq!(report.attempts, Some(1));
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(tokens::CANCELLED), "{text}");
    assert!(!text.contains("sandbox-secret"), "{text}");

    // A suspended token: ask the customer.
    let suspended = CustomerToken::new(tokens::SUSPENDED).unwrap();
    let e = client.create_order(&suspended, &order()).await.unwrap_err();
    assert_eq!(e.next_step(), NextStep::AskCustomer);

    // A 503 on every attempt: the order may exist, reconcile with the key.
    sandbox.inject(
        Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
            .with_times(2)
            .with_operation(Operation::CreateOrder),
    );
    let e = client
        .create_order(&token, &order())
        .with_retry_policy(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.next_step(), NextStep::Reconcile);
    let report: ErrorReport = round_trip(&e.report());
    assert_eq!(report.outcome, Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(report.attempts, Some(2));

    // The same 503 on a read: retry later.
    sandbox.inject(
        Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
            .with_operation(Operation::ReadToken),
    );
    let e = client
        .read_token(&token)
        .with_retry_policy(RetryPolicy::none())
        .await
        .unwrap_err();
    assert!(matches!(e.next_step(), NextStep::RetryLater { .. }), "{e}");
}

/// Compile-time: every call and its future is `Send + 'static`.
#[test]
fn calls_and_their_futures_are_send_and_static() {
    fn check<T: Send + 'static>() {}
    check::<ReadTokenCall>();
    check::<CreateOrderCall>();
    check::<CancelTokenCall>();
    check::<CallFuture<()>>();
}

#[tokio::test]
async fn calls_spawn_into_a_join_set() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let mut created = tokio::task::JoinSet::new();
    let mut keys = Vec::new();
    for i in 0..8 {
        // Token and order live only for the making of the call.
        let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
        let order = order();
        let key = IdempotencyKey::for_charge("spawn-test", format!("sub-{i}"), 1);
        let call = client
            .create_order(&token, &order)
            .with_idempotency_key(key.clone());
        drop((token, order));
        keys.push(key);
        created.spawn(call.into_future());
    }
    let mut got = Vec::new();
    while let Some(done) = created.join_next().await {
        got.push(done.unwrap().unwrap().idempotency_key().clone());
    }
    got.sort();
    keys.sort();
    assert_eq!(got, keys);
    assert_eq!(sandbox.orders().len(), 8);

    let token = CustomerToken::new(tokens::ACTIVE_INVOICE).unwrap();
    let read = tokio::spawn(client.read_token(&token).into_future());
    let cancel = {
        let token = token.clone();
        let client = client.clone();
        let call = client.cancel_token(&token);
        drop((client, token));
        tokio::spawn(call.into_future())
    };
    read.await.unwrap().unwrap();
    cancel.await.unwrap().unwrap();
    assert_eq!(sandbox.token_status(&token), Some(TokenStatus::Cancelled));
}

#[tokio::test]
async fn a_refused_order_fails_at_the_await_with_the_final_key() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    let mut bad = serde_json::to_value(order()).unwrap();
    bad["order_amount"] = serde_json::json!(1);
    let bad = OrderRequest::from_json(&serde_json::to_vec(&bad).unwrap()).unwrap();
    // Making the call does not fail; the key can still be replaced.
    let call = client.create_order(&token, &bad);
    let first = call.idempotency_key().unwrap().clone();
    let key = IdempotencyKey::for_charge("refused", "sub-1", 1);
    assert_ne!(first, key);
    let e = call.with_idempotency_key(key.clone()).await.unwrap_err();
    assert!(matches!(e, Error::Validation(_)), "{e}");
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.next_step(), NextStep::FixRequest);
    assert!(e.validation().unwrap().at("order_amount").is_some(), "{e}");
    assert!(sandbox.requests().is_empty());
}

/// A client limited to the sandbox's own limit sends 40 requests, all in
/// flight at once, and the sandbox (fixed one-second windows) answers no 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_rate_limit_meets_the_servers() {
    let sandbox = Sandbox::builder().rate_limit(20).start().await.unwrap();
    let client = sandbox
        .client_builder()
        .rate_limit(20)
        // Any 429 surfaces as an error rather than being retried away.
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        // Clones share the limit.
        let client = client.clone();
        let call = if i % 2 == 0 {
            let key = IdempotencyKey::for_charge("rate", format!("sub-{i}"), 1);
            let call = client
                .create_order(&token, &order())
                .with_idempotency_key(key);
            Box::pin(async move { call.await.map(|_| ()) }) as CallFuture<()>
        } else {
            let call = client.read_token(&token);
            Box::pin(async move { call.await.map(|_| ()) })
        };
        calls.spawn(call);
    }
    let mut failures = Vec::new();
    while let Some(done) = calls.join_next().await {
        if let Err(e) = done.unwrap() {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(sandbox.orders().len(), 20);
}

/// The waits go through the client's clock; one that would pass the
/// deadline fails the call without sending it.
#[tokio::test]
async fn a_rate_limit_wait_past_the_deadline_fails_unsent() {
    let sandbox = Sandbox::start().await.unwrap();
    let clock = klarna_customer_token::clock::VirtualClock::new();
    let client = sandbox
        .client_builder()
        .clock(clock.clone())
        .rate_limit(1)
        .retry_policy(RetryPolicy::none().with_deadline(Duration::from_millis(500)))
        .build()
        .unwrap();
    let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    client.create_order(&token, &order()).await.unwrap();
    let call = client.create_order(&token, &order());
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.unwrap_err();
    assert!(matches!(e, Error::RateLimited(_)), "{e}");
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.attempts(), Some(0));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert!(
        matches!(e.next_step(), NextStep::RetryLater { after: Some(_) }),
        "{e}"
    );
    assert_eq!(e.report().kind, "rate_limited");
    assert!(e.to_string().contains("rate limit"), "{e}");
    assert_eq!(sandbox.orders().len(), 1);
    // Within a longer deadline the same wait is taken on the virtual clock.
    let before = clock.now();
    client
        .create_order(&token, &order())
        .with_retry_policy(RetryPolicy::none().with_deadline(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(
        clock.now() - before >= Duration::from_millis(500),
        "{:?}",
        clock.sleeps()
    );
    assert_eq!(sandbox.orders().len(), 2);
}

/// A rate-limit wait that ends the call after an attempt that may have
/// been processed leaves the order's fate open: reconcile, same key.
#[tokio::test]
async fn a_rate_limit_failure_after_an_ambiguous_attempt_is_reconciled() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.inject(Fault::drop_after_processing());
    let clock = klarna_customer_token::clock::VirtualClock::new();
    let client = sandbox
        .client_builder()
        .clock(clock.clone())
        .rate_limit(1)
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_deadline(Duration::from_millis(500)),
        )
        .build()
        .unwrap();
    let token = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    let call = client.create_order(&token, &order());
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.unwrap_err();
    assert!(matches!(e, Error::RateLimited(_)), "{e}");
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.next_step(), NextStep::Reconcile);
    assert_eq!(e.idempotency_key(), Some(&key));
    // The dropped attempt was processed: reconciling with the same key
    // returns that order and creates no second one.
    assert_eq!(sandbox.orders().len(), 1);
    clock.advance(Duration::from_secs(2));
    let again = client
        .create_order(&token, &order())
        .with_idempotency_key(key)
        .with_retry_policy(RetryPolicy::none().with_deadline(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(again.order_id(), sandbox.orders()[0].order_id);
    assert_eq!(sandbox.orders().len(), 1);
}
