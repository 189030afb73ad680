//! Pending orders end to end: a token under fraud review, decisions, and
//! the notification delivered by the sandbox to a receiver on 127.0.0.1
//! that verifies its URL and feeds the charge. The sandbox runs on virtual
//! time, so the 10-minute re-sends and the 24-hour window cost no real
//! time.

use std::time::Duration;

use klarna_customer_token::charge::{Charge, Next, Reason};
use klarna_customer_token::notification::{FraudEvent, FraudNotification, NotificationSigner};
use klarna_customer_token::{
    CreatedOrder, CustomerToken, FraudStatus, MerchantUrls, NextStep, OrderRequest,
    PaymentMethodType,
};
use klarna_customer_token_sandbox::{
    AttemptOutcome, DecisionError, DeliveryState, FraudDecision, FraudReview, NotificationDelivery,
    OrderFraudStatus, Sandbox, SandboxToken, tokens,
};

use crate::support::receiver::{self, Receiver, Script, charged, key_of, next, paid};
use crate::support::{order_with, within};

const MINUTE: Duration = Duration::from_secs(60);
const REVIEWED: &str = "under-review-token-0001";
const PLAIN: &str = "accepted-token-0002";

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .virtual_time()
        .token(
            SandboxToken::new(REVIEWED, PaymentMethodType::Card)
                .with_fraud_review(FraudReview::Pending),
        )
        .token(SandboxToken::new(PLAIN, PaymentMethodType::Invoice))
        .start()
        .await
        .expect("the sandbox starts")
}

fn token(id: &str) -> CustomerToken {
    CustomerToken::new(id).expect("token")
}

/// The order of charge `charge_id`, notified at `url`.
fn order_to(charge_id: &str, url: &str) -> OrderRequest {
    let base = order_with(charge_id);
    OrderRequest::builder()
        .purchase_currency("EUR")
        .merchant_reference1(charge_id)
        .merchant_urls(MerchantUrls::new("http://127.0.0.1/thanks").with_notification(url))
        .line(base.order_lines()[0].clone())
        .build()
        .expect("order")
}

/// Creates the order of `charge_id` with this notification URL and hands
/// the charge to the receiver; the created order.
async fn charge_with_url(
    sandbox: &Sandbox,
    receiver: &Receiver,
    token_id: &str,
    charge_id: &str,
    url: &str,
) -> CreatedOrder {
    let token = token(token_id);
    let order = order_to(charge_id, url);
    let created = sandbox
        .client()
        .create_order(&token, &order)
        .with_idempotency_key(key_of(charge_id))
        .await
        .expect("the order is created");
    receiver.hold(charged(charge_id, &token, &order, &created));
    created
}

/// [`charge_with_url`] with the charge's own signed URL.
async fn open_charge(
    sandbox: &Sandbox,
    receiver: &Receiver,
    token_id: &str,
    charge_id: &str,
) -> CreatedOrder {
    let url = receiver.url_for(&key_of(charge_id));
    charge_with_url(sandbox, receiver, token_id, charge_id, &url).await
}

