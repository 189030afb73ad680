//! Exit codes, next-step wording and what the tool prints.

use std::process::ExitCode;

use klarna_customer_token::{Error, NextStep, OrderOutcome};

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Exit {
    /// 0: success.
    Success,
    /// 1: usage or invalid input (also an order the server refused as
    /// `BAD_VALUE` or `BAD_REQUEST`).
    Invalid,
    /// 2: not done (for an order: not created) for another reason.
    NotDone,
    /// 3: may have been created: reconcile with the same key.
    MayHaveBeenCreated,
    /// 4: configuration: credentials, endpoint.
    Config,
}

impl Exit {
    /// The process exit status.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Invalid => 1,
            Self::NotDone => 2,
            Self::MayHaveBeenCreated => 3,
            Self::Config => 4,
        }
    }

    /// How severe a batch takes it: 4, 3, 1, 2, 0, most severe first.
    fn severity(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::NotDone => 1,
            Self::Invalid => 2,
            Self::MayHaveBeenCreated => 3,
            Self::Config => 4,
        }
    }

    /// The more severe of two.
    pub(crate) fn worst(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// Every code, in numeric order.
    pub(crate) const ALL: [Exit; 5] = [
        Self::Success,
        Self::Invalid,
        Self::NotDone,
        Self::MayHaveBeenCreated,
        Self::Config,
    ];
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The exit code of a next step, with the order's outcome when known.
pub(crate) fn exit_for_step(step: &NextStep, outcome: Option<OrderOutcome>) -> Exit {
    match step {
        NextStep::Reconcile => Exit::MayHaveBeenCreated,
        NextStep::FixRequest => Exit::Invalid,
        NextStep::FixConfiguration => Exit::Config,
        NextStep::RetryLater { .. } | NextStep::AskCustomer | NextStep::StopCharging => {
            Exit::NotDone
        }
        // A step added by a later version of the library: the outcome
        // decides, on the safe side.
        _ => match outcome {
            Some(OrderOutcome::NotCreated) | None => Exit::NotDone,
            Some(_) => Exit::MayHaveBeenCreated,
        },
    }
}

/// The exit code of a failed call.
pub(crate) fn exit_for(error: &Error) -> Exit {
    exit_for_step(&error.next_step(), error.order_outcome())
}

/// A short name of a next step, for summaries.
pub(crate) fn step_name(step: &NextStep) -> &'static str {
    match step {
        NextStep::Reconcile => "reconcile",
        NextStep::RetryLater { .. } => "retry later",
        NextStep::AskCustomer => "ask the customer",
        NextStep::StopCharging => "stop charging",
        NextStep::FixRequest => "fix the request",
        NextStep::FixConfiguration => "fix the configuration",
        _ => "needs a person",
    }
}

/// What a person does for a next step, in a sentence.
pub(crate) fn step_advice(step: &NextStep) -> String {
    match step {
        NextStep::Reconcile => "reconcile: send the same order again with the same key within 24 \
                                hours; Klarna returns the order if it exists, or creates it once"
            .to_owned(),
        NextStep::RetryLater { after } => {
            let wait = after.map_or(String::new(), |after| {
                format!(" (the server asked to wait {:.1} s)", after.as_secs_f64())
            });
            format!(
                "retry later{wait}; for an order, the same key while no earlier call with it \
                 may have created the order (a refusal before processing stores nothing), a \
                 new attempt with a new key after a processed decline"
            )
        }
        NextStep::AskCustomer => {
            "ask the customer for another payment method; this one cannot be charged".to_owned()
        }
        NextStep::StopCharging => "stop charging this token: it is gone for good".to_owned(),
        NextStep::FixRequest => {
            "fix the request; sending it again unchanged fails the same way".to_owned()
        }
        NextStep::FixConfiguration => {
            "fix the configuration (credentials, merchant account or endpoint)".to_owned()
        }
        _ => "a step this tool does not know: have a person look at it".to_owned(),
    }
}

/// Prints a JSON value on stdout, one line.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// Prints a failed call: the error, the outcome, the next step and, for an
/// order, the key to reuse. On stderr, or as a JSON report on stdout.
pub(crate) fn print_failure(error: &Error, json: bool) {
    if json {
        let report = serde_json::to_value(error.report()).unwrap_or(serde_json::Value::Null);
        print_json(&serde_json::json!({ "error": report, "exit_code": exit_for(error).code() }));
        return;
    }
    eprintln!("error: {error}");
    if let Some(outcome) = error.order_outcome() {
        eprintln!("outcome:   {outcome}");
    }
    eprintln!("next step: {}", step_advice(&error.next_step()));
    if let Some(key) = error.idempotency_key() {
        eprintln!("key:       {key}");
    }
    if let Some(id) = error.correlation_id() {
        eprintln!("correlation id: {id}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_severity_is_4_3_1_2_0() {
        let order = [
            Exit::Config,
            Exit::MayHaveBeenCreated,
            Exit::Invalid,
            Exit::NotDone,
            Exit::Success,
        ];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i..] {
                assert_eq!(a.worst(*b), *a, "{a:?} vs {b:?}");
                assert_eq!(b.worst(*a), *a, "{b:?} vs {a:?}");
            }
        }
    }
}
