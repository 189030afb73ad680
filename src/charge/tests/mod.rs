use super::*;

mod review;

const T0: Timestamp = Timestamp::from_millis(1_800_000_000_000);

fn digest(n: u8) -> BodyDigest {
    BodyDigest::from_hex(&format!("{n:02x}").repeat(32)).unwrap()
}

fn charge() -> Charge {
    Charge::new("ns", "sub-1/2026-12")
}

fn send(charge: &mut Charge, attempt: u32, body: u8, at: Timestamp) {
    let intent = charge.intent(attempt, digest(body), at).unwrap();
    charge.apply(intent);
}

fn answer(charge: &mut Charge, attempt: u32, answer: Answer, at: Timestamp) {
    let event = charge.answer(attempt, answer, at);
    charge.apply(event);
}

fn refused(step: NextStep) -> Answer {
    Answer::Refused { step }
}

fn later() -> NextStep {
    NextStep::RetryLater { after: None }
}

fn created(id: &str) -> Answer {
    Answer::Created {
        order_id: Some(id.to_owned()),
        fraud_status: None,
    }
}

#[test]
fn a_new_charge_sends_attempt_one() {
    let c = charge();
    assert_eq!(
        c.next(T0),
        Next::Send {
            attempt: 1,
            key: IdempotencyKey::for_charge("ns", "sub-1/2026-12", 1),
            digest: None,
            not_before: None,
        }
    );
}

/// The first run of issue "charges twice after a refused re-send": every
/// refusal before processing of the re-send leaves attempt 1 open.
#[test]
fn a_refused_resend_keeps_an_ambiguous_attempt_open() {
    let steps = [
        later(),
        NextStep::FixConfiguration,
        NextStep::FixRequest,
        NextStep::AskCustomer,
        NextStep::StopCharging,
        NextStep::RetryLater {
            after: Some(Duration::from_secs(3)),
        },
    ];
    for step in steps {
        let mut c = charge();
        send(&mut c, 1, 1, T0);
        answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
        send(&mut c, 1, 1, T0);
        answer(&mut c, 1, refused(step), T0);
        let token_unusable = matches!(step, NextStep::AskCustomer | NextStep::StopCharging);
        if token_unusable {
            // Re-sending cannot settle it while the token is unusable.
            assert_eq!(
                c.next(T0),
                Next::NeedsPerson {
                    reason: Reason::TokenUnusable { attempt: 1 }
                }
            );
        } else if step == NextStep::FixRequest {
            // Nor when the only body the key may carry is refused as wrong:
            // it will be refused the same way every time.
            assert_eq!(
                c.next(T0),
                Next::NeedsPerson {
                    reason: Reason::ResendRefused { attempt: 1 }
                }
            );
        } else {
            assert!(
                matches!(c.next(T0), Next::Reconcile { attempt: 1, .. }),
                "{step:?}: {:?}",
                c.next(T0)
            );
        }
        assert_eq!(
            c.intent(2, digest(1), T0),
            Err(SendRefused::OtherAttemptOpen {
                attempt: 2,
                open: 1
            }),
            "{step:?}"
        );
    }
}

#[test]
fn a_crash_after_the_intent_is_open() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    let Next::Reconcile {
        attempt,
        digest: d,
        deadline,
        ..
    } = c.next(T0)
    else {
        panic!("{:?}", c.next(T0));
    };
    assert_eq!((attempt, d), (1, Some(digest(1))));
    assert_eq!(deadline, T0 + (KEY_WINDOW - KEY_WINDOW_MARGIN));
}

#[test]
fn an_edited_body_under_a_sent_key_is_refused() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
    assert_eq!(
        c.intent(1, digest(2), T0),
        Err(SendRefused::BodyChanged { attempt: 1 })
    );
    // Also for a key known unused: the key stays bound to its first body;
    // a new attempt carries the new one.
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, refused(NextStep::FixRequest), T0);
    assert_eq!(
        c.intent(1, digest(2), T0),
        Err(SendRefused::BodyChanged { attempt: 1 })
    );
    assert!(c.intent(2, digest(2), T0).is_ok());
}