/// Waits until the sandbox has made `attempts` attempts at every delivery
/// for this order and none is being sent; its deliveries then.
async fn settled(sandbox: &Sandbox, order_id: &str, attempts: usize) -> Vec<NotificationDelivery> {
    let deadline = tokio::time::Instant::now() + receiver::PATIENCE;
    loop {
        let deliveries: Vec<NotificationDelivery> = sandbox
            .notifications()
            .into_iter()
            .filter(|d| d.order_id == order_id)
            .collect();
        let made: usize = deliveries.iter().map(|d| d.attempts.len()).sum();
        if made >= attempts && deliveries.iter().all(|d| d.state != DeliveryState::Sending) {
            return deliveries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{made} attempts for {order_id}, not {attempts}: {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stored_status(sandbox: &Sandbox, order_id: &str) -> OrderFraudStatus {
    sandbox
        .orders()
        .into_iter()
        .find(|o| o.order_id == order_id)
        .expect("stored")
        .fraud_status
}

#[tokio::test]
async fn pending_then_accepted_is_paid_once_notified() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "acc-1").await;
        assert_eq!(created.fraud_status(), &FraudStatus::Pending);
        assert_eq!(
            stored_status(&sandbox, created.order_id()),
            OrderFraudStatus::Pending
        );
        let key = key_of("acc-1");
        assert!(!paid(&receiver.charge(&key)), "PENDING is not paid");
        assert!(matches!(
            next(&receiver.charge(&key)),
            Next::AwaitingReview { .. }
        ));

        sandbox.clock().advance(5 * MINUTE);
        let decided = sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        assert_eq!(decided.fraud_status, OrderFraudStatus::Accepted);

        let seen = receiver.wait_seen(1).await;
        assert_eq!(seen[0].status, 200);
        let body = FraudNotification::from_json(&seen[0].body).expect("Klarna's body");
        assert_eq!(body.order_id(), created.order_id());
        assert_eq!(body.event_type(), &FraudEvent::Accepted);
        let decided_at = body
            .field("decided_at")
            .and_then(|v| v.as_str())
            .expect("a time");
        assert!(
            decided_at.len() == 24
                && decided_at.ends_with('Z')
                && decided_at.as_bytes()[10] == b'T',
            "RFC 3339: {decided_at}"
        );
        assert!(paid(&receiver.charge(&key)));

        let deliveries = settled(&sandbox, created.order_id(), 1).await;
        assert_eq!(deliveries.len(), 1);
        let delivery = &deliveries[0];
        assert_eq!(delivery.state, DeliveryState::Delivered);
        assert_eq!(delivery.event_type, FraudEvent::Accepted);
        assert_eq!(delivery.url_path, "/notify", "the path only");
        assert_eq!(delivery.decided_at, 5 * MINUTE);
        assert_eq!(delivery.decided_at_rfc3339, decided_at);
        assert_eq!(delivery.attempts.len(), 1);
        assert_eq!(delivery.attempts[0].at, 5 * MINUTE);
        assert_eq!(delivery.attempts[0].outcome, AttemptOutcome::Status(200));
        let shown = format!("{:?}", sandbox.notifications());
        assert!(!shown.contains("klarna_sig"), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn pending_then_rejected_is_closed_unpaid_and_cannot_be_accepted() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "rej-1").await;
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Rejected)
            .expect("decided");
        receiver.wait_seen(1).await;
        let charge = receiver.charge(&key_of("rej-1"));
        assert!(!paid(&charge), "REJECTED is never paid");
        assert!(matches!(
            next(&charge),
            Next::ClosedUnpaid {
                step: NextStep::AskCustomer,
                ..
            }
        ));
        // Decided once: ACCEPTED and REJECTED need a PENDING order.
        for decision in [FraudDecision::Accepted, FraudDecision::Rejected] {
            assert_eq!(
                sandbox.decide_fraud(created.order_id(), decision),
                Err(DecisionError::NotPending {
                    order_id: created.order_id().to_owned(),
                    status: OrderFraudStatus::Rejected,
                    decision: decision.as_str(),
                })
            );
        }
        assert_eq!(
            sandbox.decide_fraud("no-such-order", FraudDecision::Stopped),
            Err(DecisionError::UnknownOrder("no-such-order".to_owned()))
        );
        assert_eq!(settled(&sandbox, created.order_id(), 1).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn stopped_after_accepted_needs_a_person_and_stopped_reaches_any_order() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "stop-1").await;
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("accepted");
        receiver.wait_seen(1).await;
        assert!(paid(&receiver.charge(&key_of("stop-1"))));
        let stopped = sandbox
            .decide_fraud(created.order_id(), FraudDecision::Stopped)
            .expect("STOPPED after ACCEPTED");
        assert_eq!(stopped.fraud_status, OrderFraudStatus::Stopped);
        let seen = receiver.wait_seen(2).await;
        assert_eq!(seen[1].status, 200);
        let charge = receiver.charge(&key_of("stop-1"));
        assert!(!paid(&charge), "stopped after acceptance is not paid");
        assert!(matches!(
            next(&charge),
            Next::NeedsPerson {
                reason: Reason::StoppedAfterAcceptance { .. }
            }
        ));

        // An order that was never pending can be stopped too.
        let plain = open_charge(&sandbox, &receiver, PLAIN, "stop-2").await;
        assert_eq!(plain.fraud_status(), &FraudStatus::Accepted);
        assert!(matches!(
            sandbox.decide_fraud(plain.order_id(), FraudDecision::Accepted),
            Err(DecisionError::NotPending { .. })
        ));
        sandbox
            .decide_fraud(plain.order_id(), FraudDecision::Stopped)
            .expect("STOPPED on any order");
        let seen = receiver.wait_seen(3).await;
        let body = FraudNotification::from_json(&seen[2].body).expect("body");
        assert_eq!(
            (body.order_id(), body.event_type()),
            (plain.order_id(), &FraudEvent::Stopped)
        );
        assert!(!paid(&receiver.charge(&key_of("stop-2"))));
    })
    .await;
}

