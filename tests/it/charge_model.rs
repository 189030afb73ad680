//! The charge type against a model of Klarna's idempotency store.
//!
//! A billing tool (the driver) follows `Charge` through random sequences
//! of answers, crashes, edits, operator mistakes and time passing. Klarna
//! (the model) keeps each key's first processed answer for 24 hours and
//! replays it; a refusal before processing stores nothing; a different body
//! under a stored key gets 409. The driver keeps only its journal across a
//! crash and rebuilds the charge from it at every run.
//!
//! Klarna's fraud review is modelled too: a merchant whose orders are
//! created PENDING, decisions (accept or reject a pending order, stop any),
//! and their notifications delivered late, twice, out of order, or forged
//! for another order.
//!
//! Properties:
//! 1. no sequence creates two orders for one charge, and no charge counts
//!    as paid while Klarna's review holds or rejected its order;
//! 2. afterwards, in calm weather (no faults, the driver follows
//!    `Charge::next` to the letter), a charge whose token is usable ends
//!    charged or needing a person; a person who looks the attempt up in
//!    Klarna's records settles it, and the charge then ends charged (or,
//!    with a cancelled token, stopped), with exactly the order Klarna holds.
//!    Nothing is silently dropped: the charge never ends "stop" or "ask the
//!    customer" while Klarna holds its order, and once every notification
//!    arrived it ends as the review says (paid, awaiting review, closed
//!    unpaid, or a person for an order stopped after acceptance).
//!
//! What it cannot find: behaviour of Klarna outside this model (a key
//! kept less than 24 hours, two requests with one key processed in
//! parallel, a replay of a refusal); errors in how the client turns an
//! HTTP answer into an `ErrorReport` (the per-call tables have their own
//! tests; here the reports are built as those tables say).

use std::collections::HashMap;
use std::fmt::Write as _;

use klarna_customer_token::charge::{
    Answer, BodyDigest, Charge, Event, KEY_WINDOW, Next, SendRefused, Timestamp,
};
use klarna_customer_token::notification::FraudNotification;
use klarna_customer_token::{ErrorReport, FraudStatus, IdempotencyKey, NextStep};
use proptest::prelude::*;
use serde_json::json;

const DAY_MS: u64 = 24 * 3600 * 1000;

/// What happens to one request on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// None: Klarna answers.
    None,
    /// The connection drops before Klarna gets the request.
    DropBeforeProcessing,
    /// Klarna processes it; the answer is lost.
    DropAfterProcessing,
    /// A 503 before processing.
    Unavailable,
    /// Klarna processes it, then answers 500.
    ErrorAfterProcessing,
    /// 429 from the gateway.
    RateLimited,
    /// 401: credentials rotated.
    Unauthorized,
    /// 403 without a processed decline (a token state).
    TokenSuspended,
    /// A bare 404 from a gateway.
    NotFound,
    /// 400 for the request's shape.
    BadRequest,
    /// 413.
    TooLarge,
    /// The client's own rate limit: nothing leaves.
    ClientRateLimit,
    /// The client's own validation: nothing leaves.
    ClientValidation,
}

const FAULTS: [Fault; 13] = [
    Fault::None,
    Fault::DropBeforeProcessing,
    Fault::DropAfterProcessing,
    Fault::Unavailable,
    Fault::ErrorAfterProcessing,
    Fault::RateLimited,
    Fault::Unauthorized,
    Fault::TokenSuspended,
    Fault::NotFound,
    Fault::BadRequest,
    Fault::TooLarge,
    Fault::ClientRateLimit,
    Fault::ClientValidation,
];

/// Where the driver dies, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Crash {
    No,
    /// After journaling the intent, before sending.
    BeforeSend,
    /// After sending, before journaling the answer.
    BeforeAnswer,
}