#[test]
fn a_key_mismatch_needs_a_person_and_never_a_new_attempt() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, Answer::KeyMismatch, T0);
    assert_eq!(
        c.next(T0),
        Next::NeedsPerson {
            reason: Reason::KeyMismatch { attempt: 1 }
        }
    );
    assert!(matches!(
        c.intent(2, digest(1), T0),
        Err(SendRefused::OtherAttemptOpen { .. })
    ));
    assert!(matches!(
        c.intent(1, digest(1), T0),
        Err(SendRefused::NeedsPerson(Reason::KeyMismatch { .. }))
    ));
    // A later refusal does not erase it.
    answer(&mut c, 1, refused(later()), T0);
    assert!(matches!(c.next(T0), Next::NeedsPerson { .. }));
}

#[test]
fn a_processed_decline_closes_an_open_key_and_allows_a_new_one() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
    send(&mut c, 1, 1, T0);
    let after = Some(Duration::from_secs(60));
    answer(&mut c, 1, Answer::Declined { after }, T0);
    assert_eq!(
        c.next(T0),
        Next::NewAttempt {
            attempt: 2,
            key: c.key(2),
            not_before: Some(T0 + Duration::from_secs(60)),
        }
    );
    assert_eq!(
        c.intent(1, digest(1), T0),
        Err(SendRefused::AttemptSettled {
            attempt: 1,
            next: 2
        })
    );
    assert!(c.intent(2, digest(1), T0).is_ok());
}

#[test]
fn a_refusal_of_an_unused_key_lets_the_same_key_go_again() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    let after = Some(Duration::from_secs(2));
    answer(&mut c, 1, refused(NextStep::RetryLater { after }), T0);
    assert_eq!(
        c.next(T0),
        Next::Send {
            attempt: 1,
            key: c.key(1),
            digest: Some(digest(1)),
            not_before: Some(T0 + Duration::from_secs(2)),
        }
    );
    // Another body moves to a new attempt.
    assert_eq!(
        c.next_for(digest(2), T0),
        Next::NewAttempt {
            attempt: 2,
            key: c.key(2),
            not_before: Some(T0 + Duration::from_secs(2)),
        }
    );
    assert_eq!(c.next_for(digest(1), T0), c.next(T0));
    // A new key is safe too: the old one is known unused.
    assert!(c.intent(2, digest(1), T0).is_ok());
}

#[test]
fn per_call_steps_of_an_unused_key() {
    let rows = [
        (NextStep::AskCustomer, Next::AskCustomer),
        (NextStep::StopCharging, Next::Stop),
        (
            NextStep::FixRequest,
            Next::NeedsPerson {
                reason: Reason::FixRequest { attempt: 1 },
            },
        ),
        (
            NextStep::FixConfiguration,
            Next::NeedsPerson {
                reason: Reason::FixConfiguration { attempt: 1 },
            },
        ),
    ];
    for (step, next) in rows {
        let mut c = charge();
        send(&mut c, 1, 1, T0);
        answer(&mut c, 1, refused(step), T0);
        assert_eq!(c.next(T0), next, "{step:?}");
    }
}

#[test]
fn the_window_and_the_clock() {
    let margin_edge = T0 + (KEY_WINDOW - KEY_WINDOW_MARGIN);
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
    let just_before = Timestamp::from_millis(margin_edge.as_millis() - 1);
    assert!(matches!(c.next(just_before), Next::Reconcile { .. }));
    assert!(c.intent(1, digest(1), just_before).is_ok());
    for now in [margin_edge, T0 + KEY_WINDOW, T0 + 3 * KEY_WINDOW] {
        assert_eq!(
            c.next(now),
            Next::NeedsPerson {
                reason: Reason::WindowClosed {
                    attempt: 1,
                    first_sent: T0
                }
            }
        );
        assert!(matches!(
            c.intent(1, digest(1), now),
            Err(SendRefused::NeedsPerson(Reason::WindowClosed { .. }))
        ));
    }
    // A re-send does not restart the window: it runs from the first send.
    send(&mut c, 1, 1, just_before);
    assert!(matches!(
        c.next(margin_edge),
        Next::NeedsPerson {
            reason: Reason::WindowClosed { first_sent: T0, .. }
        }
    ));
    // Stamped in the future.
    let earlier = Timestamp::from_millis(T0.as_millis() - 1);
    assert_eq!(
        c.next(earlier),
        Next::NeedsPerson {
            reason: Reason::StampedInFuture {
                attempt: 1,
                first_sent: T0
            }
        }
    );
}

