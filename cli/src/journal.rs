//! The batch journal: JSON lines, append-only, each line synced to disk
//! before the step it records counts as done. Each line is one event of a
//! charge's history ([`klarna_customer_token::charge::Event`]), with the
//! batch's own context (the line, the token's last four, the report):
//!
//! - `intent`: written and synced **before** a charge is sent, with the
//!   digest of the token and order it sends;
//! - `charged` / `failed`: written and synced after its answer;
//! - `resolved`: written by a person who looked an attempt up.
//!
//! A crash at any instant leaves complete lines and at most one last line
//! without its newline. Only such a line can be torn: it was never synced,
//! so the step it recorded never counted as done (a torn intent was never
//! sent; a torn result leaves its intent open, which a re-run reconciles
//! with the same key). A complete line that cannot be read is damage, and
//! nothing is sent until a person mends it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Event, Timestamp};
use klarna_customer_token::notification::FraudEvent;
use klarna_customer_token::{CreatedOrder, ErrorReport, FraudStatus, IdempotencyKey, NextStep};
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
        /// The SHA-256 of the token and the order sent (absent in journals
        /// written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<BodyDigest>,
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
    /// The call failed; `next_step` says what the call alone suggests, and
    /// the report what the answer proves.
    Failed {
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        key: IdempotencyKey,
        next_step: NextStep,
        report: ErrorReport,
    },
    /// A fraud-review notification whose URL verified and whose order is
    /// the one this attempt created (`klarna-token notify`).
    Notification {
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        order_id: String,
        event_type: FraudEvent,
    },
    /// Written by a person who checked (say, in the Merchant Portal) an
    /// attempt the tool cannot settle: `created` tells whether the order
    /// exists. A re-run then skips the charge (`true`) or lets a new attempt
    /// number go (`false`).
    Resolved {
        #[serde(default)]
        at_ms: u64,
        charge_id: String,
        attempt: u32,
        created: bool,
        #[serde(default)]
        order_id: Option<String>,
        /// The order's fraud status as the person saw it; absent when the
        /// merchant has no fraud review or the order was accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fraud_status: Option<FraudStatus>,
    },
}

impl Record {
    /// The charge the record belongs to.
    fn charge_id(&self) -> &str {
        match self {
            Self::Intent { charge_id, .. }
            | Self::Charged { charge_id, .. }
            | Self::Failed { charge_id, .. }
            | Self::Notification { charge_id, .. }
            | Self::Resolved { charge_id, .. } => charge_id,
        }
    }

    /// The charge's event this record is.
    pub(crate) fn event(&self) -> Event {
        match self {
            Self::Intent {
                at_ms,
                attempt,
                key,
                digest,
                ..
            } => Event::Intent {
                attempt: *attempt,
                key: key.clone(),
                digest: *digest,
                at: Timestamp::from_millis(*at_ms),
            },
            Self::Charged {
                at_ms,
                attempt,
                key,
                order,
                ..
            } => Event::Answer {
                attempt: *attempt,
                key: key.clone(),
                answer: Answer::from_order(order),
                at: Timestamp::from_millis(*at_ms),
            },
            Self::Failed {
                at_ms,
                attempt,
                key,
                report,
                ..
            } => Event::Answer {
                attempt: *attempt,
                key: key.clone(),
                answer: Answer::from_report(report),
                at: Timestamp::from_millis(*at_ms),
            },
            Self::Notification {
                at_ms,
                attempt,
                order_id,
                event_type,
                ..
            } => Event::Notification {
                attempt: *attempt,
                order_id: order_id.clone(),
                event_type: event_type.clone(),
                at: Timestamp::from_millis(*at_ms),
            },
            Self::Resolved {
                at_ms,
                attempt,
                created,
                order_id,
                fraud_status,
                ..
            } => Event::Resolved {
                attempt: *attempt,
                created: *created,
                order_id: order_id.clone(),
                fraud_status: fraud_status.clone(),
                at: Timestamp::from_millis(*at_ms),
            },
        }
    }
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    Timestamp::now().as_millis()
}

/// Every charge's events, by charge id, in journal order.
pub(crate) type Histories = BTreeMap<String, Vec<Event>>;

