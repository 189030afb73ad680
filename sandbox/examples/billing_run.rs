//! A monthly billing run against the in-process sandbox: a few hundred
//! subscriptions charged 32 at a time with spawned calls, faults injected on
//! the way, a JSON-lines journal, a crash half-way and a full re-run that
//! charges nobody twice. It ends with a summary per next step and exits
//! non-zero if any subscription was charged twice.
//!
//! Run: `cargo run -p klarna-customer-token-sandbox --example billing_run [SUBSCRIPTIONS]`
//!
//! The journal is the charges' history: every line is one
//! [`charge::Event`](klarna_customer_token::charge::Event) of one charge,
//! synced before the step it records counts as done. The intent (with the
//! digest of token and order) is journaled before the call is made, the
//! answer after it. Each run rebuilds every `Charge` from the journal and
//! follows `Charge::next_for`: send, reconcile the recorded body with the
//! same key, a new attempt after a processed decline, or leave it (charged,
//! stopped, ask the customer, needs a person). A "person" then looks the
//! open attempts up in the sandbox (as one would in the Merchant Portal)
//! and records the resolution; a last run settles them.
//!
//! Some subscriptions' tokens are under fraud review: their orders come
//! back `PENDING`, which is **not paid**. Every order carries a
//! notification URL signed with a `NotificationSigner` for its attempt's
//! key, pointing at a receiver this example runs on 127.0.0.1. The
//! receiver verifies the URL, reads the body with
//! `FraudNotification::from_json`, feeds the charge (`Charge::notification`),
//! journals the event and answers 200 (4xx for a refused one, 500 when it
//! cannot journal, so that the sandbox re-sends). The example decides the
//! pending orders each way through the sandbox, advances the sandbox clock
//! for the re-sends of deliveries that failed, and ends with every pending
//! charge resolved. It exits non-zero on any double charge, and on any
//! charge counted paid while its order is pending or after it was
//! rejected or stopped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Event, Next, Timestamp};
use klarna_customer_token::notification::{
    FraudNotification, MAX_NOTIFICATION_BYTES, NotificationSigner,
};
use klarna_customer_token::{
    Client, CreatedOrder, CustomerToken, FraudStatus, IdempotencyKey, MerchantUrls, Operation,
    OrderLine, OrderRequest, PaymentMethodType, RetryPolicy, TokenStatus,
};
use klarna_customer_token_sandbox::Fault;
use klarna_customer_token_sandbox::{
    DeliveryState, FraudDecision, FraudReview, OrderFraudStatus, Sandbox, SandboxToken,
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

const NAMESPACE: &str = "acme-billing";
const PERIOD: &str = "2026-12";
const IN_FLIGHT: usize = 32;

/// One line of the journal: an event of one charge.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    charge_id: String,
    event: Event,
}

/// One subscription due this period.
#[derive(Clone, Debug)]
struct Subscription {
    charge_id: String,
    token: CustomerToken,
    amount: i64,
}

/// Every charge as the journal tells it. Only a last line without its
/// newline can be torn by a crash; any other unreadable line is damage.
fn read_journal(path: &Path) -> std::io::Result<BTreeMap<String, Charge>> {
    let mut charges: BTreeMap<String, Charge> = BTreeMap::new();
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => file.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(charges),
        Err(e) => return Err(e),
    };
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (number, line) in lines.iter().enumerate() {
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(entry) => entry,
            Err(_) if number + 1 == lines.len() && !line.ends_with(b"\n") => {
                eprintln!("journal line {}: torn by a crash, ignored", number + 1);
                break;
            }
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "journal line {} is damaged ({e}); nothing was sent",
                    number + 1
                )));
            }
        };
        charges
            .entry(entry.charge_id.clone())
            .or_insert_with(|| Charge::new(NAMESPACE, &entry.charge_id))
            .apply(entry.event);
    }
    Ok(charges)
}

/// An append-only journal: every line is synced before the next step is
/// taken.
struct Journal(File);

impl Journal {
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self(
            OpenOptions::new().create(true).append(true).open(path)?,
        ))
    }

    fn write(&mut self, charge_id: &str, event: &Event) -> std::io::Result<()> {
        let entry = Entry {
            charge_id: charge_id.to_owned(),
            event: event.clone(),
        };
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.0.write_all(&line)?;
        self.0.sync_data()
    }
}

