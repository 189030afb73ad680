//! The batch journal: JSON lines, append-only, each line synced to disk
//! before the step it records counts as done.
//!
//! - `intent`: written and synced **before** a charge is sent;
//! - `charged` / `failed`: written and synced after its answer.
//!
//! A crash at any instant leaves complete lines and at most one torn last
//! line. A torn line was never synced, so the step it recorded never
//! counted as done: a torn intent was never sent, and a torn result leaves
//! its intent open, which a re-run reconciles with the same key.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use klarna_customer_token::{CreatedOrder, ErrorReport, IdempotencyKey, NextStep, OrderOutcome};
use serde::{Deserialize, Serialize};

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Record {
    /// About to send: written before the request.
    Intent {
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
        namespace: String,
        charge_id: String,
        attempt: u32,
        key: IdempotencyKey,
        /// The line of the batch file.
        line: usize,
        /// The token, by its last four characters.
        token: String,
    },
    /// The order exists.
    Charged {
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        key: IdempotencyKey,
        order: CreatedOrder,
    },
    /// The call failed; `next_step` says what to do.
    Failed {
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        key: IdempotencyKey,
        next_step: NextStep,
        report: ErrorReport,
    },
    /// Written by a person who checked (say, in the Merchant Portal) an
    /// attempt the tool cannot settle: `created` tells whether the order
    /// exists. A re-run then skips the charge (`true`) or takes a new
    /// attempt number for it (`false`).
    Resolved {
        #[serde(default)]
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        created: bool,
    },
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the journal says about one attempt of one charge.
#[derive(Clone, Debug, Default)]
pub(crate) struct AttemptState {
    pub(crate) key: Option<IdempotencyKey>,
    /// When this key was first sent (its first intent): Klarna's 24 hours
    /// run from there.
    pub(crate) first_sent_ms: Option<u64>,
    /// An intent with no result after it.
    pub(crate) open: bool,
    pub(crate) charged: bool,
    /// The last failure, when the last result was one.
    pub(crate) failed: Option<(NextStep, Option<OrderOutcome>)>,
}

impl AttemptState {
    /// Whether the order of this attempt may exist and is not known to.
    pub(crate) fn ambiguous(&self) -> bool {
        !self.charged && (self.open || matches!(self.failed, Some((NextStep::Reconcile, _))))
    }
}

/// What the journal says about each charge, by charge id then attempt.
pub(crate) type States = BTreeMap<String, BTreeMap<u32, AttemptState>>;

/// A torn last line, found and removed.
#[derive(Debug)]
pub(crate) struct Torn {
    pub(crate) line: usize,
    pub(crate) bytes: usize,
    pub(crate) preview: String,
}

/// The journal read back.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) states: States,
    pub(crate) namespaces: Vec<String>,
    pub(crate) torn: Option<Torn>,
    /// Complete lines read.
    pub(crate) lines: usize,
    /// The length of the file up to the end of its last complete line.
    valid_len: u64,
    /// The last complete line lacks its newline.
    needs_newline: bool,
}

fn apply(states: &mut States, namespaces: &mut Vec<String>, record: Record) {
    match record {
        Record::Intent {
            at_ms,
            namespace,
            charge_id,
            attempt,
            key,
            ..
        } => {
            if !namespaces.contains(&namespace) {
                namespaces.push(namespace);
            }
            let state = states
                .entry(charge_id)
                .or_default()
                .entry(attempt)
                .or_default();
            if state.key.as_ref() != Some(&key) {
                state.key = Some(key);
                state.first_sent_ms = Some(at_ms);
            }
            state.first_sent_ms = Some(state.first_sent_ms.map_or(at_ms, |t| t.min(at_ms)));
            state.open = true;
        }
        Record::Charged {
            charge_id,
            attempt,
            key,
            ..
        } => {
            let state = states
                .entry(charge_id)
                .or_default()
                .entry(attempt)
                .or_default();
            state.key.get_or_insert(key);
            state.charged = true;
            state.open = false;
            state.failed = None;
        }
        Record::Failed {
            charge_id,
            attempt,
            key,
            next_step,
            report,
            ..
        } => {
            let state = states
                .entry(charge_id)
                .or_default()
                .entry(attempt)
                .or_default();
            state.key.get_or_insert(key);
            state.open = false;
            if !state.charged {
                state.failed = Some((next_step, report.outcome));
            }
        }
        Record::Resolved {
            charge_id,
            attempt,
            created,
            ..
        } => {
            let state = states
                .entry(charge_id)
                .or_default()
                .entry(attempt)
                .or_default();
            state.open = false;
            state.charged = created;
            state.failed = (!created).then_some((
                NextStep::RetryLater { after: None },
                Some(OrderOutcome::NotCreated),
            ));
        }
    }
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]);
    let mut shown = crate::commands::clean(&text);
    if bytes.len() > 80 {
        shown.push('…');
    }
    shown
}

