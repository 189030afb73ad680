//! The command line: lexopt, one loop, then a check per command.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
klarna-token: read, charge and cancel Klarna customer tokens

USAGE:
    klarna-token [OPTIONS] read TOKEN [--json]
    klarna-token [OPTIONS] cancel TOKEN [--yes] [--json]
    klarna-token [OPTIONS] order TOKEN --file ORDER.json [--key KEY] [--yes] [--json]
    klarna-token validate ORDER.json [--json]
    klarna-token [OPTIONS] batch FILE.jsonl --journal JOURNAL.jsonl --namespace NS
                 [--concurrency N] [--rate-limit R] [--notification-url URL]
    klarna-token notify --journal JOURNAL.jsonl --url REQUEST_URL [--body BODY.json]

COMMANDS:
    read       a token's status and payment method
    cancel     cancel a token; asks for confirmation unless --yes (it cannot be undone)
    order      validate an order file, print its totals and idempotency key;
               create the order only with --yes
    validate   check an order file offline: every violation with its JSON path
    batch      charge a file of {\"token\", \"order\", \"charge_id\", \"attempt\"} lines,
               journaled so that a re-run completes it without charging anyone twice
    notify     apply a fraud-review notification Klarna posted (its request URL and
               body) to a batch journal, once the URL's signature verifies

OPTIONS:
    --endpoint NAME         klarna-eu, klarna-na, klarna-oc, klarna-playground-eu,
                            klarna-playground-na, klarna-playground-oc, kustom,
                            kustom-playground (or env KLARNA_ENDPOINT)
    --base-url URL          any other server: https://, or http:// to loopback
                            (or env KLARNA_BASE_URL)
    --max-retries N         retries per call (default 2)
    --attempt-timeout SECS  time for one attempt (default 30)
    --json                  machine-readable output on stdout
    --strict                refuse order fields the typed API does not know
    --yes                   do it without asking (cancel) / send it (order)
    --file ORDER.json       (order) the order to send
    --key KEY               (order) the idempotency key; reuse the printed key to
                            reconcile an order that may have been created
    --journal FILE          (batch) the append-only journal; created if absent
    --namespace NS          (batch) keys are for_charge(NS, charge_id, attempt)
    --concurrency N         (batch) calls in flight at most (default 8)
    --notification-url URL  (batch) set each order's merchant_urls.notification to URL
                            signed for the charge's key (needs KLARNA_NOTIFICATION_SECRET)
    --url REQUEST_URL       (notify) the URL Klarna's notification was posted to
    --body BODY.json        (notify) its body; standard input when absent
    --rate-limit R          (order, batch) requests per second at most
                            (batch default: 40; Klarna's playground allows 50)
    -h, --help              show this help
    -V, --version           show the version

CREDENTIALS (environment only, never printed):
    KLARNA_USERNAME and KLARNA_PASSWORD, or KLARNA_API_KEY
    KLARNA_NOTIFICATION_SECRET (batch --notification-url, notify): at least 32 bytes

EXIT STATUS:
    0  success
    1  usage or invalid input, including an order the server refused as BAD_VALUE or
       BAD_REQUEST (or another request error), and a confirmation not given
    2  not done for another reason; for an order: not created (declined, token
       suspended or cancelled, rate limited, ...)
    3  may have been created: reconcile with the same key within 24 hours
    4  configuration: credentials, endpoint, or the server refused the credentials
    A batch exits with the most severe code among its charges, in the order 4, 3, 1,
    2, 0; its summary says how many charges had each.

BATCH JOURNAL:
    One JSON line per event of a charge, each synced to disk: an \"intent\" (with the
    digest of token and order) before a charge is sent, then \"charged\" or \"failed\";
    \"notification\" from notify, \"resolved\" from a person. The charge's whole history
    decides: a re-run skips what was charged, re-sends with the same key and body what
    may have been created (an edited token or order under a sent key is refused by
    line), leaves to a person what cannot be re-sent safely (23 hours after the first
    send, stamped in the future, token refused, key mismatch), and allows a new attempt
    number only where no earlier attempt may have created an order. An order held for
    fraud review (PENDING) is \"awaiting review\", never charged, until notify applies
    Klarna's decision. Only a last line without its newline is torn (reported and
    removed). Ctrl-C stops sending and waits for the calls in flight.