#[test]
fn a_person_settles_an_attempt() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
    let late = T0 + KEY_WINDOW;
    assert!(matches!(c.next(late), Next::NeedsPerson { .. }));
    let mut not_created = c.clone();
    not_created.apply(Event::Resolved {
        attempt: 1,
        created: false,
        order_id: None,
        fraud_status: None,
        at: late,
    });
    assert!(matches!(
        not_created.next(late),
        Next::NewAttempt { attempt: 2, .. }
    ));
    c.apply(Event::Resolved {
        attempt: 1,
        created: true,
        order_id: Some("o-1".into()),
        fraud_status: None,
        at: late,
    });
    assert_eq!(
        c.next(late),
        Next::Done {
            attempt: 1,
            order_id: Some("o-1".into())
        }
    );
    assert!(matches!(
        c.intent(2, digest(1), late),
        Err(SendRefused::AlreadyCharged { attempt: 1, .. })
    ));
}

#[test]
fn a_created_answer_wins_and_keeps_a_known_id() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(
        &mut c,
        1,
        Answer::Created {
            order_id: None,
            fraud_status: None,
        },
        T0,
    );
    assert_eq!(
        c.next(T0),
        Next::Done {
            attempt: 1,
            order_id: None
        }
    );
    answer(&mut c, 1, created("o-9"), T0);
    answer(
        &mut c,
        1,
        Answer::Created {
            order_id: None,
            fraud_status: None,
        },
        T0,
    );
    assert_eq!(
        c.next(T0),
        Next::Done {
            attempt: 1,
            order_id: Some("o-9".into())
        }
    );
    answer(&mut c, 1, Answer::MayHaveBeenCreated, T0);
    assert!(c.is_charged());
}

#[test]
fn attempt_zero_is_refused() {
    assert_eq!(
        charge().intent(0, digest(1), T0),
        Err(SendRefused::AttemptZero)
    );
}

#[test]
fn a_journal_without_digests_adopts_the_first_one_seen() {
    let mut c = charge();
    c.apply(Event::Intent {
        attempt: 1,
        key: c.key(1),
        digest: None,
        at: T0,
    });
    send(&mut c, 1, 7, T0);
    assert_eq!(
        c.intent(1, digest(8), T0),
        Err(SendRefused::BodyChanged { attempt: 1 })
    );
}

#[test]
fn digests_round_trip_through_hex() {
    let d = digest(0xab);
    assert_eq!(BodyDigest::from_hex(&d.to_hex()), Some(d));
    assert_eq!(BodyDigest::from_hex("ab"), None);
    assert_eq!(BodyDigest::from_hex(&"zz".repeat(32)), None);
    assert_eq!(format!("{d:?}"), "BodyDigest(abababababab)");
}

#[cfg(feature = "serde")]
#[test]
fn events_and_charges_serialize() {
    let mut c = charge();
    let intent = c.intent(1, digest(1), T0).unwrap();
    let json = serde_json::to_string(&intent).unwrap();
    assert!(
        json.starts_with(r#"{"event":"intent","attempt":1,"key":""#),
        "{json}"
    );
    let back: Event = serde_json::from_str(&json).unwrap();
    assert_eq!(back, intent);
    c.apply(intent);
    let event = c.answer(1, refused(later()), T0);
    let json = serde_json::to_string(&event).unwrap();
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    c.apply(event);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Charge>(&json).unwrap(), c);
}

#[test]
fn the_window_runs_from_the_first_send_that_may_have_been_processed() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, refused(later()), T0);
    // Thirty hours later the same key goes out again and its answer is
    // lost: nothing was stored before, so its window starts now.
    let later_send = T0 + Duration::from_secs(30 * 3600);
    send(&mut c, 1, 1, later_send);
    answer(&mut c, 1, Answer::MayHaveBeenCreated, later_send);
    assert!(matches!(
        c.next(later_send + Duration::from_secs(60)),
        Next::Reconcile { attempt: 1, .. }
    ));
}

/// Found by the model test: a crash after sending, then a re-send refused
/// before processing, must not close the unanswered send.
#[test]
fn an_unanswered_intent_stays_open_through_a_refused_resend() {
    let mut c = charge();
    send(&mut c, 1, 1, T0);
    send(&mut c, 1, 1, T0);
    answer(&mut c, 1, refused(later()), T0);
    assert!(matches!(c.next(T0), Next::Reconcile { attempt: 1, .. }));
    assert!(c.intent(2, digest(1), T0).is_err());
}
