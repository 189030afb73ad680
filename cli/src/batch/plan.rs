//! What a run does with each charge: the charge's history, from the
//! journal, decides ([`klarna_customer_token::charge::Charge`]).

use klarna_customer_token::charge::{
    BodyDigest, Charge, Event, Next, Reason, SendRefused, Timestamp,
};
use klarna_customer_token::{IdempotencyKey, NextStep};

use super::load::Charge as Line;
use super::summary::Ended;
use crate::commands::clean;
use crate::journal::{self, Histories};

/// What this run does with one charge.
#[derive(Debug)]
pub(super) enum Plan {
    /// Send with this key; `resend` when the journal has it already.
    Send {
        key: IdempotencyKey,
        digest: BodyDigest,
        resend: bool,
    },
    /// Settled before, or refused; how it ends in this run.
    Ended(Ended),
}

/// Plans one charge at `now`; a refusal is explained on standard error,
/// naming the line.
pub(super) fn plan(line: &Line, charge: &Charge, now: Timestamp) -> Plan {
    let digest = match BodyDigest::of(&line.token, &line.order) {
        Ok(digest) => digest,
        // The file's orders were validated when it was read.
        Err(e) => {
            refuse(line, &format!("the order cannot be sent: {e}"));
            return Plan::Ended(Ended::Journaled(NextStep::FixRequest));
        }
    };
    let key = match charge.intent(line.attempt, digest, now) {
        Ok(Event::Intent { key, .. }) => key,
        Ok(_) => charge.key(line.attempt),
        Err(refused) => return Plan::Ended(refused_send(line, charge, &refused, now)),
    };
    let resend = charge.has_attempt(line.attempt);
    // Safe to send; is it useful? A journaled answer that said stop, ask
    // the customer or fix something is not sent again under this attempt.
    let settled = match charge.next(now) {
        Next::NeedsPerson {
            reason: reason @ (Reason::TokenUnusable { attempt } | Reason::ResendRefused { attempt }),
        } if attempt == line.attempt => {
            refuse(
                line,
                &format!(
                    "{reason}: append {{\"event\":\"resolved\",\"charge_id\":…,\"attempt\":\
                     {attempt},\"created\":true|false}} to the journal"
                ),
            );
            return Plan::Ended(Ended::NeedsPerson(reason));
        }
        Next::Stop => Some(NextStep::StopCharging),
        Next::AskCustomer => Some(NextStep::AskCustomer),
        Next::NeedsPerson {
            reason: Reason::FixRequest { attempt },
        } if attempt == line.attempt => Some(NextStep::FixRequest),
        Next::NeedsPerson {
            reason: Reason::FixConfiguration { attempt },
        } if attempt == line.attempt => Some(NextStep::FixConfiguration),
        _ => None,
    };
    match settled {
        Some(step) if resend => Plan::Ended(Ended::Journaled(step)),
        _ => Plan::Send {
            key,
            digest,
            resend,
        },
    }
}

/// How a charge the charge refused to send ends, said on standard error.
/// The refusal is judged at the plan's own `now`, the time the charge
/// decided with.
fn refused_send(line: &Line, charge: &Charge, refused: &SendRefused, now: Timestamp) -> Ended {
    let attempt = line.attempt;
    match refused {
        // An order exists: paid, held for review, or closed by it.
        SendRefused::AlreadyCharged { .. } => match Ended::after(charge.next(now)) {
            Ended::Charged => Ended::AlreadyCharged,
            other => other,
        },
        SendRefused::OtherAttemptOpen { open, .. } => {
            refuse(
                line,
                &format!(
                    "attempt {open} may have created an order; reconcile it first (put \
                     attempt {open} in the file, with the same token and order)"
                ),
            );
            Ended::OtherAttemptOpen
        }
        SendRefused::BodyChanged { .. } => {
            refuse(
                line,
                &format!(
                    "key {} was sent before with another token or order; sending this one \
                     under it could charge twice. Put back the token and order it was sent \
                     with, or settle attempt {attempt} and use a new attempt",
                    charge.key(attempt)
                ),
            );
            Ended::BodyChanged
        }
        // Declined after processing, or settled by a person: its key would
        // only replay that; a new attempt is the next try.
        SendRefused::AttemptSettled { .. } => {
            Ended::Journaled(NextStep::RetryLater { after: None })
        }
        SendRefused::NeedsPerson(reason) => {
            let key = charge.key(attempt);
            let why = match reason {
                Reason::WindowClosed { first_sent, .. } => format!(
                    "key {key} was first sent {:.1} hours ago and may have created an order, \
                     but Klarna keeps a key for 24 hours only, so sending it again could \
                     charge twice",
                    now.since(*first_sent).as_secs_f64() / 3600.0
                ),
                Reason::StampedInFuture { first_sent, .. } => format!(
                    "key {key} may have created an order, and its first send is stamped {:.1} \
                     hours in the future; the clock cannot tell whether Klarna still holds it",
                    first_sent.since(now).as_secs_f64() / 3600.0
                ),
                other => format!("key {key}: {other}"),
            };
            refuse(
                line,
                &format!(
                    "{why}. Check the Merchant Portal, then append \
                     {{\"event\":\"resolved\",\"charge_id\":…,\"attempt\":{attempt},\
                     \"created\":true|false}} to the journal"
                ),
            );
            Ended::NeedsPerson(reason.clone())
        }
        other => {
            refuse(line, &other.to_string());
            Ended::NeedsPerson(Reason::FirstSendUnknown { attempt })
        }
    }
}

fn refuse(line: &Line, why: &str) {
    eprintln!(
        "line {}: charge {} attempt {} refused: {why}",
        line.line,
        clean(&line.charge_id),
        line.attempt
    );
}

/// One charge to send.
pub(super) struct ToSend {
    /// The charge's index in the file.
    pub(super) index: usize,
    pub(super) key: IdempotencyKey,
    pub(super) digest: BodyDigest,
    /// The charge's history so far.
    pub(super) charge: Charge,
}

/// The plan of a whole batch.
pub(super) struct Planned {
    /// Per charge, in file order: how it ended already, `None` when it is
    /// to be sent.
    pub(super) ended: Vec<Option<Ended>>,
    /// What to send, in file order.
    pub(super) sends: Vec<ToSend>,
}

/// Plans every charge, saying why each refused one is refused, then how
/// many are to be sent.
pub(super) fn plan_all(lines: &[Line], namespace: &str, histories: &Histories) -> Planned {
    let now = Timestamp::now();
    let mut ended: Vec<Option<Ended>> = Vec::with_capacity(lines.len());
    let mut sends = Vec::new();
    let mut resends = 0usize;
    for (index, line) in lines.iter().enumerate() {
        let charge = journal::charge(histories, namespace, &line.charge_id);
        match plan(line, &charge, now) {
            Plan::Send {
                key,
                digest,
                resend,
            } => {
                resends += usize::from(resend);
                sends.push(ToSend {
                    index,
                    key,
                    digest,
                    charge,
                });
                ended.push(None);
            }
            Plan::Ended(end) => ended.push(Some(end)),
        }
    }
    println!(
        "{} charges: {} to send ({} again with their journaled key), {} settled before",
        lines.len(),
        sends.len(),
        resends,
        lines.len() - sends.len()
    );
    Planned { ended, sends }
}