/// Reads a journal. A missing file is an empty journal. An unreadable line
/// other than the last is an error: the journal is damaged, and charging
/// on from it could charge twice.
pub(crate) fn load(path: &Path) -> Result<Loaded, String> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            file.read_to_end(&mut bytes)
                .map_err(|e| format!("journal {}: {e}", path.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(format!("journal {}: {e}", path.display())),
    }
    let mut loaded = Loaded::default();
    // (line number, start offset, content, ends with a newline)
    let mut segments: Vec<(usize, usize, &[u8], bool)> = Vec::new();
    let mut start = 0usize;
    for (number, chunk) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let newline = chunk.last() == Some(&b'\n');
        let content = if newline {
            &chunk[..chunk.len() - 1]
        } else {
            chunk
        };
        segments.push((number + 1, start, content, newline));
        start += chunk.len();
    }
    let last_content = segments
        .iter()
        .rposition(|(_, _, content, _)| !content.trim_ascii().is_empty());
    for (index, (number, offset, content, newline)) in segments.iter().enumerate() {
        if content.trim_ascii().is_empty() {
            // A blank line: harmless.
            continue;
        }
        match serde_json::from_slice::<Record>(content) {
            Ok(record) => {
                apply(&mut loaded.states, &mut loaded.namespaces, record);
                loaded.lines += 1;
                loaded.valid_len = (offset + content.len() + usize::from(*newline)) as u64;
                loaded.needs_newline = !newline;
            }
            Err(_) if Some(index) == last_content => {
                loaded.valid_len = *offset as u64;
                loaded.needs_newline = false;
                loaded.torn = Some(Torn {
                    line: *number,
                    bytes: bytes.len() - offset,
                    preview: preview(content),
                });
                break;
            }
            Err(e) => {
                return Err(format!(
                    "journal {} line {number} cannot be read ({e}); only a torn last line is \
                     expected after a crash. Nothing was sent: repair or move the journal first",
                    path.display()
                ));
            }
        }
    }
    if loaded.torn.is_none() {
        // Trailing blank lines are kept as they are.
        loaded.valid_len = bytes.len() as u64;
        if let Some(index) = last_content {
            loaded.needs_newline = !segments[index].3;
        }
    }
    Ok(loaded)
}

/// The journal, open for appending; held locked so that two runs never
/// charge from one journal at once.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal and locks it, before it is read, so
    /// that no other run writes between the reading and the charging.
    pub(crate) fn lock(path: &Path) -> Result<Self, String> {
        let context = |e: std::io::Error| format!("journal {}: {e}", path.display());
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(context)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "journal {} is in use by another run",
                    path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(context(e)),
        }
        if !existed {
            sync_parent(path).map_err(context)?;
        }
        Ok(Self { file })
    }

    /// Removes a torn last line, ends the last line with its newline, and
    /// syncs both, before anything is sent.
    pub(crate) fn repair(&mut self, path: &Path, loaded: &Loaded) -> Result<(), String> {
        let context = |e: std::io::Error| format!("journal {}: {e}", path.display());
        if loaded.torn.is_some() {
            self.file.set_len(loaded.valid_len).map_err(context)?;
            self.file.sync_all().map_err(context)?;
        }
        self.file.seek(SeekFrom::End(0)).map_err(context)?;
        if loaded.needs_newline {
            self.file.write_all(b"\n").map_err(context)?;
            self.file.sync_data().map_err(context)?;
        }
        Ok(())
    }

    /// Locks, reads and repairs the journal.
    #[cfg(test)]
    fn open(path: &Path) -> Result<(Self, Loaded), String> {
        let mut journal = Self::lock(path)?;
        let loaded = load(path)?;
        journal.repair(path, &loaded)?;
        Ok((journal, loaded))
    }

    /// Appends one record and syncs it to disk.
    pub(crate) fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

/// Syncs the directory that holds a new file, so that the file itself
/// survives a power loss.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// How long Klarna keeps an idempotency key.
pub(crate) const KEY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Taken off the window, for the retries of the re-sent call (90 s by
/// default) and clock differences.
pub(crate) const KEY_WINDOW_MARGIN: Duration = Duration::from_secs(5 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(charge: &str, attempt: u32, at_ms: u64) -> String {
        let key = IdempotencyKey::for_charge("ns", charge, attempt);
        format!(
            r#"{{"event":"intent","at_ms":{at_ms},"namespace":"ns","charge_id":"{charge}","attempt":{attempt},"key":"{key}","line":1,"token":"…1234"}}"#
        )
    }

    fn temp(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "klarna-token-journal-{}-{name}-{}.jsonl",
            std::process::id(),
            now_ms()
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_torn_last_line_is_reported_and_removed() {
        let good = intent("a", 1, 5);
        let contents = format!("{good}\n{}", &intent("b", 1, 6)[..40]);
        let path = temp("torn", contents.as_bytes());
        let (mut journal, loaded) = Journal::open(&path).unwrap();
        assert_eq!(loaded.lines, 1);
        let torn = loaded.torn.as_ref().unwrap();
        assert_eq!(torn.line, 2);
        assert!(loaded.states["a"][&1].open);
        assert!(!loaded.states.contains_key("b"));
        journal
            .write(&serde_json::from_str(&intent("c", 1, 7)).unwrap())
            .unwrap();
        drop(journal);
        let again = load(&path).unwrap();
        assert!(again.torn.is_none());
        assert_eq!(again.lines, 2);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept_and_ended() {
        let path = temp("nonl", intent("a", 1, 5).as_bytes());
        let (mut journal, loaded) = Journal::open(&path).unwrap();
        assert!(loaded.torn.is_none() && loaded.needs_newline);
        journal
            .write(&serde_json::from_str(&intent("b", 1, 7)).unwrap())
            .unwrap();
        drop(journal);
        assert_eq!(load(&path).unwrap().lines, 2);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_damaged_middle_line_refuses_the_journal() {
        let contents = format!(
            "{}\n{{\"event\":\n{}\n",
            intent("a", 1, 5),
            intent("b", 1, 6)
        );
        let path = temp("damaged", contents.as_bytes());
        let err = load(&path).unwrap_err();
        assert!(err.contains("line 2 cannot be read"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_second_run_cannot_open_a_journal_in_use() {
        let path = temp("locked", b"");
        let _first = Journal::open(&path).unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(err.contains("in use"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}