";

/// A subcommand and its own arguments.
#[derive(Debug)]
pub(crate) enum Command {
    Read {
        token: String,
    },
    Cancel {
        token: String,
    },
    Order {
        token: String,
        file: PathBuf,
        key: Option<String>,
    },
    Validate {
        file: PathBuf,
    },
    Batch {
        file: PathBuf,
        journal: PathBuf,
        namespace: String,
        concurrency: usize,
        notification_url: Option<String>,
    },
    Notify {
        journal: PathBuf,
        url: String,
        body: Option<PathBuf>,
    },
}

/// Where the client sends its requests.
#[derive(Debug, Default)]
pub(crate) struct Server {
    pub(crate) endpoint: Option<String>,
    pub(crate) base_url: Option<String>,
}

/// Everything the command line said.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) command: Command,
    pub(crate) server: Server,
    pub(crate) json: bool,
    pub(crate) strict: bool,
    pub(crate) yes: bool,
    pub(crate) rate_limit: Option<u32>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) attempt_timeout: Option<Duration>,
}

/// What parsing found.
#[derive(Debug)]
pub(crate) enum Parsed {
    Run(Box<Args>),
    Help,
    Version,
}

/// The default number of calls in flight in a batch.
const DEFAULT_CONCURRENCY: usize = 8;
/// The largest `--concurrency` taken.
const MAX_CONCURRENCY: usize = 256;

fn value<T: std::str::FromStr>(
    parser: &mut lexopt::Parser,
    name: &str,
    what: &str,
) -> Result<T, String> {
    let raw = parser.value().map_err(|_| format!("{name} needs {what}"))?;
    let text = raw
        .into_string()
        .map_err(|_| format!("{name} needs {what} in UTF-8"))?;
    text.parse()
        .map_err(|_| format!("{name}: not {what}: {text:?}"))
}

/// The options as given, before the command is known.
#[derive(Debug, Default)]
struct Options {
    server: Server,
    json: bool,
    strict: bool,
    yes: bool,
    file: Option<PathBuf>,
    key: Option<String>,
    journal: Option<PathBuf>,
    namespace: Option<String>,
    concurrency: Option<usize>,
    rate_limit: Option<u32>,
    max_retries: Option<u32>,
    attempt_timeout: Option<Duration>,
    notification_url: Option<String>,
    url: Option<String>,
    body: Option<PathBuf>,
}

