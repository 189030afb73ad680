//! `batch FILE.jsonl --journal JOURNAL.jsonl --namespace NS`.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Duration;

use klarna_customer_token::{
    CreatedOrder, CustomerToken, Error, IdempotencyKey, NextStep, OrderOutcome, OrderRequest,
};
use serde_json::value::RawValue;
use tokio::task::JoinSet;

use crate::args::Args;
use crate::commands::{MAX_ORDER_FILE, clean, decode_order};
use crate::config;
use crate::journal::{self, Journal, KEY_WINDOW, KEY_WINDOW_MARGIN, Record, States};
use crate::output::{Exit, exit_for_step, step_advice, step_name};

/// The largest batch file read.
const MAX_BATCH_FILE: u64 = 4 * 1024 * 1024 * 1024;
/// The requests per second a batch keeps to unless told otherwise: under
/// the 50 Klarna's playground allows.
const DEFAULT_RATE_LIMIT: u32 = 40;
/// The longest `charge_id` taken.
const MAX_CHARGE_ID: usize = 1024;

/// One line of the batch file, checked.
#[derive(Debug)]
struct Charge {
    line: usize,
    token: CustomerToken,
    order: OrderRequest,
    charge_id: String,
    attempt: u32,
}

/// Reads and checks every line; any violation means nothing is sent.
fn load(path: &Path, strict: bool) -> Result<Vec<Charge>, Vec<String>> {
    let bytes =
        crate::commands::read_capped(path, MAX_BATCH_FILE).map_err(|e| vec![e.to_string()])?;
    let mut charges = Vec::new();
    let mut violations = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        let number = index + 1;
        if raw_line.trim_ascii().is_empty() {
            continue;
        }
        let mut bad = |path: &str, message: String| {
            if path.is_empty() {
                violations.push(format!("line {number}: {message}"));
            } else {
                violations.push(format!("line {number}: {path}: {message}"));
            }
        };
        if raw_line.len() as u64 > MAX_ORDER_FILE {
            bad("", format!("longer than {MAX_ORDER_FILE} bytes"));
            continue;
        }
        let fields: BTreeMap<String, &RawValue> = match serde_json::from_slice(raw_line) {
            Ok(fields) => fields,
            Err(e) => {
                bad("", format!("not a JSON object: {e}"));
                continue;
            }
        };
        for name in fields.keys() {
            if !["token", "order", "charge_id", "attempt"].contains(&name.as_str()) {
                bad(
                    &clean(name),
                    "is not a field of a batch line (token, order, charge_id, attempt)".into(),
                );
            }
        }
        let string = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Option<String> {
            match fields.get(name) {
                None => {
                    bad(name, "missing".into());
                    None
                }
                Some(raw) => match serde_json::from_str::<String>(raw.get()) {
                    Ok(s) => Some(s),
                    Err(_) => {
                        bad(name, "must be a string".into());
                        None
                    }
                },
            }
        };
        let token = string("token", &mut bad).and_then(|t| match CustomerToken::new(t) {
            Ok(token) => Some(token),
            Err(e) => {
                bad("token", e.message().to_owned());
                None
            }
        });
        let charge_id = string("charge_id", &mut bad).and_then(|id| {
            if id.is_empty() || id.chars().count() > MAX_CHARGE_ID {
                bad(
                    "charge_id",
                    format!("must be 1 to {MAX_CHARGE_ID} characters"),
                );
                None
            } else if id.chars().any(char::is_control) {
                bad("charge_id", "must not hold control characters".into());
                None
            } else {
                Some(id)
            }
        });
        let attempt = match fields.get("attempt") {
            None => {
                bad("attempt", "missing".into());
                None
            }
            Some(raw) => match serde_json::from_str::<u32>(raw.get()) {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    bad(
                        "attempt",
                        format!("must be a whole number from 1 to {}", u32::MAX),
                    );
                    None
                }
            },
        };
        let order = match fields.get("order") {
            None => {
                bad("order", "missing".into());
                None
            }
            Some(raw) => match decode_order(raw.get().as_bytes(), strict) {
                Ok(order) => Some(order),
                Err(found) => {
                    for v in found {
                        // `path: message`, the path relative to the order.
                        if v.starts_with(':') {
                            violations.push(format!("line {number}: order{v}"));
                        } else {
                            violations.push(format!("line {number}: order.{v}"));
                        }
                    }
                    None
                }
            },
        };
        if let Some(id) = &charge_id {
            if let Some(first) = seen.get(id) {
                violations.push(format!(
                    "line {number}: charge_id: {:?} is also on line {first}",
                    clean(id)
                ));
                continue;
            }
            seen.insert(id.clone(), number);
        }
        if let (Some(token), Some(order), Some(charge_id), Some(attempt)) =
            (token, order, charge_id, attempt)
        {
            charges.push(Charge {
                line: number,
                token,
                order,
                charge_id,
                attempt,
            });
        }
    }
    if violations.is_empty() {
        Ok(charges)
    } else {
        Err(violations)
    }
}