/// One run of the billing tool.
#[derive(Clone, Debug)]
enum Step {
    Run {
        /// Minutes since the last step.
        minutes: u32,
        fault: Fault,
        /// Klarna declines this one if it processes it.
        declines: bool,
        crash: Crash,
        /// The operator edited the charge's order.
        edited: bool,
        /// The operator bumps the attempt number instead of following the
        /// charge (what an old "retry later" told users to do).
        bumps: bool,
        /// The intent is journaled without its digest, as journals written
        /// before digests were: a later edited body then reaches Klarna
        /// under the same key and meets a 409.
        legacy: bool,
    },
    /// The merchant cancels the token.
    CancelToken,
    /// A person looks the open attempt up and records what Klarna holds.
    PersonResolves,
    /// Klarna's fraud review decides the order, if there is one and the
    /// decision applies (accept or reject a pending one; stop any).
    Decide(Decision),
    /// The receiver gets one queued notification (any of them: deliveries
    /// come out of order), and keeps it queued when `again` (it comes
    /// again).
    Deliver { pick: usize, again: bool },
    /// A notification with the charge's key but another order's id.
    Forged,
}

/// A fraud-review decision in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Accept,
    Reject,
    Stop,
}

fn step() -> impl Strategy<Value = Step> {
    let minutes = prop_oneof![
        6 => 0u32..30,
        2 => 30u32..(20 * 60),
        2 => (20 * 60u32)..(30 * 60),
    ];
    let run = (
        minutes,
        prop::sample::select(FAULTS.to_vec()),
        prop::bool::weighted(0.2),
        prop_oneof![6 => Just(Crash::No), 1 => Just(Crash::BeforeSend), 1 => Just(Crash::BeforeAnswer)],
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(minutes, fault, declines, crash, edited, bumps, legacy)| Step::Run {
            minutes,
            fault,
            declines,
            crash,
            edited,
            bumps,
            legacy,
        });
    prop_oneof![
        20 => run,
        1 => Just(Step::CancelToken),
        1 => Just(Step::PersonResolves),
        2 => prop::sample::select(vec![Decision::Accept, Decision::Reject, Decision::Stop])
            .prop_map(Step::Decide),
        3 => (0usize..4, any::<bool>()).prop_map(|(pick, again)| Step::Deliver { pick, again }),
        1 => Just(Step::Forged),
    ]
}

/// What Klarna stored under a key.
#[derive(Clone, Debug)]
enum Stored {
    Order(String),
    Declined,
}

/// Klarna, as far as idempotency goes.
#[derive(Debug)]
struct Klarna {
    store: HashMap<IdempotencyKey, (u64, BodyDigest, Stored)>,
    /// Every order ever created for the charge, with the key that made it.
    orders: Vec<(IdempotencyKey, String)>,
    token_cancelled: bool,
    /// Whether a stored key is replayed before the token's state is
    /// checked (Klarna does not say; both orders are tried).
    replay_first: bool,
    /// Whether this merchant's orders go to fraud review (PENDING).
    review: bool,
    /// The review's state of the order: pending, then accepted or
    /// rejected; stopped at any time.
    status: Review,
    /// Notifications posted and not yet received for good.
    outbox: Vec<&'static str>,
}

/// The fraud review of the model's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Review {
    accepted: bool,
    rejected: bool,
    stopped: bool,
}

/// What came back on the wire.
#[derive(Debug)]
enum Wire {
    Lost,
    Status(u16, Option<&'static str>),
    /// The order, and whether it was created PENDING.
    Created(String, bool),
}

impl Klarna {
    fn lookup(&mut self, key: &IdempotencyKey, now: u64) -> Option<(BodyDigest, Stored)> {
        match self.store.get(key) {
            Some((at, digest, stored)) if now < at + DAY_MS => Some((*digest, stored.clone())),
            Some(_) => {
                self.store.remove(key);
                None
            }
            None => None,
        }
    }