impl Options {
    /// Takes the option `name` (and its value from `p`); `Some` when it
    /// ends the parsing (help, version).
    fn take(&mut self, p: &mut lexopt::Parser, name: &str) -> Result<Option<Parsed>, String> {
        match name {
            "-h" | "--help" => return Ok(Some(Parsed::Help)),
            "-V" | "--version" => return Ok(Some(Parsed::Version)),
            "--json" => self.json = true,
            "--strict" => self.strict = true,
            "--yes" | "-y" => self.yes = true,
            "--endpoint" => self.server.endpoint = Some(value(p, name, "an endpoint name")?),
            "--base-url" => self.server.base_url = Some(value(p, name, "a URL")?),
            "--file" | "-f" => {
                self.file = Some(PathBuf::from(value::<String>(p, name, "a file")?));
            }
            "--key" => self.key = Some(value(p, name, "an idempotency key")?),
            "--journal" => {
                self.journal = Some(PathBuf::from(value::<String>(p, name, "a file")?));
            }
            "--namespace" => self.namespace = Some(value(p, name, "a namespace")?),
            "--concurrency" => self.concurrency = Some(value(p, name, "a number")?),
            "--notification-url" => self.notification_url = Some(value(p, name, "a URL")?),
            "--url" => self.url = Some(value(p, name, "a URL")?),
            "--body" => self.body = Some(PathBuf::from(value::<String>(p, name, "a file")?)),
            "--rate-limit" => self.rate_limit = Some(value(p, name, "a number")?),
            "--max-retries" => self.max_retries = Some(value(p, name, "a number")?),
            "--attempt-timeout" => {
                let secs: f64 = value(p, name, "a number of seconds")?;
                if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
                    return Err("--attempt-timeout must be between 0 and 3600 seconds".into());
                }
                self.attempt_timeout = Some(Duration::from_secs_f64(secs));
            }
            _ => return Err(format!("unknown option: {name}")),
        }
        Ok(None)
    }

    /// The rules between options, whatever the command.
    fn check(&self) -> Result<(), String> {
        if self.server.endpoint.is_some() && self.server.base_url.is_some() {
            return Err("give --endpoint or --base-url, not both".to_owned());
        }
        if self.rate_limit == Some(0) {
            return Err("--rate-limit must be at least 1".to_owned());
        }
        Ok(())
    }

    /// Each option, and whether it was given.
    fn given(&self) -> [(&'static str, bool); 16] {
        [
            ("--json", self.json),
            ("--strict", self.strict),
            ("--yes", self.yes),
            ("--file", self.file.is_some()),
            ("--key", self.key.is_some()),
            ("--journal", self.journal.is_some()),
            ("--namespace", self.namespace.is_some()),
            ("--concurrency", self.concurrency.is_some()),
            ("--rate-limit", self.rate_limit.is_some()),
            ("--endpoint", self.server.endpoint.is_some()),
            ("--base-url", self.server.base_url.is_some()),
            ("--max-retries", self.max_retries.is_some()),
            ("--attempt-timeout", self.attempt_timeout.is_some()),
            ("--notification-url", self.notification_url.is_some()),
            ("--url", self.url.is_some()),
            ("--body", self.body.is_some()),
        ]
    }

    fn into_args(self, command: Command) -> Args {
        Args {
            command,
            server: self.server,
            json: self.json,
            strict: self.strict,
            yes: self.yes,
            rate_limit: self.rate_limit,
            max_retries: self.max_retries,
            attempt_timeout: self.attempt_timeout,
        }
    }
}

/// The options every command that talks to a server takes.
const SERVER_OPTIONS: [&str; 4] = [
    "--endpoint",
    "--base-url",
    "--max-retries",
    "--attempt-timeout",
];

impl Command {
    /// Whether this command takes `option`.
    fn takes(&self, option: &str) -> bool {
        let own: &[&str] = match self {
            Self::Read { .. } => &["--json"],
            Self::Cancel { .. } => &["--json", "--yes"],
            Self::Order { .. } => &[
                "--json",
                "--yes",
                "--file",
                "--key",
                "--strict",
                "--rate-limit",
            ],
            // Offline: no server.
            Self::Validate { .. } => return ["--json", "--strict", "--file"].contains(&option),
            Self::Batch { .. } => &[
                "--journal",
                "--namespace",
                "--concurrency",
                "--rate-limit",
                "--strict",
                "--notification-url",
            ],
            // Offline: the journal only.
            Self::Notify { .. } => return ["--journal", "--url", "--body"].contains(&option),
        };
        SERVER_OPTIONS.contains(&option) || own.contains(&option)
    }
}

/// The words after the command's name.
struct Operands {
    command: String,
    rest: std::vec::IntoIter<String>,
}

impl Operands {
    /// The next operand, which the command needs.
    fn needed(&mut self, what: &str) -> Result<String, String> {
        self.rest
            .next()
            .ok_or_else(|| format!("{} needs {what}", self.command))
    }
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut positionals: Vec<String> = Vec::new();
    let mut options = Options::default();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Short(c) => format!("-{c}"),
            Long(name) => format!("--{name}"),
            Value(v) => {
                let v = v
                    .into_string()
                    .map_err(|v| format!("not UTF-8: {}", v.to_string_lossy()))?;
                positionals.push(v);
                continue;
            }
        };
        if let Some(parsed) = options.take(&mut parser, &name)? {
            return Ok(parsed);
        }
    }
    options.check()?;

    let mut positionals = positionals.into_iter();
    let Some(command_name) = positionals.next() else {
        return Err("no command given: read, cancel, order, validate, batch or notify".to_owned());
    };
    let mut operands = Operands {
        command: command_name,
        rest: positionals,
    };
    let command = command(&mut operands, &options)?;
    if let Some(extra) = operands.rest.next() {
        return Err(format!("unexpected argument: {extra:?}"));
    }
    // An option the command does not take is a mistake worth saying.
    for (option, present) in options.given() {
        if present && !command.takes(option) {
            return Err(format!("{} does not take {option}", operands.command));
        }
    }
    Ok(Parsed::Run(Box::new(options.into_args(command))))
}

