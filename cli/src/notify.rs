//! `notify --journal JOURNAL.jsonl --url REQUEST_URL [--body BODY.json]`:
//! applies a fraud-review notification to a batch journal once its URL's
//! signature verifies and its order is the one the key created.

use std::io::Read as _;
use std::path::Path;

use klarna_customer_token::charge::{Event, Next, Timestamp};
use klarna_customer_token::notification::{
    FraudNotification, MAX_NOTIFICATION_BYTES, NotificationSigner,
};

use crate::commands::{clean, read_capped};
use crate::journal::{self, Journal, Record};
use crate::output::{Exit, step_name};

/// The environment variable holding the signer's secret.
pub(crate) const SECRET_VAR: &str = "KLARNA_NOTIFICATION_SECRET";

/// The signer, from the environment; the error is the message to print.
pub(crate) fn signer() -> Result<NotificationSigner, String> {
    let secret = std::env::var_os(SECRET_VAR)
        .ok_or_else(|| format!("{SECRET_VAR} is not set"))?
        .into_encoded_bytes();
    NotificationSigner::new(secret).map_err(|e| format!("{SECRET_VAR}: {e}"))
}

/// The body, from a file or standard input, bounded.
fn body(path: Option<&Path>) -> Result<Vec<u8>, String> {
    let cap = MAX_NOTIFICATION_BYTES as u64;
    match path {
        Some(path) => read_capped(path, cap),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(cap + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("standard input: {e}"))?;
            Ok(bytes)
        }
    }
}

/// Runs `notify`.
pub(crate) fn run(journal_path: &Path, url: &str, body_path: Option<&Path>) -> Exit {
    match apply(journal_path, url, body_path) {
        Ok(standing) => {
            println!("{standing}");
            Exit::Success
        }
        Err((exit, message)) => {
            eprintln!("error: {message}; nothing was applied");
            exit
        }
    }
}

fn apply(
    journal_path: &Path,
    url: &str,
    body_path: Option<&Path>,
) -> Result<String, (Exit, String)> {
    let invalid = |m: String| (Exit::Invalid, m);
    let signer = signer().map_err(|m| (Exit::Config, m))?;
    // The URL is a secret: never printed, whatever happens.
    let key = signer.verify(url).map_err(|e| invalid(e.to_string()))?;
    let body = body(body_path).map_err(invalid)?;
    let notification =
        FraudNotification::from_json(&body).map_err(|e| invalid(format!("the body: {e}")))?;
    let context = |e: String| invalid(format!("journal {}: {e}", journal_path.display()));
    let mut journal = Journal::lock(journal_path).map_err(context)?;
    let loaded = journal::load(journal_path).map_err(context)?;
    journal.repair(journal_path, &loaded).map_err(context)?;
    let charge_id = loaded
        .histories
        .iter()
        .find(|(_, events)| {
            events.iter().any(|e| match e {
                Event::Intent { key: k, .. } | Event::Answer { key: k, .. } => *k == key,
                _ => false,
            })
        })
        .map(|(id, _)| id.clone())
        .ok_or_else(|| invalid(format!("no charge of this journal was sent with key {key}")))?;
    let namespace = loaded.namespaces.first().cloned().unwrap_or_default();
    let mut charge = journal::charge(&loaded.histories, &namespace, &charge_id);
    let now = Timestamp::now();
    let event = charge
        .notification(&key, &notification, now)
        .map_err(|e| invalid(format!("charge {}: {e}", clean(&charge_id))))?;
    let Event::Notification {
        attempt,
        order_id,
        event_type,
        ..
    } = &event
    else {
        return Err(invalid("not a notification".to_owned()));
    };
    let record = Record::Notification {
        at_ms: now.as_millis(),
        charge_id: charge_id.clone(),
        attempt: *attempt,
        order_id: order_id.clone(),
        event_type: event_type.clone(),
    };
    let applied = format!(
        "charge {} order {}: {event_type} applied",
        clean(&charge_id),
        clean(order_id)
    );
    journal.write(&record).map_err(|e| context(e.to_string()))?;
    charge.apply(event);
    let standing = match charge.next(now) {
        Next::Done { .. } => "paid".to_owned(),
        Next::AwaitingReview { .. } => "still awaiting fraud review".to_owned(),
        Next::ClosedUnpaid { step, .. } => format!("closed unpaid: {}", step_name(&step)),
        Next::NeedsPerson { reason } => format!("needs a person: {reason}"),
        other => format!("{other:?}"),
    };
    Ok(format!("{applied}; the charge is {standing}"))
}
