//! The charge and Klarna's fraud review: pending orders, decisions, and
//! notifications for orders the charge does not hold.

use super::*;
use crate::enums::FraudStatus;
use crate::notification::FraudNotification;

fn pending(c: &mut Charge, id: &str) {
    send(c, 1, 1, T0);
    answer(
        c,
        1,
        Answer::Created {
            order_id: Some(id.to_owned()),
            fraud_status: Some(FraudStatus::Pending),
        },
        T0,
    );
}

fn notify(
    c: &Charge,
    key: &IdempotencyKey,
    order: &str,
    event: &str,
) -> Result<Event, NotificationRefused> {
    let body = format!(r#"{{"order_id":"{order}","event_type":"{event}"}}"#);
    let n = FraudNotification::from_json(body.as_bytes()).unwrap();
    c.notification(key, &n, T0)
}

fn decide(c: &mut Charge, event: &str) {
    let key = c.key(1);
    let e = notify(c, &key, "o-1", event).unwrap();
    c.apply(e);
}

#[test]
fn a_pending_order_is_not_paid_until_accepted() {
    let mut c = charge();
    pending(&mut c, "o-1");
    assert_eq!(
        c.next(T0),
        Next::AwaitingReview {
            attempt: 1,
            order_id: Some("o-1".into())
        }
    );
    assert!(c.is_charged() && !c.is_paid(T0));
    // No new attempt while an order exists.
    assert!(matches!(
        c.intent(2, digest(1), T0),
        Err(SendRefused::AlreadyCharged { attempt: 1, .. })
    ));
    decide(&mut c, "FRAUD_RISK_ACCEPTED");
    assert_eq!(
        c.next(T0),
        Next::Done {
            attempt: 1,
            order_id: Some("o-1".into())
        }
    );
    assert!(c.is_paid(T0));
    // The same notification again changes nothing.
    let before = c.clone();
    decide(&mut c, "FRAUD_RISK_ACCEPTED");
    assert_eq!(c.next(T0), before.next(T0));
}

#[test]
fn rejected_and_stopped_close_a_pending_order_unpaid() {
    for (event, step) in [
        ("FRAUD_RISK_REJECTED", NextStep::AskCustomer),
        ("FRAUD_RISK_STOPPED", NextStep::StopCharging),
    ] {
        let mut c = charge();
        pending(&mut c, "o-1");
        decide(&mut c, event);
        decide(&mut c, event);
        assert_eq!(
            c.next(T0),
            Next::ClosedUnpaid {
                attempt: 1,
                order_id: Some("o-1".into()),
                step
            }
        );
        assert!(!c.is_paid(T0));
        assert!(c.intent(2, digest(1), T0).is_err());
    }
}

#[test]
fn stopped_after_accepted_needs_a_person_in_any_delivery_order() {
    let stopped = Next::NeedsPerson {
        reason: Reason::StoppedAfterAcceptance { attempt: 1 },
    };
    for order in [
        ["FRAUD_RISK_ACCEPTED", "FRAUD_RISK_STOPPED"],
        ["FRAUD_RISK_STOPPED", "FRAUD_RISK_ACCEPTED"],
    ] {
        let mut c = charge();
        pending(&mut c, "o-1");
        for event in order {
            decide(&mut c, event);
        }
        assert_eq!(c.next(T0), stopped, "{order:?}");
    }
    // An order accepted at creation, then stopped (it was never pending).
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(
        &mut c,
        1,
        Answer::Created {
            order_id: Some("o-1".into()),
            fraud_status: Some(FraudStatus::Accepted),
        },
        T0,
    );
    decide(&mut c, "FRAUD_RISK_STOPPED");
    assert_eq!(c.next(T0), stopped);
    // Accepted and rejected both: a person reads the order back.
    let mut c = charge();
    pending(&mut c, "o-1");
    decide(&mut c, "FRAUD_RISK_REJECTED");
    decide(&mut c, "FRAUD_RISK_ACCEPTED");
    assert_eq!(
        c.next(T0),
        Next::NeedsPerson {
            reason: Reason::ConflictingDecisions { attempt: 1 }
        }
    );
}

#[test]
fn a_notification_for_an_order_the_charge_does_not_hold_is_refused() {
    let mut c = charge();
    pending(&mut c, "o-1");
    let key = c.key(1);
    assert_eq!(
        notify(&c, &key, "o-2", "FRAUD_RISK_ACCEPTED"),
        Err(NotificationRefused::OtherOrder)
    );
    assert_eq!(
        notify(&c, &c.key(2), "o-1", "FRAUD_RISK_ACCEPTED"),
        Err(NotificationRefused::UnknownKey)
    );
    assert_eq!(
        notify(&c, &key, "o-1", "FRAUD_RISK_NEW"),
        Err(NotificationRefused::UnknownEvent("FRAUD_RISK_NEW".into()))
    );
    // An event for another order, applied anyway (a hand-edited journal),
    // changes nothing.
    c.apply(Event::Notification {
        attempt: 1,
        order_id: "o-2".into(),
        event_type: FraudEvent::Accepted,
        at: T0,
    });
    assert!(matches!(c.next(T0), Next::AwaitingReview { .. }));
    // A charge without an order refuses every notification.
    let mut open = charge();
    send(&mut open, 1, 1, T0);
    assert_eq!(
        notify(&open, &open.key(1), "o-1", "FRAUD_RISK_ACCEPTED"),
        Err(NotificationRefused::OtherOrder)
    );
}