#[tokio::test]
async fn the_same_notification_delivered_twice_gives_the_same_charge() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "dup-1").await;
        // The receiver applies the first delivery, but its 200 is lost.
        receiver.script(&[Script::ApplyThenFail]);
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        receiver.wait_seen(1).await;
        let once = receiver.charge(&key_of("dup-1"));
        settled(&sandbox, created.order_id(), 1).await;
        sandbox.clock().advance(10 * MINUTE);
        let seen = receiver.wait_seen(2).await;
        assert_eq!(seen[0].body, seen[1].body, "the same notification");
        assert_eq!(seen[0].path_and_query, seen[1].path_and_query);
        assert_eq!((seen[0].status, seen[1].status), (500, 200));
        let twice = receiver.charge(&key_of("dup-1"));
        assert_eq!(next(&twice), next(&once));
        assert!(paid(&twice));
        assert_eq!(receiver.journal().len(), 2, "both journaled");
        let deliveries = settled(&sandbox, created.order_id(), 2).await;
        assert_eq!(deliveries[0].state, DeliveryState::Delivered);
        assert_eq!(
            deliveries[0]
                .attempts
                .iter()
                .map(|a| (a.at, a.outcome.clone()))
                .collect::<Vec<_>>(),
            [
                (Duration::ZERO, AttemptOutcome::Status(500)),
                (10 * MINUTE, AttemptOutcome::Status(200)),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn deliveries_out_of_order_give_the_charge_of_deliveries_in_order() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "ooo-1").await;
        let before = receiver.charge(&key_of("ooo-1"));
        // ACCEPTED fails once; STOPPED, decided after it, arrives first.
        receiver.script(&[Script::Fail]);
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("accepted");
        receiver.wait_seen(1).await;
        settled(&sandbox, created.order_id(), 1).await;
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Stopped)
            .expect("stopped");
        receiver.wait_seen(2).await;
        sandbox.clock().advance(10 * MINUTE);
        let seen = receiver.wait_seen(3).await;
        let events: Vec<FraudEvent> = seen
            .iter()
            .map(|s| {
                FraudNotification::from_json(&s.body)
                    .expect("body")
                    .event_type()
                    .clone()
            })
            .collect();
        assert_eq!(
            events,
            [
                FraudEvent::Accepted,
                FraudEvent::Stopped,
                FraudEvent::Accepted
            ]
        );
        assert_eq!(
            seen.iter().map(|s| s.status).collect::<Vec<_>>(),
            [500, 200, 200]
        );
        let out_of_order = receiver.charge(&key_of("ooo-1"));
        // The same events applied in the order they were decided.
        let mut in_order: Charge = before;
        let journal = receiver.journal();
        for (_, event) in journal.iter().rev() {
            in_order.apply(event.clone());
        }
        assert_eq!(next(&out_of_order), next(&in_order));
        assert!(matches!(
            next(&out_of_order),
            Next::NeedsPerson {
                reason: Reason::StoppedAfterAcceptance { .. }
            }
        ));
        assert!(!paid(&out_of_order));
    })
    .await;
}

#[tokio::test]
async fn a_receiver_down_for_three_deliveries_gets_the_fourth_ten_minutes_apart() {
    within(async {
        let sandbox = sandbox().await;
        let mut receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "down-1").await;
        let order_id = created.order_id();
        // Down: a 500, then twice no one listening.
        receiver.script(&[Script::Fail]);
        sandbox
            .decide_fraud(order_id, FraudDecision::Accepted)
            .expect("decided");
        settled(&sandbox, order_id, 1).await;
        receiver.down();
        for n in 2..=3 {
            sandbox.clock().advance(10 * MINUTE);
            settled(&sandbox, order_id, n).await;
        }
        // Nothing is re-sent before the next 10-minute step.
        sandbox.clock().advance(9 * MINUTE);
        receiver.up().await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(receiver.seen().len(), 1, "only the 500 reached it");
        sandbox.clock().advance(MINUTE);
        let seen = receiver.wait_seen(2).await;
        assert_eq!(seen[1].status, 200);
        let deliveries = settled(&sandbox, order_id, 4).await;
        let attempts = &deliveries[0].attempts;
        let times: Vec<Duration> = attempts.iter().map(|a| a.at).collect();
        assert_eq!(
            times,
            [Duration::ZERO, 10 * MINUTE, 20 * MINUTE, 30 * MINUTE]
        );
        assert_eq!(attempts[0].outcome, AttemptOutcome::Status(500));
        for refused in &attempts[1..3] {
            match &refused.outcome {
                AttemptOutcome::Failed(error) => {
                    assert!(error.contains("connect"), "{error}");
                    assert!(!error.contains("klarna_sig"), "{error}");
                }
                other => panic!("not a transport error: {other:?}"),
            }
        }
        assert_eq!(attempts[3].outcome, AttemptOutcome::Status(200));
        assert_eq!(deliveries[0].state, DeliveryState::Delivered);
        assert!(paid(&receiver.charge(&key_of("down-1"))));
    })
    .await;
}

