//! What a run does with each charge, from the journal.

use std::time::Duration;

use klarna_customer_token::{IdempotencyKey, NextStep, OrderOutcome};

use super::load::Charge;
use super::summary::Ended;
use crate::commands::clean;
use crate::journal::{self, KEY_WINDOW, KEY_WINDOW_MARGIN, States};

/// What this run does with one charge.
#[derive(Debug)]
pub(super) enum Plan {
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

pub(super) fn plan(charge: &Charge, namespace: &str, states: &States, now_ms: u64) -> Plan {
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

/// The plan of a whole batch.
pub(super) struct Planned {
    /// Per charge, in file order: how it ended already, `None` when it is
    /// to be sent.
    pub(super) ended: Vec<Option<Ended>>,
    /// What to send, in file order: the charge's index and its key.
    pub(super) sends: Vec<(usize, IdempotencyKey)>,
}

/// Plans every charge, saying why each refused one is refused, then how
/// many are to be sent.
pub(super) fn plan_all(charges: &[Charge], namespace: &str, states: &States) -> Planned {
    let now = journal::now_ms();
    let mut ended: Vec<Option<Ended>> = Vec::with_capacity(charges.len());
    let mut sends: Vec<(usize, IdempotencyKey)> = Vec::new();
    let mut resends = 0usize;
    for (index, charge) in charges.iter().enumerate() {
        let outcome = match plan(charge, namespace, states, now) {
            Plan::Send { key, resend } => {
                resends += usize::from(resend);
                sends.push((index, key));
                None
            }
            Plan::AlreadyCharged => Some(Ended::AlreadyCharged),
            Plan::Journaled(step, outcome) => Some(Ended::Journaled(step, outcome)),
            Plan::TooOld { key, hours } => {
                refuse_too_old(charge, &key, hours);
                Some(Ended::TooOld)
            }
            Plan::OtherAttemptOpen { attempt } => {
                refuse_other_attempt_open(charge, attempt);
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
    Planned { ended, sends }
}

fn refuse_too_old(charge: &Charge, key: &IdempotencyKey, hours: f64) {
    let line = charge.line;
    let id = clean(&charge.charge_id);
    eprintln!(
        "line {line}: charge {id} attempt {} refused: key {key} was first sent \
         {hours:.1} hours ago and may have created an order, but Klarna keeps a \
         key for 24 hours only, so sending it again could charge twice. Check the \
         Merchant Portal, then append {{\"event\":\"resolved\",\"charge_id\":…,\
         \"attempt\":{},\"created\":true|false}} to the journal",
        charge.attempt, charge.attempt
    );
}

fn refuse_other_attempt_open(charge: &Charge, attempt: u32) {
    let line = charge.line;
    let id = clean(&charge.charge_id);
    eprintln!(
        "line {line}: charge {id} attempt {} refused: attempt {attempt} may have \
         created an order; reconcile it first (put attempt {attempt} in the file)",
        charge.attempt
    );
}
