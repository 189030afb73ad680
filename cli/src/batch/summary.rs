//! How each charge ended, and the summary a batch ends with.

use std::collections::BTreeMap;

use klarna_customer_token::charge::{Next, Reason};
use klarna_customer_token::{NextStep, OrderOutcome};

use crate::output::{Exit, exit_for_step, step_advice, step_name};

/// How one charge ended in this run.
#[derive(Debug)]
pub(super) enum Ended {
    Charged,
    AlreadyCharged,
    /// Created, but held for fraud review: not paid.
    AwaitingReview,
    /// Created, then rejected or stopped by the fraud review: not paid.
    ClosedUnpaid(NextStep),
    /// Its attempt may have created an order: re-run it with the same
    /// attempt (the same key and body).
    Reconcile,
    /// Not charged; a later run may send it, with the same key
    /// (`new_attempt` is `None`: it is known unused) or as a new attempt.
    RetryLater {
        new_attempt: Option<u32>,
    },
    /// Not charged, and this step says why (stop, ask the customer).
    Failed(NextStep),
    /// Journaled before with this step; not sent again under its attempt.
    Journaled(NextStep),
    /// Refused: another token or order than the one sent under its key.
    BodyChanged,
    /// Refused: another attempt may have created an order.
    OtherAttemptOpen,
    /// A person must look.
    NeedsPerson(Reason),
    /// Sent, but its result could not be journaled.
    NotJournaled,
    /// Not sent: interrupted or stopped.
    NotSent,
}

impl Ended {
    /// How a charge ends after this run's answer, as its history says.
    pub(super) fn after(next: Next) -> Self {
        match next {
            Next::Done { .. } => Self::Charged,
            Next::AwaitingReview { .. } => Self::AwaitingReview,
            Next::ClosedUnpaid { step, .. } => Self::ClosedUnpaid(step),
            Next::Reconcile { .. } => Self::Reconcile,
            Next::Send { .. } => Self::RetryLater { new_attempt: None },
            Next::NewAttempt { attempt, .. } => Self::RetryLater {
                new_attempt: Some(attempt),
            },
            Next::Stop => Self::Failed(NextStep::StopCharging),
            Next::AskCustomer => Self::Failed(NextStep::AskCustomer),
            Next::NeedsPerson { reason } => Self::NeedsPerson(reason),
            // A step added by a later version of the library.
            _ => Self::NeedsPerson(Reason::FirstSendUnknown { attempt: 0 }),
        }
    }

    fn exit(&self) -> Exit {
        match self {
            Self::Charged | Self::AlreadyCharged => Exit::Success,
            Self::Failed(step) | Self::Journaled(step) => {
                exit_for_step(step, Some(OrderOutcome::NotCreated))
            }
            Self::RetryLater { .. } | Self::NotSent | Self::AwaitingReview => Exit::NotDone,
            Self::ClosedUnpaid(_) => Exit::NotDone,
            Self::BodyChanged => Exit::Invalid,
            Self::NeedsPerson(Reason::FixRequest { .. }) => Exit::Invalid,
            Self::NeedsPerson(Reason::FixConfiguration { .. }) => Exit::Config,
            Self::Reconcile
            | Self::NeedsPerson(_)
            | Self::OtherAttemptOpen
            | Self::NotJournaled => Exit::MayHaveBeenCreated,
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Charged => "charged".to_owned(),
            Self::AlreadyCharged => "already charged (skipped)".to_owned(),
            Self::AwaitingReview => "awaiting fraud review (created, not paid)".to_owned(),
            Self::ClosedUnpaid(step) => {
                format!("fraud review closed it unpaid: {}", step_name(step))
            }
            Self::Reconcile => "may have been created (re-run: same attempt, same key)".to_owned(),
            Self::RetryLater { new_attempt: None } => {
                "retry later (the same attempt: its key is unused)".to_owned()
            }
            Self::RetryLater {
                new_attempt: Some(n),
            } => format!("retry later (as attempt {n}: a new key)"),
            Self::Failed(step) => step_name(step).to_owned(),
            Self::Journaled(step) => {
                format!("{} (journaled before; not sent again)", step_name(step))
            }
            Self::BodyChanged => "refused: another token or order under a sent key".to_owned(),
            Self::OtherAttemptOpen => "refused: another attempt may have been created".to_owned(),
            Self::NeedsPerson(reason) => match reason {
                Reason::FixRequest { .. } => step_name(&NextStep::FixRequest).to_owned(),
                Reason::FixConfiguration { .. } => {
                    step_name(&NextStep::FixConfiguration).to_owned()
                }
                Reason::WindowClosed { .. } => {
                    "refused: may have been created over 24 hours ago".to_owned()
                }
                Reason::StampedInFuture { .. } => {
                    "refused: may have been created; first send stamped in the future".to_owned()
                }
                Reason::TokenUnusable { .. } => {
                    "needs a person: may have been created, token now refused".to_owned()
                }
                Reason::ResendRefused { .. } => {
                    "needs a person: may have been created, re-send refused as wrong".to_owned()
                }
                Reason::KeyMismatch { .. } => {
                    "needs a person: Klarna holds another body under the key".to_owned()
                }
                _ => "needs a person".to_owned(),
            },
            Self::NotJournaled => "sent, result not journaled (reconcile)".to_owned(),
            Self::NotSent => "not sent (stopped)".to_owned(),
        }
    }

    /// The next step whose advice the summary prints, if any.
    fn step(&self) -> Option<NextStep> {
        match self {
            Self::Failed(step) | Self::Journaled(step) | Self::ClosedUnpaid(step) => Some(*step),
            Self::Reconcile => Some(NextStep::Reconcile),
            Self::RetryLater { .. } => Some(NextStep::RetryLater { after: None }),
            Self::NeedsPerson(Reason::FixRequest { .. }) => Some(NextStep::FixRequest),
            Self::NeedsPerson(Reason::FixConfiguration { .. }) => Some(NextStep::FixConfiguration),
            _ => None,
        }
    }
}

/// Prints the summary of a batch, one entry per charge (`None`: not
/// sent), and returns its exit: the worst of its charges'.
pub(super) fn print(ended: &[Option<Ended>]) -> Exit {
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
        if let Some(step) = end.step() {
            steps
                .entry(step_name(&step))
                .or_insert_with(|| step_advice(&step));
        }
    }
    println!("summary of {} charges:", ended.len());
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