#[tokio::test]
async fn a_forged_url_is_refused_and_changes_nothing() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let key = key_of("forged-1");
        // Signed with another secret, and with the MAC altered.
        let other = NotificationSigner::new(vec![9u8; 32]).expect("signer");
        let foreign = other.url(&receiver.base(), &key).expect("url");
        let good = receiver.url_for(&key);
        let (head, sig) = good.split_once("klarna_sig=").expect("signed");
        let mut sig = sig.to_owned();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, flipped);
        let altered = format!("{head}klarna_sig={sig}");
        let unsigned = receiver.base();
        let created = charge_with_url(&sandbox, &receiver, REVIEWED, "forged-1", &foreign).await;
        let before = receiver.charge(&key);
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        let seen = receiver.wait_seen(1).await;
        assert_eq!(seen[0].status, 403);
        assert_eq!(receiver.charge(&key), before, "nothing applied");
        assert!(!paid(&before));
        // The altered and the unsigned URL, posted by anyone.
        let body = seen[0].body.clone();
        for url in [altered, unsigned] {
            let response = crate::support::http()
                .post(&url)
                .body(body.clone())
                .send()
                .await
                .expect("an answer");
            assert_eq!(response.status().as_u16(), 403, "{url}");
        }
        assert_eq!(receiver.charge(&key), before, "nothing applied");
        // The sandbox keeps re-sending: a 403 is not a 200.
        let deliveries = settled(&sandbox, created.order_id(), 1).await;
        assert_eq!(
            deliveries[0].state,
            DeliveryState::Pending {
                next_at: 10 * MINUTE
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_verified_url_with_another_order_id_is_refused() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let a = open_charge(&sandbox, &receiver, REVIEWED, "mix-a").await;
        // Order B carries A's (valid) notification URL.
        let url_of_a = receiver.url_for(&key_of("mix-a"));
        let b = charge_with_url(&sandbox, &receiver, REVIEWED, "mix-b", &url_of_a).await;
        sandbox
            .decide_fraud(b.order_id(), FraudDecision::Accepted)
            .expect("decided");
        let seen = receiver.wait_seen(1).await;
        let body = FraudNotification::from_json(&seen[0].body).expect("body");
        assert_eq!(body.order_id(), b.order_id());
        assert_eq!(seen[0].status, 409, "A's key did not create B's order");
        assert!(receiver.journal().is_empty());
        assert!(matches!(
            next(&receiver.charge(&key_of("mix-a"))),
            Next::AwaitingReview { order_id: Some(id), .. } if id == a.order_id()
        ));
        assert!(matches!(
            next(&receiver.charge(&key_of("mix-b"))),
            Next::AwaitingReview { .. }
        ));
    })
    .await;
}

#[tokio::test]
async fn nothing_is_delivered_after_24_hours() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "late-1").await;
        let order_id = created.order_id();
        receiver.script(&[Script::Fail, Script::Fail, Script::Fail]);
        sandbox
            .decide_fraud(order_id, FraudDecision::Accepted)
            .expect("decided");
        settled(&sandbox, order_id, 1).await;
        // The last two steps of the window: 23 h 50 min and 24 h.
        sandbox.clock().advance(23 * 60 * MINUTE + 50 * MINUTE);
        settled(&sandbox, order_id, 2).await;
        sandbox.clock().advance(10 * MINUTE);
        let deliveries = settled(&sandbox, order_id, 3).await;
        let times: Vec<Duration> = deliveries[0].attempts.iter().map(|a| a.at).collect();
        assert_eq!(times, [Duration::ZERO, 1430 * MINUTE, 1440 * MINUTE]);
        assert_eq!(deliveries[0].state, DeliveryState::GivenUp);
        // The receiver would answer 200 now: nothing comes.
        sandbox.clock().advance(10 * MINUTE);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(receiver.seen().len(), 3);
        assert!(!paid(&receiver.charge(&key_of("late-1"))));
        assert!(matches!(
            next(&receiver.charge(&key_of("late-1"))),
            Next::AwaitingReview { .. }
        ));
    })
    .await;
}

