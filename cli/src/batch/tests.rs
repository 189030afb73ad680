//! Unit tests of `batch`.

use std::time::Duration;

use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Event, Reason, Timestamp};
use klarna_customer_token::{CustomerToken, IdempotencyKey, NextStep, OrderRequest};

use super::load::Charge as Line;
use super::plan::{Plan, plan};
use super::summary::Ended;

fn line(id: &str, attempt: u32, name: &str) -> Line {
    Line {
        line: 1,
        token: CustomerToken::new("token-12345678").unwrap(),
        order: OrderRequest::from_json(
            format!(
                r#"{{"purchase_currency":"EUR","order_amount":100,"order_tax_amount":0,
                "order_lines":[{{"name":"{name}","quantity":1,"unit_price":100,"total_amount":100}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap(),
        charge_id: id.to_owned(),
        attempt,
    }
}

fn sent(charge: &mut Charge, line: &Line, at: Timestamp, answer: Option<Answer>) {
    let digest = BodyDigest::of(&line.token, &line.order).unwrap();
    charge.apply(Event::Intent {
        attempt: line.attempt,
        key: charge.key(line.attempt),
        digest: Some(digest),
        at,
    });
    if let Some(answer) = answer {
        let event = charge.answer(line.attempt, answer, at);
        charge.apply(event);
    }
}

#[test]
fn plans_follow_the_charge() {
    let hour = Duration::from_secs(3600);
    let t0 = Timestamp::from_millis(1_800_000_000_000);
    let now = t0 + hour;
    let key = IdempotencyKey::for_charge("ns", "c", 1);
    let mut c = Charge::new("ns", "c");
    assert!(matches!(
        plan(&line("c", 1, "a"), &c, now),
        Plan::Send { resend: false, key: k, .. } if k == key
    ));
    // Attempt 1 may have created an order; a re-send was refused by a 429.
    sent(
        &mut c,
        &line("c", 1, "a"),
        t0,
        Some(Answer::MayHaveBeenCreated),
    );
    let refused = Answer::Refused {
        step: NextStep::RetryLater { after: None },
    };
    sent(&mut c, &line("c", 1, "a"), t0, Some(refused));
    assert!(matches!(
        plan(&line("c", 1, "a"), &c, now),
        Plan::Send { resend: true, key: k, .. } if k == key
    ));
    assert!(matches!(
        plan(&line("c", 2, "a"), &c, now),
        Plan::Ended(Ended::OtherAttemptOpen)
    ));
    // The same charge with an edited order under the same key.
    assert!(matches!(
        plan(&line("c", 1, "b"), &c, now),
        Plan::Ended(Ended::BodyChanged)
    ));
    // Too old to reconcile.
    assert!(matches!(
        plan(&line("c", 1, "a"), &c, t0 + 23 * hour),
        Plan::Ended(Ended::NeedsPerson(Reason::WindowClosed { .. }))
    ));
    // Stamped in the future.
    assert!(matches!(
        plan(
            &line("c", 1, "a"),
            &c,
            Timestamp::from_millis(t0.as_millis() - 1)
        ),
        Plan::Ended(Ended::NeedsPerson(Reason::StampedInFuture { .. }))
    ));
    // Declined after processing: attempt 1 is settled, attempt 2 goes.
    sent(
        &mut c,
        &line("c", 1, "a"),
        t0,
        Some(Answer::Declined { after: None }),
    );
    assert!(matches!(
        plan(&line("c", 1, "a"), &c, now),
        Plan::Ended(Ended::Journaled(NextStep::RetryLater { .. }))
    ));
    assert!(matches!(
        plan(&line("c", 2, "a"), &c, now),
        Plan::Send { resend: false, .. }
    ));
    sent(
        &mut c,
        &line("c", 2, "a"),
        t0,
        Some(Answer::Created {
            order_id: Some("o".into()),
            fraud_status: None,
        }),
    );
    assert!(matches!(
        plan(&line("c", 3, "a"), &c, now),
        Plan::Ended(Ended::AlreadyCharged)
    ));
}

#[test]
fn a_journaled_stop_is_not_sent_again_under_its_attempt() {
    let t0 = Timestamp::from_millis(1_800_000_000_000);
    for (step, journaled) in [
        (NextStep::StopCharging, NextStep::StopCharging),
        (NextStep::AskCustomer, NextStep::AskCustomer),
        (NextStep::FixRequest, NextStep::FixRequest),
        (NextStep::FixConfiguration, NextStep::FixConfiguration),
    ] {
        let mut c = Charge::new("ns", "c");
        sent(
            &mut c,
            &line("c", 1, "a"),
            t0,
            Some(Answer::Refused { step }),
        );
        assert!(
            matches!(plan(&line("c", 1, "a"), &c, t0), Plan::Ended(Ended::Journaled(s)) if s == journaled),
            "{step:?}"
        );
        // Its key is unused: a new attempt goes.
        assert!(matches!(
            plan(&line("c", 2, "a"), &c, t0),
            Plan::Send { .. }
        ));
    }
    // A rate-limited attempt goes again with its unused key.
    let mut c = Charge::new("ns", "c");
    let later = Answer::Refused {
        step: NextStep::RetryLater { after: None },
    };
    sent(&mut c, &line("c", 1, "a"), t0, Some(later));
    assert!(matches!(
        plan(&line("c", 1, "a"), &c, t0),
        Plan::Send { resend: true, .. }
    ));
}

#[test]
fn notification_urls_are_signed_per_key_and_never_replaced() {
    use klarna_customer_token::notification::NotificationSigner;
    let signer = NotificationSigner::new(vec![3; 32]).unwrap();
    let with_urls = |extra: &str| Line {
        order: OrderRequest::from_json(
            format!(
                r#"{{"purchase_currency":"EUR","order_amount":100,"order_tax_amount":0,
                "merchant_urls":{{"confirmation":"https://s.example/t"{extra}}},
                "order_lines":[{{"name":"a","quantity":1,"unit_price":100,"total_amount":100}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap(),
        ..line("c", 2, "a")
    };
    let mut lines = vec![with_urls("")];
    super::load::sign_notifications(&mut lines, &signer, "https://s.example/n", "ns").unwrap();
    let expected = signer
        .url(
            "https://s.example/n",
            &IdempotencyKey::for_charge("ns", "c", 2),
        )
        .unwrap();
    assert_eq!(
        lines[0].order.merchant_urls().unwrap().notification(),
        Some(expected.as_str())
    );
    let mut own = vec![with_urls(r#","notification":"https://s.example/mine""#)];
    let err = super::load::sign_notifications(&mut own, &signer, "https://s.example/n", "ns")
        .unwrap_err();
    assert!(err[0].contains("already set"), "{err:?}");
    let mut none = vec![line("c", 1, "a")];
    let err = super::load::sign_notifications(&mut none, &signer, "https://s.example/n", "ns")
        .unwrap_err();
    assert!(err[0].contains("order.merchant_urls"), "{err:?}");
}