/// The order of one attempt of `sub`: its notification URL is signed for
/// that attempt's key, so the body (and its digest) is the same every time
/// the attempt is sent.
fn order_for(
    sub: &Subscription,
    notify_url: &str,
) -> Result<OrderRequest, klarna_customer_token::Error> {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .merchant_urls(MerchantUrls::new("http://127.0.0.1/thanks").with_notification(notify_url))
        .line(
            OrderLine::builder("Monthly plan")
                .quantity(1)
                .unit_price(sub.amount)
                .tax_rate(2000)
                .build()?,
        )
        .merchant_reference1(sub.charge_id.clone())
        .build()
}

type CallResult = (
    String,
    u32,
    Result<CreatedOrder, klarna_customer_token::Error>,
);

/// Journals a call's answer.
fn record(journal: &mut Journal, done: CallResult) -> std::io::Result<()> {
    let (charge_id, attempt, result) = done;
    let event = Event::Answer {
        attempt,
        key: IdempotencyKey::for_charge(NAMESPACE, &charge_id, attempt),
        answer: Answer::from_result(&result),
        at: Timestamp::now(),
    };
    journal.write(&charge_id, &event)
}

/// One billing pass over `subs`. With `crash_after`, the pass stops after
/// that many results, abandoning the calls in flight as a crash would.
/// The attempt a charge's next step sends, if it sends one.
fn sends(next: &Next) -> Option<u32> {
    match next {
        Next::Send { attempt, .. }
        | Next::Reconcile { attempt, .. }
        | Next::NewAttempt { attempt, .. } => Some(*attempt),
        // Charged, awaiting review, closed, stopped, ask the customer, or
        // a person looks.
        _ => None,
    }
}

async fn run(
    client: &Client,
    notify: &Notify,
    subs: &[Subscription],
    journal_path: &Path,
    crash_after: Option<usize>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut charges = read_journal(journal_path)?;
    let mut journal = Journal::open(journal_path)?;
    let mut calls: JoinSet<CallResult> = JoinSet::new();
    let mut results = 0usize;
    let mut sent = 0usize;

    for sub in subs {
        let charge = charges
            .entry(sub.charge_id.clone())
            .or_insert_with(|| Charge::new(NAMESPACE, &sub.charge_id));
        let now = Timestamp::now();
        // The attempt decides the notification URL, hence the body: the
        // charge's bound body for that attempt must be this one.
        let Some(planned) = sends(&charge.next(now)) else {
            continue;
        };
        let order = order_for(sub, &notify.url(&charge.key(planned))?)?;
        let digest = BodyDigest::of(&sub.token, &order)?;
        let Some(attempt) = sends(&charge.next_for(digest, now)) else {
            continue;
        };
        if attempt != planned {
            return Err(format!(
                "{}: attempt {planned}'s body is not the one it was sent with",
                sub.charge_id
            )
            .into());
        }
        let Ok(intent) = charge.intent(attempt, digest, now) else {
            continue;
        };
        while calls.len() >= IN_FLIGHT {
            if let Some(done) = calls.join_next().await {
                record(&mut journal, done?)?;
                results += 1;
                if crash_after.is_some_and(|n| results >= n) {
                    calls.abort_all();
                    return Ok(sent);
                }
            }
        }
        journal.write(&sub.charge_id, &intent)?;
        charge.apply(intent);
        // The call owns what it needs: the token and order can go at once.
        let call = client
            .create_order(&sub.token, &order)
            .with_idempotency_key(charge.key(attempt));
        let charge_id = sub.charge_id.clone();
        calls.spawn(async move { (charge_id, attempt, call.await) });
        sent += 1;
    }
    while let Some(done) = calls.join_next().await {
        record(&mut journal, done?)?;
        results += 1;
        if crash_after.is_some_and(|n| results >= n) {
            calls.abort_all();
            break;
        }
    }
    Ok(sent)
}

/// A person looks up every charge that needs one, in the sandbox's records
/// (the Merchant Portal of this example), and records what they found for
/// each of its attempts.
fn resolve_as_a_person(
    sandbox: &Sandbox,
    journal_path: &Path,
) -> Result<usize, Box<dyn std::error::Error>> {
    let charges = read_journal(journal_path)?;
    let mut journal = Journal::open(journal_path)?;
    let mut resolved = 0usize;
    for (charge_id, charge) in &charges {
        if !matches!(charge.next(Timestamp::now()), Next::NeedsPerson { .. }) {
            continue;
        }
        for attempt in 1..=charge.last_attempt() {
            let orders = sandbox.orders_with_key(&charge.key(attempt));
            let event = Event::Resolved {
                attempt,
                created: !orders.is_empty(),
                order_id: orders.first().map(|o| o.order_id.clone()),
                // What the Merchant Portal would show of the review.
                fraud_status: orders
                    .first()
                    .map(|o| FraudStatus::from(o.fraud_status.as_str())),
                at: Timestamp::now(),
            };
            journal.write(charge_id, &event)?;
        }
        resolved += 1;
    }
    Ok(resolved)
}