#[tokio::test]
async fn a_notification_url_beyond_loopback_is_refused_at_create_order() {
    within(async {
        let sandbox = sandbox().await;
        let signer = receiver::signer();
        for base in [
            "http://receiver.invalid/notify",
            "https://shop.invalid:8443/klarna",
            "http://10.0.0.1/notify",
            "http://[fd00::1]/notify",
        ] {
            let url = signer.url(base, &key_of("far-1")).expect("signed");
            let e = sandbox
                .client()
                .create_order(&token(REVIEWED), &order_to("far-1", &url))
                .await
                .expect_err("refused");
            assert_eq!(e.status(), Some(400), "{base}");
            let messages = e.api().expect("an API error").error_messages().join("; ");
            assert!(
                messages.starts_with("merchant_urls.notification: ")
                    && messages.contains("loopback")
                    && !messages.contains("klarna_sig"),
                "{messages}"
            );
        }
        assert!(sandbox.orders().is_empty(), "nothing stored");
        assert!(sandbox.notifications().is_empty());

        // An operator may allow a host; nothing is decided here, so nothing
        // is sent to it.
        let allowing = Sandbox::builder()
            .notify_allow("receiver.invalid")
            .start()
            .await
            .expect("start");
        let url = signer
            .url("http://receiver.invalid/notify", &key_of("far-2"))
            .expect("signed");
        allowing
            .client()
            .create_order(&token(tokens::ACTIVE_INVOICE), &order_to("far-2", &url))
            .await
            .expect("an allowed host");
        let url = signer
            .url("http://other.invalid/notify", &key_of("far-3"))
            .expect("signed");
        assert!(
            allowing
                .client()
                .create_order(&token(tokens::ACTIVE_INVOICE), &order_to("far-3", &url))
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_under_review_round_trips_through_json() {
    let tokens = SandboxToken::from_json(
        br#"[{"id":"json-review-0001","payment_method_type":"CARD","fraud_review":"pending"},
             {"id":"json-review-0002","payment_method_type":"CARD","fraud_review":"off"},
             {"id":"json-review-0003","payment_method_type":"CARD"}]"#,
    )
    .expect("valid");
    assert_eq!(
        tokens.iter().map(|t| t.fraud_review()).collect::<Vec<_>>(),
        [FraudReview::Pending, FraudReview::Off, FraudReview::Off]
    );
    let e = SandboxToken::from_json(
        br#"{"id":"json-review-0004","payment_method_type":"CARD","fraud_review":"maybe"}"#,
    )
    .expect_err("refused");
    assert_eq!(e.path(), "[0].fraud_review", "{e}");
}

#[tokio::test]
async fn localhost_is_delivered_to_on_loopback() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let url = receiver
            .url_for(&key_of("local-1"))
            .replace("127.0.0.1", "localhost");
        let created = charge_with_url(&sandbox, &receiver, REVIEWED, "local-1", &url).await;
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        let seen = receiver.wait_seen(1).await;
        assert_eq!(seen[0].status, 200);
        assert!(paid(&receiver.charge(&key_of("local-1"))));
    })
    .await;
}

#[tokio::test]
async fn the_worker_stops_with_the_sandbox() {
    within(async {
        let clock = klarna_customer_token::clock::VirtualClock::new();
        let sandbox = Sandbox::builder()
            .clock(clock.clone())
            .token(
                SandboxToken::new(REVIEWED, PaymentMethodType::Card)
                    .with_fraud_review(FraudReview::Pending),
            )
            .start()
            .await
            .expect("start");
        let receiver = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "gone-1").await;
        receiver.script(&[Script::Fail]);
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        settled(&sandbox, created.order_id(), 1).await;
        drop(sandbox);
        // The re-send would be due now, had the sandbox lived.
        clock.advance(10 * MINUTE);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(receiver.seen().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_counts_as_undelivered() {
    within(async {
        let sandbox = sandbox().await;
        let receiver = Receiver::start().await;
        let elsewhere = Receiver::start().await;
        let created = open_charge(&sandbox, &receiver, REVIEWED, "redir-1").await;
        // Even to another loopback receiver, with a valid URL of its own.
        let location = elsewhere.url_for(&key_of("redir-1"));
        receiver.script(&[Script::Redirect(location)]);
        sandbox
            .decide_fraud(created.order_id(), FraudDecision::Accepted)
            .expect("decided");
        let deliveries = settled(&sandbox, created.order_id(), 1).await;
        assert_eq!(
            deliveries[0].attempts[0].outcome,
            AttemptOutcome::Status(302)
        );
        assert_eq!(
            deliveries[0].state,
            DeliveryState::Pending {
                next_at: 10 * MINUTE
            }
        );
        sandbox.clock().advance(10 * MINUTE);
        let seen = receiver.wait_seen(2).await;
        assert_eq!(seen[1].status, 200);
        assert!(elsewhere.seen().is_empty(), "the redirect was not followed");
    })
    .await;
}
