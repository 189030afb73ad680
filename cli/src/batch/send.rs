//! Sending: each charge's intent journaled (and synced) before it is sent,
//! its result journaled (and synced) after its answer; Ctrl-C stops
//! sending.

use std::collections::HashMap;

use klarna_customer_token::charge::{Answer, Timestamp};
use klarna_customer_token::{Client, CreatedOrder, Error, IdempotencyKey, NextStep};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::{Id, JoinError, JoinSet};

use super::load::Charge;
use super::plan::{Planned, ToSend};
use super::progress::Progress;
use super::summary::Ended;
use crate::commands::clean;
use crate::journal::{self, Journal, Record};
use crate::output::{Exit, step_name};

/// Listens for Ctrl-C, twice at most: one message each. The first stops
/// sending, a second exits at once (the journal then holds intents that a
/// re-run reconciles).
pub(super) fn ctrl_c() -> UnboundedReceiver<()> {
    let (signal_tx, signals) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        for _ in 0..2 {
            if tokio::signal::ctrl_c().await.is_err() || signal_tx.send(()).is_err() {
                return;
            }
        }
    });
    signals
}

fn write_journal(journal: &mut Journal, record: &Record) -> std::io::Result<()> {
    // A sync can take a while: let the runtime move other tasks off this
    // thread meanwhile.
    tokio::task::block_in_place(|| journal.write(record))
}

/// One answered call, before its result is journaled.
struct Answered {
    /// What to journal; `None` when the outcome is unknown.
    record: Option<Record>,
    /// The line that reports it.
    text: String,
    /// Worth a person's attention.
    notable: bool,
}

/// The sending of a batch: what is in flight, what has ended.
pub(super) struct Runner<'a> {
    charges: &'a [Charge],
    namespace: &'a str,
    concurrency: usize,
    client: Client,
    /// What to send, in order; `next` is the first not sent yet.
    sends: Vec<ToSend>,
    next: usize,
    calls: JoinSet<Result<CreatedOrder, Error>>,
    /// Per call in flight: the index in `sends`.
    in_flight: HashMap<Id, usize>,
    /// Per charge: how it ended; `None` while not answered.
    ended: Vec<Option<Ended>>,
    /// Why nothing more is sent.
    stop: Option<String>,
    interrupts: u32,
    progress: Progress,
    journal: Journal,
}

impl<'a> Runner<'a> {
    pub(super) fn new(
        charges: &'a [Charge],
        namespace: &'a str,
        concurrency: usize,
        client: Client,
        journal: Journal,
        planned: Planned,
    ) -> Self {
        Self {
            charges,
            namespace,
            concurrency,
            client,
            progress: Progress::new(planned.sends.len()),
            sends: planned.sends,
            next: 0,
            calls: JoinSet::new(),
            in_flight: HashMap::new(),
            ended: planned.ended,
            stop: None,
            interrupts: 0,
            journal,
        }
    }

    /// Sends every planned charge, `concurrency` at a time, until done or
    /// stopped; then how each charge ended. `Err` when a second Ctrl-C
    /// exits at once.
    pub(super) async fn run(
        mut self,
        mut signals: UnboundedReceiver<()>,
    ) -> Result<Vec<Option<Ended>>, Exit> {
        loop {
            self.send_more();
            if self.calls.is_empty() {
                break;
            }
            tokio::select! {
                Some(()) = signals.recv() => {
                    if let Some(exit) = self.interrupted() {
                        return Err(exit);
                    }
                }
                Some(joined) = self.calls.join_next_with_id() => self.answered(joined),
            }
        }
        self.progress.finish();
        if let Some(reason) = &self.stop {
            eprintln!("stopped: {reason}");
        }
        Ok(self.ended)
    }

    /// Stops sending, for `reason`, unless stopped already.
    fn stop_for(&mut self, reason: String) {
        if self.stop.is_none() {
            self.stop = Some(reason);
        }
    }

    /// Sends until `concurrency` calls are in flight, all are sent, or
    /// sending stopped.
    fn send_more(&mut self) {
        while self.stop.is_none()
            && self.next < self.sends.len()
            && self.calls.len() < self.concurrency
        {
            if let Err(e) = self.send(self.next) {
                self.stop_for(format!("the journal cannot be written ({e})"));
                break;
            }
            self.next += 1;
        }
    }

