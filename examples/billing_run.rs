//! A monthly billing run against the in-process sandbox: a few hundred
//! subscriptions charged 32 at a time with spawned calls, faults injected on
//! the way, a JSON-lines journal, a crash half-way and a full re-run that
//! charges nobody twice. It ends with a summary per next step and exits
//! non-zero if any subscription was charged twice.
//!
//! Run: `cargo run --features sandbox --example billing_run [SUBSCRIPTIONS]`
//!
//! The journal rules it follows (see the README, "After a failed
//! create-order"):
//! - the intent to charge is journaled, with its key, before the call is
//!   made; each result is journaled after it;
//! - one key per charge attempt, `IdempotencyKey::for_charge(ns, charge, n)`;
//! - on a re-run: a charge with a result `Created` is skipped; an intent with
//!   no result, or a result whose next step is `Reconcile`, is sent again with
//!   the **same** key; `RetryLater` is tried again with the **next** attempt
//!   number; every other next step is left for a person or another system.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use klarna_customer_token::sandbox::{Fault, Sandbox, SandboxToken};
use klarna_customer_token::{
    Client, CreatedOrder, CustomerToken, ErrorReport, IdempotencyKey, NextStep, Operation,
    OrderLine, OrderRequest, PaymentMethodType, RetryPolicy, TokenStatus,
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

const NAMESPACE: &str = "acme-billing";
const PERIOD: &str = "2026-12";
const IN_FLIGHT: usize = 32;

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Entry {
    /// Written before the call is made.
    Intent {
        charge_id: String,
        attempt: u32,
        key: IdempotencyKey,
    },
    /// The order exists.
    Charged {
        charge_id: String,
        attempt: u32,
        order: CreatedOrder,
    },
    /// The call failed; `next_step` says what to do.
    Failed {
        charge_id: String,
        attempt: u32,
        next_step: NextStep,
        report: ErrorReport,
    },
}

/// One subscription due this period.
#[derive(Clone, Debug)]
struct Subscription {
    charge_id: String,
    token: CustomerToken,
    amount: i64,
}

/// What the journal says about one charge.
#[derive(Debug, Default)]
struct State {
    attempt: u32,
    key: Option<IdempotencyKey>,
    charged: bool,
    /// The next step of the last failure, if the last result was one.
    failed: Option<NextStep>,
    /// An intent with no result after it.
    open: bool,
}

/// What a run decides to do with a charge.
enum Plan {
    Skip,
    Send { attempt: u32, key: IdempotencyKey },
}

fn plan(sub: &Subscription, state: Option<&State>) -> Plan {
    let fresh = |attempt: u32| Plan::Send {
        attempt,
        key: IdempotencyKey::for_charge(NAMESPACE, &sub.charge_id, attempt),
    };
    let Some(state) = state else {
        return fresh(1);
    };
    if state.charged {
        return Plan::Skip;
    }
    let same = |state: &State| match &state.key {
        Some(key) => Plan::Send {
            attempt: state.attempt,
            key: key.clone(),
        },
        None => fresh(state.attempt.max(1)),
    };
    if state.open {
        // Crashed mid-call: the order may exist. Same attempt, same key.
        return same(state);
    }
    match &state.failed {
        Some(NextStep::Reconcile) => same(state),
        Some(NextStep::RetryLater { .. }) => fresh(state.attempt + 1),
        // Ask the customer, stop charging, fix the request or the
        // configuration: not for a billing run to retry.
        Some(_) => Plan::Skip,
        None => fresh(1),
    }
}

fn read_journal(path: &Path) -> std::io::Result<BTreeMap<String, State>> {
    let mut states: BTreeMap<String, State> = BTreeMap::new();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(states),
        Err(e) => return Err(e),
    };
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(entry) => entry,
            Err(e) => {
                // A torn last line from a crash: its intent, if any, was
                // already journaled on an earlier line.
                eprintln!("journal line {} ignored: {e}", number + 1);
                continue;
            }
        };
        match entry {
            Entry::Intent {
                charge_id,
                attempt,
                key,
            } => {
                let state = states.entry(charge_id).or_default();
                state.attempt = attempt;
                state.key = Some(key);
                state.open = true;
            }
            Entry::Charged { charge_id, .. } => {
                let state = states.entry(charge_id).or_default();
                state.charged = true;
                state.open = false;
                state.failed = None;
            }
            Entry::Failed {
                charge_id,
                next_step,
                ..
            } => {
                let state = states.entry(charge_id).or_default();
                state.open = false;
                state.failed = Some(next_step);
            }
        }
    }
    Ok(states)
}

/// An append-only journal: every line is flushed and synced before the
/// next step is taken.
struct Journal(File);

impl Journal {
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self(
            OpenOptions::new().create(true).append(true).open(path)?,
        ))
    }

    fn write(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
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

/// One billing pass over `subs`. With `crash_after`, the pass stops after
/// that many results, abandoning the calls in flight as a crash would.
async fn run(
    client: &Client,
    subs: &[Subscription],
    journal_path: &Path,
    crash_after: Option<usize>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let states = read_journal(journal_path)?;
    let mut journal = Journal::open(journal_path)?;
    let mut calls: JoinSet<CallResult> = JoinSet::new();
    let mut results = 0usize;
    let mut sent = 0usize;

    let record = |journal: &mut Journal, done: CallResult| -> std::io::Result<()> {
        let (charge_id, attempt, result) = done;
        let entry = match result {
            Ok(order) => Entry::Charged {
                charge_id,
                attempt,
                order,
            },
            Err(e) => Entry::Failed {
                charge_id,
                attempt,
                next_step: e.next_step(),
                report: e.report(),
            },
        };
        journal.write(&entry)
    };

    for sub in subs {
        let Plan::Send { attempt, key } = plan(sub, states.get(&sub.charge_id)) else {
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
        journal.write(&Entry::Intent {
            charge_id: sub.charge_id.clone(),
            attempt,
            key: key.clone(),
        })?;
        let order = order_for(sub)?;
        // The call owns what it needs: the token and order can go at once.
        let call = client
            .create_order(&sub.token, &order)
            .with_idempotency_key(key);
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

fn step_name(step: &NextStep) -> &'static str {
    match step {
        NextStep::Reconcile => "reconcile",
        NextStep::RetryLater { .. } => "retry later",
        NextStep::AskCustomer => "ask the customer",
        NextStep::StopCharging => "stop charging",
        NextStep::FixRequest => "fix the request",
        NextStep::FixConfiguration => "fix the configuration",
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
    println!("run 3 (retry later, reconcile): {third} charges sent");

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
    let states = read_journal(&journal)?;
    let mut summary: BTreeMap<&'static str, usize> = BTreeMap::new();
    for sub in &subs {
        let name = match states.get(&sub.charge_id) {
            Some(s) if s.charged => "charged",
            Some(s) if s.open => "in flight at the end (reconcile)",
            Some(State {
                failed: Some(step), ..
            }) => step_name(step),
            _ => "never sent",
        };
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