/// What this run does with one charge.
#[derive(Debug)]
enum Plan {
    /// Send with this key; `resend` when the journal has it already.
    Send { key: IdempotencyKey, resend: bool },
    /// Charged before.
    AlreadyCharged,
    /// This attempt failed definitively before.
    Journaled(NextStep, Option<OrderOutcome>),
    /// This attempt may have been created, but its key was first sent too
    /// long ago to reconcile safely.
    TooOld { key: IdempotencyKey, hours: f64 },
    /// Another attempt of this charge may have been created.
    OtherAttemptOpen { attempt: u32 },
}

fn plan(charge: &Charge, namespace: &str, states: &States, now_ms: u64) -> Plan {
    let fresh = || Plan::Send {
        key: IdempotencyKey::for_charge(namespace, &charge.charge_id, charge.attempt),
        resend: false,
    };
    let Some(attempts) = states.get(&charge.charge_id) else {
        return fresh();
    };
    if attempts.values().any(|a| a.charged) {
        return Plan::AlreadyCharged;
    }
    if let Some((attempt, _)) = attempts
        .iter()
        .find(|(n, a)| **n != charge.attempt && a.ambiguous())
    {
        return Plan::OtherAttemptOpen { attempt: *attempt };
    }
    let Some(state) = attempts.get(&charge.attempt) else {
        return fresh();
    };
    if state.ambiguous() {
        let key = state.key.clone().unwrap_or_else(|| {
            IdempotencyKey::for_charge(namespace, &charge.charge_id, charge.attempt)
        });
        let sent = state.first_sent_ms.unwrap_or(now_ms);
        let age = Duration::from_millis(now_ms.saturating_sub(sent));
        if age + KEY_WINDOW_MARGIN >= KEY_WINDOW {
            return Plan::TooOld {
                key,
                hours: age.as_secs_f64() / 3600.0,
            };
        }
        return Plan::Send { key, resend: true };
    }
    match state.failed {
        Some((step, outcome)) => Plan::Journaled(step, outcome),
        // An attempt state with neither: only a result-less resolution.
        None => fresh(),
    }
}

/// How one charge ended in this run.
#[derive(Debug)]
enum Ended {
    Charged,
    AlreadyCharged,
    Failed(NextStep, Option<OrderOutcome>),
    Journaled(NextStep, Option<OrderOutcome>),
    TooOld,
    OtherAttemptOpen,
    /// Sent, but its result could not be journaled.
    NotJournaled,
    /// Not sent: interrupted or stopped.
    NotSent,
}

impl Ended {
    fn exit(&self) -> Exit {
        match self {
            Self::Charged | Self::AlreadyCharged => Exit::Success,
            Self::Failed(step, outcome) | Self::Journaled(step, outcome) => {
                exit_for_step(step, *outcome)
            }
            Self::TooOld | Self::OtherAttemptOpen | Self::NotJournaled => Exit::MayHaveBeenCreated,
            Self::NotSent => Exit::NotDone,
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Charged => "charged".to_owned(),
            Self::AlreadyCharged => "already charged (skipped)".to_owned(),
            Self::Failed(step, _) => step_name(step).to_owned(),
            Self::Journaled(step, _) => {
                format!("{} (journaled before; not sent again)", step_name(step))
            }
            Self::TooOld => "refused: may have been created over 24 hours ago".to_owned(),
            Self::OtherAttemptOpen => "refused: another attempt may have been created".to_owned(),
            Self::NotJournaled => "sent, result not journaled (reconcile)".to_owned(),
            Self::NotSent => "not sent (stopped)".to_owned(),
        }
    }
}

/// Progress: a bar on a terminal, plain lines otherwise.
enum Progress {
    Bar(indicatif::ProgressBar),
    Plain,
}