    fn handle(
        &mut self,
        key: &IdempotencyKey,
        digest: BodyDigest,
        now: u64,
        fault: Fault,
        declines: bool,
    ) -> Wire {
        match fault {
            Fault::DropBeforeProcessing => return Wire::Lost,
            Fault::Unavailable => return Wire::Status(503, None),
            Fault::RateLimited => return Wire::Status(429, None),
            Fault::Unauthorized => return Wire::Status(401, None),
            Fault::TokenSuspended => return Wire::Status(403, Some("TOKEN_SUSPENDED")),
            Fault::NotFound => return Wire::Status(404, None),
            Fault::BadRequest => return Wire::Status(400, Some("BAD_VALUE")),
            Fault::TooLarge => return Wire::Status(413, None),
            Fault::ClientRateLimit | Fault::ClientValidation => {
                unreachable!("never reaches Klarna")
            }
            _ => {}
        }
        if self.token_cancelled && !self.replay_first {
            return Wire::Status(403, Some("TOKEN_CANCELLED"));
        }
        let answer = match self.lookup(key, now) {
            Some((stored_digest, _)) if stored_digest != digest => {
                Wire::Status(409, Some("IDEMPOTENCY_KEY_MISMATCH"))
            }
            Some((_, Stored::Order(id))) => Wire::Created(id, self.review),
            Some((_, Stored::Declined)) => Wire::Status(403, Some("PAYMENT_METHOD_FAILED")),
            None if self.token_cancelled => Wire::Status(403, Some("TOKEN_CANCELLED")),
            None => {
                let stored = if declines {
                    Stored::Declined
                } else {
                    let id = format!("order-{}", self.orders.len() + 1);
                    self.orders.push((key.clone(), id.clone()));
                    Stored::Order(id)
                };
                self.store
                    .insert(key.clone(), (now, digest, stored.clone()));
                match stored {
                    Stored::Order(id) => Wire::Created(id, self.review),
                    Stored::Declined => Wire::Status(403, Some("PAYMENT_METHOD_FAILED")),
                }
            }
        };
        match (fault, answer) {
            (Fault::DropAfterProcessing, _) => Wire::Lost,
            (Fault::ErrorAfterProcessing, _) => Wire::Status(500, None),
            (_, answer) => answer,
        }
    }
}

/// The report the client gives for a failed call, as its per-call tables
/// say (outcome and next step); the charge's `Answer` is read from it.
fn report(
    status: Option<u16>,
    code: Option<&str>,
    outcome: &str,
    step: serde_json::Value,
) -> Answer {
    let report: ErrorReport = serde_json::from_value(json!({
        "kind": if status.is_some() { "api" } else { "connection" },
        "message": "m",
        "operation": "create_order",
        "status": status,
        "error_code": code,
        "messages": [],
        "correlation_id": null,
        "outcome": outcome,
        "next_step": step,
        "idempotency_key": null,
        "attempts": 1,
    }))
    .expect("a report");
    Answer::from_report(&report)
}

fn answer_of(wire: Wire) -> Answer {
    let later = json!({"step": "retry_later"});
    match wire {
        Wire::Created(id, pending) => Answer::Created {
            order_id: Some(id),
            fraud_status: Some(if pending {
                FraudStatus::Pending
            } else {
                FraudStatus::Accepted
            }),
        },
        Wire::Lost => report(
            None,
            None,
            "may_have_been_created",
            json!({"step": "reconcile"}),
        ),
        Wire::Status(status, code) => {
            let refusal = matches!(status, 400 | 401 | 403 | 404 | 429);
            let outcome = if refusal {
                "not_created"
            } else {
                "may_have_been_created"
            };
            let step = match (status, code) {
                (409, _) => json!({"step": "fix_request"}),
                (_, _) if !refusal => json!({"step": "reconcile"}),
                (403, Some("TOKEN_CANCELLED")) | (404, Some(_)) => json!({"step": "stop_charging"}),
                (403, Some("TOKEN_SUSPENDED")) => json!({"step": "ask_customer"}),
                (403, Some("PAYMENT_METHOD_FAILED")) | (429, _) => later.clone(),
                (400, _) => json!({"step": "fix_request"}),
                _ => json!({"step": "fix_configuration"}),
            };
            report(Some(status), code, outcome, step)
        }
    }
}

fn notification(order_id: &str, event: &str) -> FraudNotification {
    FraudNotification::from_json(
        format!(r#"{{"order_id":"{order_id}","event_type":"{event}"}}"#).as_bytes(),
    )
    .expect("a notification")
}

/// The billing tool: a journal that survives crashes, a charge rebuilt
/// from it at every run.
struct Driver {
    journal: Vec<Event>,
    klarna: Klarna,
    now: u64,
    body: BodyDigest,
    edited: BodyDigest,
    log: String,
}

impl Driver {
    fn new(replay_first: bool, review: bool) -> Self {
        Self {
            journal: Vec::new(),
            klarna: Klarna {
                store: HashMap::new(),
                orders: Vec::new(),
                token_cancelled: false,
                replay_first,
                review,
                status: Review::default(),
                outbox: Vec::new(),
            },
            now: 1_800_000_000_000,
            body: BodyDigest::from_hex(&"11".repeat(32)).expect("hex"),
            edited: BodyDigest::from_hex(&"22".repeat(32)).expect("hex"),
            log: String::new(),
        }
    }

    fn charge(&self) -> Charge {
        let mut charge = Charge::new("model", "sub-1/2026-12");
        for event in &self.journal {
            charge.apply(event.clone());
        }
        charge
    }

    fn journal(&mut self, charge: &mut Charge, event: Event) {
        self.journal.push(event.clone());
        charge.apply(event);
    }

    fn run(&mut self, step: &Step) {
        match step {
            Step::CancelToken => {
                self.klarna.token_cancelled = true;
                let _ = writeln!(self.log, "token cancelled");
            }
            Step::PersonResolves => self.person_resolves(),
            Step::Decide(decision) => self.decide(*decision),
            Step::Deliver { pick, again } => self.deliver(*pick, *again),
            Step::Forged => {
                if let Some((key, _)) = self.klarna.orders.first().cloned() {
                    let charge = self.charge();
                    let n = notification("order-999", "FRAUD_RISK_ACCEPTED");
                    let refused = charge
                        .notification(&key, &n, Timestamp::from_millis(self.now))
                        .is_err();
                    assert!(refused, "a notification for another order was taken");
                }
            }
            Step::Run {
                minutes,
                fault,
                declines,
                crash,
                edited,
                bumps,
                legacy,
            } => {
                self.now += u64::from(*minutes) * 60_000;
                let mut charge = self.charge();
                // The body of the line as it stands; a reconcile re-sends
                // the recorded one, unless the operator edited the line.
                let mut body = if *edited { self.edited } else { self.body };
                let next = charge.next_for(body, Timestamp::from_millis(self.now));
                let attempt = if *bumps {
                    charge.last_attempt() + 1
                } else {
                    match next {
                        Next::Reconcile {
                            attempt, digest, ..
                        } => {
                            if let (Some(recorded), false) = (digest, *edited) {
                                body = recorded;
                            }
                            attempt
                        }
                        Next::Send { attempt, .. } | Next::NewAttempt { attempt, .. } => attempt,
                        other => {
                            let _ = writeln!(self.log, "+{minutes}m: {other:?}: nothing sent");
                            return;
                        }
                    }
                };
                self.send(
                    &mut charge,
                    attempt,
                    body,
                    *fault,
                    *declines,
                    *crash,
                    *minutes,
                    *legacy,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        charge: &mut Charge,
        attempt: u32,
        body: BodyDigest,
        fault: Fault,
        declines: bool,
        crash: Crash,
        minutes: u32,
        legacy: bool,
    ) {
        let now = Timestamp::from_millis(self.now);
        let intent = match charge.intent(attempt, body, now) {
            Ok(Event::Intent { attempt, key, .. }) if legacy => Event::Intent {
                attempt,
                key,
                digest: None,
                at: now,
            },
            Ok(intent) => intent,
            Err(refused) => {
                let _ = writeln!(
                    self.log,
                    "+{minutes}m: attempt {attempt} refused: {refused}"
                );
                return;
            }
        };
        let Event::Intent { key, .. } = &intent else {
            unreachable!("an intent")
        };
        let key = key.clone();
        self.journal(charge, intent);
        if crash == Crash::BeforeSend {
            let _ = writeln!(
                self.log,
                "+{minutes}m: attempt {attempt}: crash before sending"
            );
            return;
        }
        let answer = match fault {
            Fault::ClientRateLimit => Answer::Refused {
                step: NextStep::RetryLater { after: None },
            },
            Fault::ClientValidation => Answer::Refused {
                step: NextStep::FixRequest,
            },
            _ => answer_of(self.klarna.handle(&key, body, self.now, fault, declines)),
        };
        let _ = writeln!(
            self.log,
            "+{minutes}m: attempt {attempt} ({fault:?}, declines {declines}): {answer:?}{}",
            if crash == Crash::BeforeAnswer {
                ", then crash"
            } else {
                ""
            }
        );
        if crash == Crash::BeforeAnswer {
            return;
        }
        let event = charge.answer(attempt, answer, now);
        self.journal(charge, event);
    }

    /// Klarna's review decides the order, as Klarna allows: accept or
    /// reject a pending order, stop any order.
    fn decide(&mut self, decision: Decision) {
        if self.klarna.orders.is_empty() {
            return;
        }
        let r = &mut self.klarna.status;
        let decided = r.accepted || r.rejected;
        let event = match decision {
            Decision::Accept if self.klarna.review && !decided => {
                r.accepted = true;
                "FRAUD_RISK_ACCEPTED"
            }
            Decision::Reject if self.klarna.review && !decided => {
                r.rejected = true;
                "FRAUD_RISK_REJECTED"
            }
            Decision::Stop if !r.stopped => {
                r.stopped = true;
                "FRAUD_RISK_STOPPED"
            }
            _ => return,
        };
        let _ = writeln!(self.log, "review: {event}");
        self.klarna.outbox.push(event);
    }

    /// The receiver gets a queued notification: the URL verified for the
    /// key that created the order, the body names the order.
    fn deliver(&mut self, pick: usize, again: bool) {
        if self.klarna.outbox.is_empty() {
            return;
        }
        let index = pick % self.klarna.outbox.len();
        let event = if again {
            self.klarna.outbox[index]
        } else {
            self.klarna.outbox.remove(index)
        };
        let Some((key, id)) = self.klarna.orders.first().cloned() else {
            return;
        };
        let mut charge = self.charge();
        match charge.notification(
            &key,
            &notification(&id, event),
            Timestamp::from_millis(self.now),
        ) {
            Ok(applied) => {
                let _ = writeln!(self.log, "delivered {event}");
                self.journal(&mut charge, applied);
            }
            // The charge does not know its order yet (its answer was lost):
            // Klarna re-sends until it gets a 200.
            Err(e) => {
                let _ = writeln!(self.log, "delivery of {event} refused: {e}");
                if !again {
                    self.klarna.outbox.push(event);
                }
            }
        }
    }

    /// A person looks up, in Klarna's records, every attempt the charge
    /// says needs one, and records the truth.
    fn person_resolves(&mut self) {
        let charge = self.charge();
        let Next::NeedsPerson { reason } = charge.next(Timestamp::from_millis(self.now)) else {
            return;
        };
        for attempt in 1..=charge.last_attempt() {
            let key = charge.key(attempt);
            let order = self
                .klarna
                .orders
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, id)| id.clone());
            let _ = writeln!(
                self.log,
                "person ({reason}): attempt {attempt} created {order:?}"
            );
            // What the Merchant Portal shows of the order's review.
            let r = self.klarna.status;
            let fraud_status = order.as_ref().map(|_| {
                if r.rejected {
                    FraudStatus::Rejected
                } else if self.klarna.review && !r.accepted {
                    FraudStatus::Pending
                } else {
                    FraudStatus::Accepted
                }
            });
            self.journal.push(Event::Resolved {
                attempt,
                created: order.is_some(),
                order_id: order,
                fraud_status,
                at: Timestamp::from_millis(self.now),
            });
        }
    }

    /// Calm weather: no faults, the driver follows the charge to the
    /// letter. Returns the charge's last answer to `next`.
    fn calm(&mut self, minutes: u32) -> Next {
        for _ in 0..12 {
            self.run(&Step::Run {
                minutes,
                fault: Fault::None,
                declines: false,
                crash: Crash::No,
                edited: false,
                bumps: false,
                legacy: false,
            });
            let next = self.charge().next(Timestamp::from_millis(self.now));
            if matches!(
                next,
                Next::Done { .. }
                    | Next::NeedsPerson { .. }
                    | Next::Stop
                    | Next::AskCustomer
                    | Next::AwaitingReview { .. }
                    | Next::ClosedUnpaid { .. }
            ) {
                return next;
            }
        }
        self.charge().next(Timestamp::from_millis(self.now))
    }
}

/// Never paid while Klarna's review holds or rejected the order.
fn paid_only_when_accepted(d: &Driver) -> Result<(), TestCaseError> {
    let paid = matches!(
        d.charge().next(Timestamp::from_millis(d.now)),
        Next::Done { .. }
    );
    let r = d.klarna.status;
    if paid {
        prop_assert!(
            !r.rejected && (!d.klarna.review || r.accepted),
            "counted paid while the review says {r:?}\n{}",
            d.log
        );
    }
    Ok(())
}

fn check(steps: &[Step], replay_first: bool, review: bool) -> Result<(), TestCaseError> {
    let mut d = Driver::new(replay_first, review);
    for step in steps {
        d.run(step);
        prop_assert!(
            d.klarna.orders.len() <= 1,
            "two orders for one charge: {:?}\n{}",
            d.klarna.orders,
            d.log
        );
        paid_only_when_accepted(&d)?;
    }
    // Calm weather; a cancelled token only reconciles until the window
    // closes, so time moves faster there.
    let minutes = if d.klarna.token_cancelled { 6 * 60 } else { 5 };
    let mut end = d.calm(minutes);
    if matches!(end, Next::NeedsPerson { .. }) {
        d.person_resolves();
        end = d.calm(minutes);
    }
    // Every notification still queued arrives (Klarna re-sends until 200).
    for _ in 0..8 {
        if d.klarna.outbox.is_empty() {
            break;
        }
        d.deliver(0, false);
        end = d.charge().next(Timestamp::from_millis(d.now));
    }
    paid_only_when_accepted(&d)?;
    prop_assert!(d.klarna.orders.len() <= 1, "two orders\n{}", d.log);
    let r = d.klarna.status;
    let accepted = r.accepted || (!d.klarna.review && r == Review::default());
    match (&end, d.klarna.orders.first()) {
        (Next::Done { order_id, .. }, Some((_, id))) => {
            prop_assert_eq!(order_id.as_ref(), Some(id), "{}", d.log);
            prop_assert!(accepted && !r.stopped && !r.rejected, "{r:?}\n{}", d.log);
        }
        (Next::Done { .. }, None) => prop_assert!(false, "done without an order\n{}", d.log),
        (other, Some(_)) => {
            // An order exists: the charge says what the review says.
            let expected = if r.stopped && (r.accepted || !d.klarna.review) {
                "a person (stopped after acceptance)"
            } else if r.rejected {
                "closed unpaid, ask the customer"
            } else if r.stopped {
                "closed unpaid, stop"
            } else {
                "awaiting review"
            };
            let fits = match other {
                Next::NeedsPerson { .. } => expected.starts_with("a person"),
                Next::ClosedUnpaid {
                    step: NextStep::AskCustomer,
                    ..
                } => expected == "closed unpaid, ask the customer",
                Next::ClosedUnpaid {
                    step: NextStep::StopCharging,
                    ..
                } => expected == "closed unpaid, stop",
                Next::AwaitingReview { .. } => expected == "awaiting review",
                _ => false,
            };
            prop_assert!(
                fits,
                "Klarna holds the order ({r:?}) but the charge ends {other:?}\n{}",
                d.log
            );
        }
        (other, None) => {
            // No order: only a cancelled token may stop a charge Klarna
            // would accept.
            prop_assert!(
                d.klarna.token_cancelled
                    || matches!(other, Next::AskCustomer | Next::NeedsPerson { .. }),
                "a charge Klarna would accept ends {other:?}\n{}",
                d.log
            );
            // And nothing that may have created an order is left open.
            let charge = d.charge();
            let now = Timestamp::from_millis(d.now);
            prop_assert!(
                d.klarna.token_cancelled
                    || charge
                        .intent(charge.last_attempt() + 1, d.body, now)
                        .is_ok(),
                "ends {other:?} with an attempt still open\n{}",
                d.log
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_sequence_charges_twice_and_none_is_dropped(
        steps in prop::collection::vec(step(), 0..24),
        replay_first in any::<bool>(),
        review in any::<bool>(),
    ) {
        check(&steps, replay_first, review)?;
    }
}

/// The sequences of the issue that found the double charges, as examples.
#[test]
fn the_reported_sequences() {
    let run = |fault, crash, edited, bumps| Step::Run {
        minutes: 1,
        fault,
        declines: false,
        crash,
        edited,
        bumps,
        legacy: false,
    };
    // A refused re-send, then "attempt 2".
    for refusal in [
        Fault::RateLimited,
        Fault::Unauthorized,
        Fault::TokenSuspended,
        Fault::NotFound,
        Fault::BadRequest,
        Fault::TooLarge,
        Fault::ClientRateLimit,
        Fault::ClientValidation,
    ] {
        let steps = [
            run(Fault::DropAfterProcessing, Crash::No, false, false),
            run(refusal, Crash::No, false, false),
            run(Fault::None, Crash::No, false, true),
        ];
        check(&steps, true, false).unwrap();
        check(&steps, false, true).unwrap();
    }
    // An edited line under the same key, then "attempt 2"; and the same
    // from a journal without digests, where the edited body meets a 409.
    for legacy in [false, true] {
        let steps = [
            Step::Run {
                minutes: 1,
                fault: Fault::DropAfterProcessing,
                declines: false,
                crash: Crash::No,
                edited: false,
                bumps: false,
                legacy,
            },
            run(Fault::None, Crash::No, true, false),
            run(Fault::None, Crash::No, false, true),
        ];
        check(&steps, true, false).unwrap();
    }
}

/// The window: an open attempt past 23 hours is never re-sent.
#[test]
fn a_stale_open_attempt_is_left_to_a_person() {
    let mut d = Driver::new(true, false);
    d.run(&Step::Run {
        minutes: 0,
        fault: Fault::DropAfterProcessing,
        declines: false,
        crash: Crash::No,
        edited: false,
        bumps: false,
        legacy: false,
    });
    d.now += KEY_WINDOW.as_millis() as u64 + 1;
    let charge = d.charge();
    let now = Timestamp::from_millis(d.now);
    assert!(matches!(charge.next(now), Next::NeedsPerson { .. }));
    assert!(matches!(
        charge.intent(1, d.body, now),
        Err(SendRefused::NeedsPerson(_))
    ));
    // Klarna forgot the key; re-sending would have created a second order.
    assert_eq!(d.klarna.orders.len(), 1);
}