    /// Journals the intent, synced, then sends the charge; nothing is sent
    /// when the intent cannot be journaled.
    fn send(&mut self, send: usize) -> std::io::Result<()> {
        let ToSend {
            index,
            key,
            digest,
            charge: history,
        } = &mut self.sends[send];
        let charge = &self.charges[*index];
        let intent = Record::Intent {
            at_ms: journal::now_ms(),
            namespace: self.namespace.to_owned(),
            charge_id: charge.charge_id.clone(),
            attempt: charge.attempt,
            key: key.clone(),
            digest: Some(*digest),
            line: charge.line,
            token: charge.token.redacted(),
        };
        // The intent counts (the attempt may have created an order) from
        // the moment the write is tried.
        history.apply(intent.event());
        write_journal(&mut self.journal, &intent)?;
        let call = self
            .client
            .create_order(&charge.token, &charge.order)
            .with_idempotency_key(key.clone());
        let handle = self.calls.spawn(call.into_future());
        self.in_flight.insert(handle.id(), send);
        Ok(())
    }

    /// Ctrl-C: the first stops sending; the second exits at once, with the
    /// exit returned.
    fn interrupted(&mut self) -> Option<Exit> {
        self.interrupts += 1;
        if self.interrupts >= 2 {
            self.progress.finish();
            eprintln!(
                "interrupted again: exiting with {} calls in flight; their intents are \
                 journaled, and a re-run reconciles them with the same keys",
                self.calls.len()
            );
            return Some(Exit::MayHaveBeenCreated);
        }
        self.stop = Some("interrupted".to_owned());
        self.progress.note(&format!(
            "interrupted: sending no more; waiting for the {} calls in flight \
             (Ctrl-C again to exit at once)",
            self.calls.len()
        ));
        None
    }

    /// A call ended: its result journaled, synced, then reported.
    fn answered(&mut self, joined: Result<(Id, Result<CreatedOrder, Error>), JoinError>) {
        let (id, result) = match joined {
            Ok((id, result)) => (id, Some(result)),
            Err(e) => (e.id(), None),
        };
        let Some(send) = self.in_flight.remove(&id) else {
            return;
        };
        let index = self.sends[send].index;
        let key = self.sends[send].key.clone();
        let charges = self.charges;
        let answered = self.answer(&charges[index], &key, result);
        let ended = match answered.record {
            Some(record) => {
                let history = &mut self.sends[send].charge;
                history.apply(record.event());
                match write_journal(&mut self.journal, &record) {
                    Ok(()) => Ended::after(history.next(Timestamp::now())),
                    Err(e) => {
                        self.stop_for(format!("the journal cannot be written ({e})"));
                        Ended::NotJournaled
                    }
                }
            }
            None => Ended::NotJournaled,
        };
        self.progress.done(&answered.text, answered.notable);
        self.ended[index] = Some(ended);
    }

    /// What a call's result comes to; `None` when its task failed. A
    /// refused configuration stops sending.
    fn answer(
        &mut self,
        charge: &Charge,
        key: &IdempotencyKey,
        result: Option<Result<CreatedOrder, Error>>,
    ) -> Answered {
        let cid = clean(&charge.charge_id);
        let head = format!("line {} charge {cid} (token {})", charge.line, charge.token);
        match result {
            Some(Ok(order)) => Answered {
                text: format!(
                    "{head}: charged, order {} key {key}",
                    clean(order.order_id())
                ),
                record: Some(Record::Charged {
                    at_ms: journal::now_ms(),
                    charge_id: charge.charge_id.clone(),
                    attempt: charge.attempt,
                    key: key.clone(),
                    order,
                }),
                notable: false,
            },
            Some(Err(e)) => {
                let step = e.next_step();
                if step == NextStep::FixConfiguration {
                    self.stop_for(format!("the configuration was refused: {e}"));
                }
                let proves = match Answer::from_error(&e) {
                    Answer::MayHaveBeenCreated | Answer::KeyMismatch => "may have been created",
                    Answer::Declined { .. } => "declined",
                    _ => "not created by this call",
                };
                Answered {
                    text: format!("{head}: {} ({proves}) key {key}: {e}", step_name(&step)),
                    record: Some(Record::Failed {
                        at_ms: journal::now_ms(),
                        charge_id: charge.charge_id.clone(),
                        attempt: charge.attempt,
                        key: key.clone(),
                        next_step: step,
                        report: e.report(),
                    }),
                    notable: true,
                }
            }
            // The call's task failed: its outcome is unknown.
            None => Answered {
                record: None,
                text: format!("{head}: the call was lost; key {key} reconciles it"),
                notable: true,
            },
        }
    }
}