impl Progress {
    fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::Plain;
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} charges sent and answered, {per_sec}, eta {eta} {msg}",
        ) {
            bar.set_style(style);
        }
        Self::Bar(bar)
    }

    /// One finished charge; `line` is printed as plain text, or above the
    /// bar when it is worth a person's attention.
    fn done(&self, line: &str, notable: bool) {
        match self {
            Self::Bar(bar) => {
                if notable {
                    bar.println(line);
                }
                bar.inc(1);
            }
            Self::Plain => println!("{line}"),
        }
    }

    fn note(&self, line: &str) {
        match self {
            Self::Bar(bar) => bar.println(line),
            Self::Plain => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn write_journal(journal: &mut Journal, record: &Record) -> std::io::Result<()> {
    // A sync can take a while: let the runtime move other tasks off this
    // thread meanwhile.
    tokio::task::block_in_place(|| journal.write(record))
}

/// Runs a batch.
pub(crate) async fn run(
    args: &Args,
    file: &Path,
    journal_path: &Path,
    namespace: &str,
    concurrency: usize,
) -> Exit {
    // 1. Every line checked before anything else.
    let charges = match load(file, args.strict) {
        Ok(charges) => charges,
        Err(violations) => {
            eprintln!(
                "{}: {} problem{}; nothing was sent:",
                file.display(),
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            for v in &violations {
                eprintln!("  {v}");
            }
            return Exit::Invalid;
        }
    };
    // 2. The client.
    let client = match config::client(args, Some(args.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT))) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    // 3. The journal: locked, then read, then repaired.
    let mut journal = match Journal::lock(journal_path) {
        Ok(journal) => journal,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let loaded = match journal::load(journal_path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    if let Some(other) = loaded.namespaces.iter().find(|n| *n != namespace) {
        eprintln!(
            "error: journal {} holds charges of namespace {:?}, not {:?}: keys from another \
             namespace would charge again. Nothing was sent",
            journal_path.display(),
            clean(other),
            clean(namespace)
        );
        return Exit::Invalid;
    }
    if let Some(torn) = &loaded.torn {
        eprintln!(
            "journal {} line {}: torn ({} bytes cut short by a crash while it was written): \
             ignored and removed; the step it recorded never counted as done. It read: {}",
            journal_path.display(),
            torn.line,
            torn.bytes,
            torn.preview
        );
    }
    if let Err(e) = journal.repair(journal_path, &loaded) {
        eprintln!("error: {e}");
        return Exit::Invalid;
    }

    // 4. The plan.
    let now = journal::now_ms();
    let mut ended: Vec<Option<Ended>> = Vec::with_capacity(charges.len());
    let mut sends: Vec<(usize, IdempotencyKey)> = Vec::new();
    let mut resends = 0usize;
    for (index, charge) in charges.iter().enumerate() {
        let line = charge.line;
        let id = clean(&charge.charge_id);
        let outcome = match plan(charge, namespace, &loaded.states, now) {
            Plan::Send { key, resend } => {
                resends += usize::from(resend);
                sends.push((index, key));
                None
            }
            Plan::AlreadyCharged => Some(Ended::AlreadyCharged),
            Plan::Journaled(step, outcome) => Some(Ended::Journaled(step, outcome)),
            Plan::TooOld { key, hours } => {
                eprintln!(
                    "line {line}: charge {id} attempt {} refused: key {key} was first sent \
                     {hours:.1} hours ago and may have created an order, but Klarna keeps a \
                     key for 24 hours only, so sending it again could charge twice. Check the \
                     Merchant Portal, then append {{\"event\":\"resolved\",\"charge_id\":…,\
                     \"attempt\":{},\"created\":true|false}} to the journal",
                    charge.attempt, charge.attempt
                );
                Some(Ended::TooOld)
            }
            Plan::OtherAttemptOpen { attempt } => {
                eprintln!(
                    "line {line}: charge {id} attempt {} refused: attempt {attempt} may have \
                     created an order; reconcile it first (put attempt {attempt} in the file)",
                    charge.attempt
                );
                Some(Ended::OtherAttemptOpen)
            }
        };
        ended.push(outcome);
    }
    println!(
        "{} charges: {} to send ({} again with their journaled key), {} settled before",
        charges.len(),
        sends.len(),
        resends,
        charges.len() - sends.len()
    );

    // 5. Ctrl-C: the first stops sending, a second exits at once (the
    // journal then holds intents that a re-run reconciles).
    let (signal_tx, mut signals) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        for _ in 0..2 {
            if tokio::signal::ctrl_c().await.is_err() || signal_tx.send(()).is_err() {
                return;
            }
        }
    });

    let progress = Progress::new(sends.len());
    let mut calls: JoinSet<Result<CreatedOrder, Error>> = JoinSet::new();
    let mut in_flight: HashMap<tokio::task::Id, (usize, IdempotencyKey)> = HashMap::new();
    let mut next = 0usize;
    let mut stop: Option<String> = None;
    let mut interrupts = 0u32;
    loop {
        while stop.is_none() && next < sends.len() && calls.len() < concurrency {
            let (index, key) = sends[next].clone();
            let charge = &charges[index];
            let intent = Record::Intent {
                at_ms: journal::now_ms(),
                namespace: namespace.to_owned(),
                charge_id: charge.charge_id.clone(),
                attempt: charge.attempt,
                key: key.clone(),
                line: charge.line,
                token: charge.token.redacted(),
            };
            if let Err(e) = write_journal(&mut journal, &intent) {
                stop = Some(format!("the journal cannot be written ({e})"));
                break;
            }
            let call = client
                .create_order(&charge.token, &charge.order)
                .with_idempotency_key(key.clone());
            let handle = calls.spawn(call.into_future());
            in_flight.insert(handle.id(), (index, key));
            next += 1;
        }
        if calls.is_empty() {
            break;
        }
        tokio::select! {
            Some(()) = signals.recv() => {
                interrupts += 1;
                if interrupts >= 2 {
                    progress.finish();
                    eprintln!(
                        "interrupted again: exiting with {} calls in flight; their intents are \
                         journaled, and a re-run reconciles them with the same keys",
                        calls.len()
                    );
                    return Exit::MayHaveBeenCreated;
                }
                stop = Some("interrupted".to_owned());
                progress.note(&format!(
                    "interrupted: sending no more; waiting for the {} calls in flight \
                     (Ctrl-C again to exit at once)",
                    calls.len()
                ));
            }
            Some(joined) = calls.join_next_with_id() => {
                let (id, result) = match joined {
                    Ok((id, result)) => (id, Some(result)),
                    Err(e) => (e.id(), None),
                };
                let Some((index, key)) = in_flight.remove(&id) else { continue };
                let charge = &charges[index];
                let cid = clean(&charge.charge_id);
                let head = format!("line {} charge {cid} (token {})", charge.line, charge.token);
                let (record, outcome, text, notable) = match result {
                    Some(Ok(order)) => {
                        let text = format!(
                            "{head}: charged, order {} key {key}",
                            clean(order.order_id())
                        );
                        (
                            Some(Record::Charged {
                                at_ms: journal::now_ms(),
                                charge_id: charge.charge_id.clone(),
                                attempt: charge.attempt,
                                key: key.clone(),
                                order,
                            }),
                            Ended::Charged,
                            text,
                            false,
                        )
                    }
                    Some(Err(e)) => {
                        let step = e.next_step();
                        let text = format!(
                            "{head}: {} key {key}: {e}",
                            step_name(&step)
                        );
                        if step == NextStep::FixConfiguration && stop.is_none() {
                            stop = Some(format!("the configuration was refused: {e}"));
                        }
                        (
                            Some(Record::Failed {
                                at_ms: journal::now_ms(),
                                charge_id: charge.charge_id.clone(),
                                attempt: charge.attempt,
                                key: key.clone(),
                                next_step: step,
                                report: e.report(),
                            }),
                            Ended::Failed(step, e.order_outcome()),
                            text,
                            true,
                        )
                    }
                    // The call's task failed: its outcome is unknown.
                    None => (
                        None,
                        Ended::NotJournaled,
                        format!("{head}: the call was lost; key {key} reconciles it"),
                        true,
                    ),
                };
                let outcome = match record {
                    Some(record) => match write_journal(&mut journal, &record) {
                        Ok(()) => outcome,
                        Err(e) => {
                            if stop.is_none() {
                                stop = Some(format!("the journal cannot be written ({e})"));
                            }
                            Ended::NotJournaled
                        }
                    },
                    None => outcome,
                };
                progress.done(&text, notable);
                ended[index] = Some(outcome);
            }
        }
    }
    progress.finish();
    if let Some(reason) = &stop {
        eprintln!("stopped: {reason}");
    }

    // 6. The summary.
    let mut by_label: BTreeMap<String, (usize, Exit)> = BTreeMap::new();
    let mut by_exit: BTreeMap<u8, usize> = BTreeMap::new();
    let mut exit = Exit::Success;
    let mut steps: BTreeMap<&'static str, String> = BTreeMap::new();
    for end in ended.iter().map(|e| e.as_ref().unwrap_or(&Ended::NotSent)) {
        let code = end.exit();
        exit = exit.worst(code);
        let entry = by_label.entry(end.label()).or_insert((0, code));
        entry.0 += 1;
        *by_exit.entry(code.code()).or_default() += 1;
        if let Ended::Failed(step, _) | Ended::Journaled(step, _) = end {
            steps
                .entry(step_name(step))
                .or_insert_with(|| step_advice(step));
        }
    }
    println!("summary of {} charges:", charges.len());
    for (label, (count, code)) in &by_label {
        println!("  {label:<52} {count:>7}   exit {}", code.code());
    }
    let codes: Vec<String> = Exit::ALL
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.code(),
                by_exit.get(&e.code()).copied().unwrap_or(0)
            )
        })
        .collect();
    println!("charges per exit code: {}", codes.join(", "));
    for (name, advice) in &steps {
        println!("  {name}: {advice}");
    }
    println!("exit code: {}", exit.code());
    exit
}

#[cfg(test)]
mod tests;
