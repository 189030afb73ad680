//! A monthly billing run against the in-process sandbox: a few hundred
//! subscriptions charged 32 at a time with spawned calls, faults injected on
//! the way, a JSON-lines journal, a crash half-way and a full re-run that
//! charges nobody twice. It ends with a summary per next step and exits
//! non-zero if any subscription was charged twice.
//!
//! Run: `cargo run --features sandbox --example billing_run [SUBSCRIPTIONS]`
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

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Event, Next, Timestamp};
use klarna_customer_token::sandbox::{Fault, Sandbox, SandboxToken};
use klarna_customer_token::{
    Client, CreatedOrder, CustomerToken, IdempotencyKey, Operation, OrderLine, OrderRequest,
    PaymentMethodType, RetryPolicy, TokenStatus,
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

fn order_for(sub: &Subscription) -> Result<OrderRequest, klarna_customer_token::Error> {
    OrderRequest::builder()
        .purchase_currency("EUR")
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
async fn run(
    client: &Client,
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
        let order = order_for(sub)?;
        let digest = BodyDigest::of(&sub.token, &order)?;
        let charge = charges
            .entry(sub.charge_id.clone())
            .or_insert_with(|| Charge::new(NAMESPACE, &sub.charge_id));
        let now = Timestamp::now();
        let attempt = match charge.next_for(digest, now) {
            Next::Send { attempt, .. }
            | Next::Reconcile { attempt, .. }
            | Next::NewAttempt { attempt, .. } => attempt,
            // Charged, stopped, ask the customer, or a person looks.
            _ => continue,
        };
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
                fraud_status: None,
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
        Next::Reconcile { .. } => "may have been created (reconcile)",
        Next::Send { .. } | Next::NewAttempt { .. } => "retry later",
        Next::AskCustomer => "ask the customer",
        Next::Stop => "stop charging",
        Next::NeedsPerson { .. } => "needs a person",
        _ => "other",
    }
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

    let mut subs = Vec::with_capacity(count);
    for i in 0..count {
        let status = match i {
            i if i % 41 == 7 => TokenStatus::Suspended,
            i if i % 53 == 11 => TokenStatus::Cancelled,
            _ => TokenStatus::Active,
        };
        let token = sandbox.add_token(
            SandboxToken::new(
                format!("billing-run-token-{i:05}-a1b2c3"),
                PaymentMethodType::Invoice,
            )
            .with_status(status),
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

    let first = run(&client, &subs, &journal, Some(count / 2)).await?;
    println!(
        "run 1: {first} charges sent, then a crash after {} results",
        count / 2
    );
    // Let the abandoned calls' requests settle on the server.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let second = run(&client, &subs, &journal, None).await?;
    println!("run 2 (full re-run): {second} charges sent");
    let third = run(&client, &subs, &journal, None).await?;
    println!("run 3 (new attempts after declines, reconcile): {third} charges sent");
    let looked_up = resolve_as_a_person(&sandbox, &journal)?;
    println!("a person looked up {looked_up} charges that needed one");
    let fourth = run(&client, &subs, &journal, None).await?;
    println!("run 4: {fourth} charges sent");

    // Count what the server holds per subscription.
    let mut double = 0usize;
    let mut charged = 0usize;
    for sub in &subs {
        let orders = sandbox.orders_for(&sub.token);
        match orders.len() {
            0 => {}
            1 => charged += 1,
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
        "  orders on the server: {charged} subscriptions charged once, {double} twice or more"
    );
    let journaled = summary.get("charged").copied().unwrap_or(0);
    let _ = std::fs::remove_file(&journal);
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
