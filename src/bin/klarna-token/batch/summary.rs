//! How each charge ended, and the summary a batch ends with.

use std::collections::BTreeMap;

use klarna_customer_token::{NextStep, OrderOutcome};

use crate::output::{Exit, exit_for_step, step_advice, step_name};

/// How one charge ended in this run.
#[derive(Debug)]
pub(super) enum Ended {
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
        if let Ended::Failed(step, _) | Ended::Journaled(step, _) = end {
            steps
                .entry(step_name(step))
                .or_insert_with(|| step_advice(step));
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