/// A short name of where a charge stands.
fn standing(next: &Next) -> &'static str {
    match next {
        Next::Done { .. } => "charged",
        Next::AwaitingReview { .. } => "awaiting fraud review (not paid)",
        Next::ClosedUnpaid { .. } => "closed unpaid by fraud review",
        Next::Reconcile { .. } => "may have been created (reconcile)",
        Next::Send { .. } | Next::NewAttempt { .. } => "retry later",
        Next::AskCustomer => "ask the customer",
        Next::Stop => "stop charging",
        Next::NeedsPerson { .. } => "needs a person",
        _ => "other",
    }
}

/// The merchant's notification endpoint: signed URLs for each attempt's
/// key, and a receiver on 127.0.0.1 that applies what verifies.
struct Notify {
    signer: NotificationSigner,
    addr: SocketAddr,
    book: Arc<Mutex<Option<Book>>>,
}

/// What the receiver holds once the runs are over: every charge, which
/// charge each key belongs to, the journal it appends to, and the orders
/// whose next delivery it fails (a receiver that is down for a moment).
struct Book {
    charges: BTreeMap<String, Charge>,
    by_key: HashMap<IdempotencyKey, String>,
    journal: Journal,
    fail_once: HashSet<String>,
    applied: usize,
    refused: usize,
}

impl Notify {
    async fn start() -> std::io::Result<Self> {
        // A real system reads its secret from a vault; this run makes one.
        let secret: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
        let signer = NotificationSigner::new(secret).map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let book: Arc<Mutex<Option<Book>>> = Arc::new(Mutex::new(None));
        let served = (signer.clone(), Arc::clone(&book));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (signer, book) = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (signer, book) = (signer.clone(), Arc::clone(&book));
                        async move {
                            let status = receive(&signer, &book, request).await;
                            let mut response = hyper::Response::new(Full::new(Bytes::new()));
                            *response.status_mut() = status;
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { signer, addr, book })
    }

    /// The notification URL of the attempt with this key.
    fn url(&self, key: &IdempotencyKey) -> Result<String, Box<dyn std::error::Error>> {
        let base = format!("http://{}/klarna/notify", self.addr);
        Ok(self.signer.url(&base, key)?)
    }

    /// Hands the receiver the charges (from the journal) and the journal.
    fn load(&self, journal_path: &Path, fail_once: HashSet<String>) -> std::io::Result<()> {
        let charges = read_journal(journal_path)?;
        let mut by_key = HashMap::new();
        for (charge_id, charge) in &charges {
            for attempt in 1..=charge.last_attempt() {
                by_key.insert(charge.key(attempt), charge_id.clone());
            }
        }
        let book = Book {
            charges,
            by_key,
            journal: Journal::open(journal_path)?,
            fail_once,
            applied: 0,
            refused: 0,
        };
        *self
            .book
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))? = Some(book);
        Ok(())
    }

    /// How many notifications were applied and refused.
    fn counts(&self) -> (usize, usize) {
        self.book
            .lock()
            .ok()
            .and_then(|book| book.as_ref().map(|b| (b.applied, b.refused)))
            .unwrap_or((0, 0))
    }
}

