//! `batch FILE.jsonl --journal JOURNAL.jsonl --namespace NS`.
//!
//! In order: every line checked ([`load`]), the client built, the journal
//! opened, every charge planned from it ([`plan`]), the planned ones sent
//! ([`send`]), the summary printed ([`summary`]).

mod load;
mod plan;
mod progress;
mod send;
mod summary;

use std::path::Path;

use crate::args::Args;
use crate::commands::clean;
use crate::config;
use crate::journal::{self, Journal, Loaded};
use crate::output::Exit;

/// The requests per second a batch keeps to unless told otherwise: under
/// the 50 Klarna's playground allows.
const DEFAULT_RATE_LIMIT: u32 = 40;

/// What `batch` was asked to do.
pub(crate) struct Batch<'a> {
    pub(crate) file: &'a Path,
    pub(crate) journal: &'a Path,
    pub(crate) namespace: &'a str,
    pub(crate) concurrency: usize,
    /// Sign each order's notification URL from this base.
    pub(crate) notification_url: Option<&'a str>,
}

/// Runs a batch.
pub(crate) async fn run(args: &Args, batch: &Batch<'_>) -> Exit {
    let Batch {
        file,
        journal: journal_path,
        namespace,
        concurrency,
        notification_url,
    } = *batch;
    // 1. Every line checked before anything else, and signed notification
    //    URLs set when asked for.
    let mut charges = match load::load(file, args.strict) {
        Ok(charges) => charges,
        Err(violations) => return invalid_file(file, &violations),
    };
    if let Some(base) = notification_url {
        let signer = match crate::notify::signer() {
            Ok(signer) => signer,
            Err(message) => {
                eprintln!("error: {message}");
                return Exit::Config;
            }
        };
        if let Err(violations) = load::sign_notifications(&mut charges, &signer, base, namespace) {
            return invalid_file(file, &violations);
        }
    }
    // 2. The client.
    let client = match config::client(args, Some(args.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT))) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    // 3. The journal: locked, then read, then repaired.
    let (journal, loaded) = match open_journal(journal_path, namespace) {
        Ok(opened) => opened,
        Err(message) => {
            eprintln!("{message}");
            return Exit::Invalid;
        }
    };
    // 4. The plan.
    let planned = plan::plan_all(&charges, namespace, &loaded.histories);
    // 5. The sending; Ctrl-C stops it.
    let signals = send::ctrl_c();
    let runner = send::Runner::new(&charges, namespace, concurrency, client, journal, planned);
    let ended = match runner.run(signals).await {
        Ok(ended) => ended,
        Err(exit) => return exit,
    };
    // 6. The summary.
    summary::print(&ended)
}

/// Says what is wrong with the batch file.
fn invalid_file(file: &Path, violations: &[String]) -> Exit {
    eprintln!(
        "{}: {} problem{}; nothing was sent:",
        file.display(),
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    for v in violations {
        eprintln!("  {v}");
    }
    Exit::Invalid
}

/// Locks, reads and repairs the journal, refusing one of another
/// namespace; the error is the whole message to print.
fn open_journal(path: &Path, namespace: &str) -> Result<(Journal, Loaded), String> {
    let error = |e: String| format!("error: {e}");
    let mut journal = Journal::lock(path).map_err(error)?;
    let loaded = journal::load(path).map_err(error)?;
    if let Some(other) = loaded.namespaces.iter().find(|n| *n != namespace) {
        return Err(format!(
            "error: journal {} holds charges of namespace {:?}, not {:?}: keys from another \
             namespace would charge again. Nothing was sent",
            path.display(),
            clean(other),
            clean(namespace)
        ));
    }
    if let Some(torn) = &loaded.torn {
        eprintln!(
            "journal {} line {}: torn ({} bytes cut short by a crash while it was written): \
             ignored and removed; the step it recorded never counted as done. It read: {}",
            path.display(),
            torn.line,
            torn.bytes,
            torn.preview
        );
    }
    journal.repair(path, &loaded).map_err(error)?;
    Ok((journal, loaded))
}

#[cfg(test)]
mod tests;