/// The charge `charge_id` of `namespace` as the journal tells it.
pub(crate) fn charge(histories: &Histories, namespace: &str, charge_id: &str) -> Charge {
    let mut charge = Charge::new(namespace, charge_id);
    for event in histories.get(charge_id).into_iter().flatten() {
        charge.apply(event.clone());
    }
    charge
}

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
    pub(crate) histories: Histories,
    pub(crate) namespaces: Vec<String>,
    pub(crate) torn: Option<Torn>,
    /// Complete lines read.
    pub(crate) lines: usize,
    /// The length of the file up to the end of its last complete line.
    valid_len: u64,
    /// The last complete line lacks its newline.
    needs_newline: bool,
}

fn apply(loaded: &mut Loaded, record: &Record) {
    if let Record::Intent { namespace, .. } = record
        && !loaded.namespaces.contains(namespace)
    {
        loaded.namespaces.push(namespace.clone());
    }
    loaded
        .histories
        .entry(record.charge_id().to_owned())
        .or_default()
        .push(record.event());
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
                apply(&mut loaded, &record);
                loaded.lines += 1;
                loaded.valid_len = (offset + content.len() + usize::from(*newline)) as u64;
                loaded.needs_newline = !newline;
            }
            // Only a last line without its newline can have been cut short
            // by a crash: every complete line was written whole.
            Err(_) if Some(index) == last_content && !newline => {
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
                    "journal {} line {number} is complete but cannot be read ({e}); only a last \
                     line without its newline can be cut short by a crash, so this is damage. \
                     Nothing was sent: restore the journal from a backup, or correct line \
                     {number} by hand, keeping every other line",
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
    /// The length of the journal's whole lines: where the next line goes,
    /// and where a failed write is cut back to.
    len: u64,
    /// Tests: the next write stops with an error after this many bytes,
    /// as on a full disk.
    #[cfg(test)]
    fail_after: Option<usize>,
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
        Ok(Self {
            file,
            len: 0,
            #[cfg(test)]
            fail_after: None,
        })
    }

    /// Removes a torn last line, ends the last line with its newline, and
    /// syncs both, before anything is sent.
    pub(crate) fn repair(&mut self, path: &Path, loaded: &Loaded) -> Result<(), String> {
        let context = |e: std::io::Error| format!("journal {}: {e}", path.display());
        if loaded.torn.is_some() {
            self.file.set_len(loaded.valid_len).map_err(context)?;
            self.file.sync_all().map_err(context)?;
        }
        self.len = self.file.seek(SeekFrom::End(0)).map_err(context)?;
        if loaded.needs_newline {
            self.file.write_all(b"\n").map_err(context)?;
            self.file.sync_data().map_err(context)?;
            self.len += 1;
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

    /// Appends one record and syncs it to disk. A write or sync that fails
    /// (a full disk) is cut back to the last whole line, so that no partial
    /// line is left to merge with the next record.
    pub(crate) fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match self.append(&line) {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: the write already failed, and a truncation
                // that fails too leaves a last line a re-run reports.
                let _ = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(drop))
                    .and_then(|()| self.file.sync_data());
                Err(e)
            }
        }
    }

    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(self.len))?;
        #[cfg(test)]
        if let Some(n) = self.fail_after.take() {
            self.file.write_all(&line[..n.min(line.len())])?;
            return Err(std::io::Error::other("no space left (simulated)"));
        }
        self.file.write_all(line)?;
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
        assert_eq!(loaded.histories["a"].len(), 1);
        assert!(!loaded.histories.contains_key("b"));
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
        assert!(
            err.contains("line 2 is complete but cannot be read"),
            "{err}"
        );
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

    #[test]
    fn a_complete_but_unreadable_last_line_is_damage_not_torn() {
        let contents = format!("{}\n{{\"event\":\"charged\"}}\n", intent("a", 1, 5));
        let path = temp("damaged-last", contents.as_bytes());
        let err = load(&path).unwrap_err();
        assert!(
            err.contains("line 2 is complete but cannot be read"),
            "{err}"
        );
        assert!(!err.contains("move") && !err.contains("delete"), "{err}");
        // Nothing was cut.
        assert_eq!(std::fs::read(&path).unwrap(), contents.as_bytes());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_failed_write_is_cut_back_to_the_last_whole_line() {
        let path = temp("full", format!("{}\n", intent("a", 1, 5)).as_bytes());
        let (mut journal, _) = Journal::open(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        journal.fail_after = Some(30);
        let record: Record = serde_json::from_str(&intent("b", 1, 6)).unwrap();
        assert!(journal.write(&record).is_err());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "no partial line left"
        );
        // The next record lands on a line of its own.
        journal.write(&record).unwrap();
        drop(journal);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.lines, 2);
        assert!(loaded.torn.is_none());
        std::fs::remove_file(&path).unwrap();
    }
}