/// One notification: verify the URL, read the body, apply it to the charge
/// that holds the key, journal it. The status to answer.
async fn receive(
    signer: &NotificationSigner,
    book: &Mutex<Option<Book>>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::StatusCode {
    use hyper::StatusCode;
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    // The URL is the secret: never log it whole.
    let Ok(key) = signer.verify(&path) else {
        return StatusCode::FORBIDDEN;
    };
    let Ok(body) = Limited::new(request.into_body(), MAX_NOTIFICATION_BYTES)
        .collect()
        .await
    else {
        return StatusCode::PAYLOAD_TOO_LARGE;
    };
    let Ok(notification) = FraudNotification::from_json(&body.to_bytes()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(mut guard) = book.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let Some(book) = guard.as_mut() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    if book.fail_once.remove(notification.order_id()) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let Some(charge_id) = book.by_key.get(&key).cloned() else {
        book.refused += 1;
        return StatusCode::NOT_FOUND;
    };
    let Some(charge) = book.charges.get_mut(&charge_id) else {
        book.refused += 1;
        return StatusCode::NOT_FOUND;
    };
    let event = match charge.notification(&key, &notification, Timestamp::now()) {
        Ok(event) => event,
        Err(e) => {
            eprintln!("{charge_id}: notification refused: {e}");
            book.refused += 1;
            return StatusCode::CONFLICT;
        }
    };
    // Journaled before it counts; if that fails, Klarna re-sends.
    if book.journal.write(&charge_id, &event).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    charge.apply(event);
    book.applied += 1;
    StatusCode::OK
}

/// Decides every pending order through the sandbox (some each way), then
/// moves the sandbox clock in 10-minute steps until every notification is
/// delivered. The decisions made.
async fn review(
    sandbox: &Sandbox,
    notify: &Notify,
    journal_path: &Path,
) -> Result<BTreeMap<&'static str, usize>, Box<dyn std::error::Error>> {
    let pending: Vec<String> = sandbox
        .orders()
        .into_iter()
        .filter(|o| o.fraud_status == OrderFraudStatus::Pending)
        .map(|o| o.order_id)
        .collect();
    // Every fifth receiver delivery fails once: the sandbox re-sends it.
    let fail_once = pending.iter().step_by(5).cloned().collect();
    notify.load(journal_path, fail_once)?;
    let mut decided: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (j, order_id) in pending.iter().enumerate() {
        let decision = match j % 5 {
            0..=2 => FraudDecision::Accepted,
            3 => FraudDecision::Rejected,
            _ => FraudDecision::Stopped,
        };
        sandbox.decide_fraud(order_id, decision)?;
        *decided.entry(decision.as_str()).or_default() += 1;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let deliveries = sandbox.notifications();
        let now = sandbox.clock().now();
        if deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered)
        {
            break;
        }
        if deliveries.iter().any(|d| d.state == DeliveryState::GivenUp) {
            return Err("a notification was given up".into());
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the notifications were not delivered within 60 s".into());
        }
        let waiting = deliveries.iter().all(|d| match d.state {
            DeliveryState::Pending { next_at } => next_at > now,
            _ => d.state == DeliveryState::Delivered,
        });
        if waiting {
            // Only re-sends are left: move to the next 10-minute step.
            sandbox.clock().advance(Duration::from_secs(600));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(decided)
}

/// Subscriptions the journal counts as paid while the sandbox holds their
/// order as pending, rejected or stopped.
fn paid_but_not_accepted(
    sandbox: &Sandbox,
    subs: &[Subscription],
    journal_path: &Path,
) -> std::io::Result<Vec<String>> {
    let charges = read_journal(journal_path)?;
    let mut wrong = Vec::new();
    for sub in subs {
        let Some(charge) = charges.get(&sub.charge_id) else {
            continue;
        };
        if !charge.is_paid(Timestamp::now()) {
            continue;
        }
        for order in sandbox.orders_for(&sub.token) {
            if order.fraud_status != OrderFraudStatus::Accepted {
                wrong.push(format!(
                    "{} counted paid, its order is {}",
                    sub.charge_id, order.fraud_status
                ));
            }
        }
    }
    Ok(wrong)
}

fn journal_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "klarna-billing-run-{}-{}.jsonl",
        std::process::id(),
        fastrand_suffix()
    ))
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 300,
    };
    // Virtual time: retry waits and the rate-limit window cost no real time.
    let sandbox = Sandbox::builder().virtual_time().start().await?;
    let client = sandbox
        .client_builder()
        .retry_policy(RetryPolicy::default().with_max_retries(2))
        .attempt_timeout(Duration::from_secs(5))
        .build()?;

    let notify = Notify::start().await?;

    let mut subs = Vec::with_capacity(count);
    for i in 0..count {
        let status = match i {
            i if i % 41 == 7 => TokenStatus::Suspended,
            i if i % 53 == 11 => TokenStatus::Cancelled,
            _ => TokenStatus::Active,
        };
        // Some customers' orders go under fraud review (any of them may
        // also meet a fault on the way).
        let review = if i % 5 == 4 {
            FraudReview::Pending
        } else {
            FraudReview::Off
        };
        let token = sandbox.add_token(
            SandboxToken::new(
                format!("billing-run-token-{i:05}-a1b2c3"),
                PaymentMethodType::Invoice,
            )
            .with_status(status)
            .with_fraud_review(review),
        )?;
        subs.push(Subscription {
            charge_id: format!("subscription-{i}/{PERIOD}"),
            token,
            amount: 500 + (i as i64 % 7) * 100,
        });
    }

    // Faults a billing run meets, each subscription in at most one group (a
    // fault injected on a key that already holds an order would hide its
    // replay, which Klarna never does): gateways failing, rate limits,
    // answers lost after the order was stored, a connection that drops on
    // every attempt (the outcome stays unknown: reconcile), and a decline
    // Klarna says may be tried again (a new attempt, a new key).
    for (i, sub) in subs.iter().enumerate() {
        let first_key = IdempotencyKey::for_charge(NAMESPACE, &sub.charge_id, 1);
        let fault = match i {
            i if i % 29 == 0 => Fault::drop_after_processing()
                .with_key(&first_key)
                .with_times(3),
            i if i % 37 == 5 => {
                Fault::status(403, r#"{"error_code":"PAYMENT_METHOD_FAILED"}"#).with_key(&first_key)
            }
            i if i % 10 == 1 => Fault::status(503, r#"{"error_code":"SERVICE_UNAVAILABLE"}"#)
                .with_token(&sub.token)
                .with_times(2),
            i if i % 10 == 2 => Fault::status(429, r#"{"error_code":"TOO_MANY_REQUESTS"}"#)
                .with_header("Retry-After", "1")
                .with_token(&sub.token),
            i if i % 10 == 3 => Fault::drop_after_processing().with_token(&sub.token),
            _ => continue,
        };
        sandbox.inject(fault.with_operation(Operation::CreateOrder));
    }

    let journal = journal_path();
    println!("journal: {}", journal.display());

    let first = run(&client, &notify, &subs, &journal, Some(count / 2)).await?;
    println!(
        "run 1: {first} charges sent, then a crash after {} results",
        count / 2
    );
    // Let the abandoned calls' requests settle on the server.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let second = run(&client, &notify, &subs, &journal, None).await?;
    println!("run 2 (full re-run): {second} charges sent");
    let third = run(&client, &notify, &subs, &journal, None).await?;
    println!("run 3 (new attempts after declines, reconcile): {third} charges sent");
    let looked_up = resolve_as_a_person(&sandbox, &journal)?;
    println!("a person looked up {looked_up} charges that needed one");
    let fourth = run(&client, &notify, &subs, &journal, None).await?;
    println!("run 4: {fourth} charges sent");

    // Pending orders are not paid: nothing may count them as paid before
    // the review decides.
    let mut wrong = paid_but_not_accepted(&sandbox, &subs, &journal)?;
    let decided = review(&sandbox, &notify, &journal).await?;
    let (applied, refused) = notify.counts();
    let resent = sandbox
        .notifications()
        .iter()
        .filter(|d| d.attempts.len() > 1)
        .count();
    println!(
        "fraud review: {} decided ({}), {applied} notifications applied, {refused} refused, \
         {resent} re-sent after a failed delivery",
        decided.values().sum::<usize>(),
        decided
            .iter()
            .map(|(d, n)| format!("{n} {d}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    wrong.extend(paid_but_not_accepted(&sandbox, &subs, &journal)?);

    // Count what the server holds per subscription: paid is an order
    // accepted by the fraud review.
    let mut double = 0usize;
    let mut charged = 0usize;
    for sub in &subs {
        let orders = sandbox.orders_for(&sub.token);
        match orders.len() {
            0 => {}
            1 => {
                if orders[0].fraud_status == OrderFraudStatus::Accepted {
                    charged += 1;
                }
            }
            n => {
                double += 1;
                eprintln!("{} charged {n} times", sub.charge_id);
            }
        }
    }
    let charges = read_journal(&journal)?;
    let mut summary: BTreeMap<&'static str, usize> = BTreeMap::new();
    for sub in &subs {
        let name = charges
            .get(&sub.charge_id)
            .map_or("never sent", |c| standing(&c.next(Timestamp::now())));
        *summary.entry(name).or_default() += 1;
    }
    println!("\nsummary of {count} subscriptions:");
    for (name, n) in &summary {
        println!("  {name:<32} {n}");
    }
    println!(
        "  orders on the server: {charged} subscriptions charged once and accepted, {double} \
         charged twice or more"
    );
    let journaled = summary.get("charged").copied().unwrap_or(0);
    let awaiting = summary
        .get("awaiting fraud review (not paid)")
        .copied()
        .unwrap_or(0);
    let _ = std::fs::remove_file(&journal);
    if !wrong.is_empty() {
        for line in &wrong {
            eprintln!("{line}");
        }
        eprintln!("PAID WHILE PENDING, REJECTED OR STOPPED: {}", wrong.len());
        std::process::exit(1);
    }
    if awaiting > 0 || decided.is_empty() {
        eprintln!("{awaiting} charges still await the fraud review; decided: {decided:?}");
        std::process::exit(1);
    }
    if journaled != charged {
        eprintln!("the journal records {journaled} charges, the server holds {charged}");
        std::process::exit(1);
    }
    if double > 0 {
        eprintln!("DOUBLE CHARGES: {double}");
        std::process::exit(1);
    }
    Ok(())
}