/// The command named first, with its operands and the options it needs.
fn command(operands: &mut Operands, options: &Options) -> Result<Command, String> {
    match operands.command.as_str() {
        "read" => Ok(Command::Read {
            token: operands.needed("a TOKEN")?,
        }),
        "cancel" => Ok(Command::Cancel {
            token: operands.needed("a TOKEN")?,
        }),
        "order" => Ok(Command::Order {
            token: operands.needed("a TOKEN")?,
            file: options
                .file
                .clone()
                .ok_or_else(|| "order needs --file ORDER.json".to_owned())?,
            key: options.key.clone(),
        }),
        "validate" => validate(operands, options),
        "batch" => batch(operands, options),
        "notify" => Ok(Command::Notify {
            journal: options
                .journal
                .clone()
                .ok_or_else(|| "notify needs --journal JOURNAL.jsonl".to_owned())?,
            url: options
                .url
                .clone()
                .ok_or_else(|| "notify needs --url REQUEST_URL".to_owned())?,
            body: options.body.clone(),
        }),
        other => Err(format!(
            "unknown command {other:?}: read, cancel, order, validate, batch or notify"
        )),
    }
}

/// `validate`: the file as an operand or as `--file`, not both.
fn validate(operands: &mut Operands, options: &Options) -> Result<Command, String> {
    let file = match (options.file.clone(), operands.rest.next()) {
        (Some(_), Some(_)) => {
            return Err("validate takes one ORDER.json".to_owned());
        }
        (Some(f), None) => f,
        (None, Some(f)) => PathBuf::from(f),
        (None, None) => return Err("validate needs an ORDER.json".to_owned()),
    };
    Ok(Command::Validate { file })
}

fn batch(operands: &mut Operands, options: &Options) -> Result<Command, String> {
    let file = PathBuf::from(operands.needed("a FILE.jsonl")?);
    let journal = options
        .journal
        .clone()
        .ok_or_else(|| "batch needs --journal JOURNAL.jsonl".to_owned())?;
    let namespace = options
        .namespace
        .clone()
        .ok_or_else(|| "batch needs --namespace NS".to_owned())?;
    if namespace.is_empty() {
        return Err("--namespace must not be empty".to_owned());
    }
    let concurrency = options.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(format!("--concurrency must be 1 to {MAX_CONCURRENCY}"));
    }
    Ok(Command::Batch {
        file,
        journal,
        namespace,
        concurrency,
        notification_url: options.notification_url.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, String> {
        match parse(args.iter().map(OsString::from))? {
            Parsed::Run(args) => Ok(*args),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn options_anywhere_and_per_command_checks() {
        let args = run(&["--endpoint", "kustom", "read", "tok-12345678", "--json"]).unwrap();
        assert!(args.json);
        assert!(matches!(args.command, Command::Read { ref token } if token == "tok-12345678"));
        assert_eq!(
            run(&["read", "t", "--yes"]).unwrap_err(),
            "read does not take --yes"
        );
        assert_eq!(
            run(&["batch", "f.jsonl", "--journal", "j"]).unwrap_err(),
            "batch needs --namespace NS"
        );
        assert_eq!(
            run(&["--endpoint", "a", "--base-url", "b", "read", "t"]).unwrap_err(),
            "give --endpoint or --base-url, not both"
        );
        assert!(
            run(&["frobnicate"])
                .unwrap_err()
                .starts_with("unknown command")
        );
        assert!(run(&["validate", "a.json", "b.json"]).is_err());
        let batch = run(&[
            "batch",
            "f",
            "--journal",
            "j",
            "--namespace",
            "ns",
            "--concurrency",
            "3",
        ])
        .unwrap();
        assert!(matches!(
            batch.command,
            Command::Batch { concurrency: 3, .. }
        ));
        assert!(
            run(&[
                "batch",
                "f",
                "--journal",
                "j",
                "--namespace",
                "ns",
                "--concurrency",
                "0"
            ])
            .is_err()
        );
    }
}
