//! Unit tests of `batch`.

use klarna_customer_token::{CustomerToken, IdempotencyKey, NextStep, OrderOutcome, OrderRequest};

use super::load::Charge;
use super::plan::{Plan, plan};
use crate::journal::{AttemptState, States};

fn charge(id: &str, attempt: u32) -> Charge {
    Charge {
        line: 1,
        token: CustomerToken::new("token-12345678").unwrap(),
        order: OrderRequest::from_json(
            br#"{"purchase_currency":"EUR","order_amount":100,"order_tax_amount":0,
                "order_lines":[{"name":"a","quantity":1,"unit_price":100,"total_amount":100}]}"#,
        )
        .unwrap(),
        charge_id: id.to_owned(),
        attempt,
    }
}

#[test]
fn plans_follow_the_journal() {
    let hour = 3_600_000;
    let now = 100 * hour;
    let key = IdempotencyKey::for_charge("ns", "c", 1);
    let mut states = States::new();
    assert!(matches!(
        plan(&charge("c", 1), "ns", &states, now),
        Plan::Send { resend: false, key: k } if k == key
    ));
    let open = AttemptState {
        key: Some(key.clone()),
        first_sent_ms: Some(now - hour),
        open: true,
        ..Default::default()
    };
    states
        .entry("c".into())
        .or_default()
        .insert(1, open.clone());
    assert!(matches!(
        plan(&charge("c", 1), "ns", &states, now),
        Plan::Send { resend: true, key: k } if k == key
    ));
    assert!(matches!(
        plan(&charge("c", 2), "ns", &states, now),
        Plan::OtherAttemptOpen { attempt: 1 }
    ));
    let old = AttemptState {
        first_sent_ms: Some(now - 25 * hour),
        ..open
    };
    states.entry("c".into()).or_default().insert(1, old);
    assert!(matches!(
        plan(&charge("c", 1), "ns", &states, now),
        Plan::TooOld { .. }
    ));
    let declined = AttemptState {
        key: Some(key),
        failed: Some((
            NextStep::RetryLater { after: None },
            Some(OrderOutcome::NotCreated),
        )),
        ..Default::default()
    };
    states.entry("c".into()).or_default().insert(1, declined);
    assert!(matches!(
        plan(&charge("c", 1), "ns", &states, now),
        Plan::Journaled(NextStep::RetryLater { .. }, _)
    ));
    assert!(matches!(
        plan(&charge("c", 2), "ns", &states, now),
        Plan::Send { resend: false, .. }
    ));
    states.entry("c".into()).or_default().insert(
        2,
        AttemptState {
            charged: true,
            ..Default::default()
        },
    );
    assert!(matches!(
        plan(&charge("c", 3), "ns", &states, now),
        Plan::AlreadyCharged
    ));
}
