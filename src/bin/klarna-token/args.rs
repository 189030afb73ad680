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
                 [--concurrency N] [--rate-limit R]

COMMANDS:
    read       a token's status and payment method
    cancel     cancel a token; asks for confirmation unless --yes (it cannot be undone)
    order      validate an order file, print its totals and idempotency key;
               create the order only with --yes
    validate   check an order file offline: every violation with its JSON path
    batch      charge a file of {\"token\", \"order\", \"charge_id\", \"attempt\"} lines,
               journaled so that a re-run completes it without charging anyone twice

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
    --rate-limit R          (order, batch) requests per second at most
                            (batch default: 40; Klarna's playground allows 50)
    -h, --help              show this help
    -V, --version           show the version

CREDENTIALS (environment only, never printed):
    KLARNA_USERNAME and KLARNA_PASSWORD, or KLARNA_API_KEY

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
    One JSON line per event, each synced to disk: an \"intent\" before a charge is sent,
    then \"charged\" or \"failed\". A re-run with the same journal skips what was charged,
    re-sends with the same key what may have been created (refusing, by name, keys
    first sent more than 24 hours ago), and leaves definitive failures for a new attempt
    number in the file. A torn last line (a crash mid-write) is reported and removed.
    Ctrl-C stops sending and waits for the calls in flight.
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

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut positionals: Vec<String> = Vec::new();
    let mut server = Server::default();
    let (mut json, mut strict, mut yes) = (false, false, false);
    let mut file: Option<PathBuf> = None;
    let mut key: Option<String> = None;
    let mut journal: Option<PathBuf> = None;
    let mut namespace: Option<String> = None;
    let mut concurrency: Option<usize> = None;
    let mut rate_limit: Option<u32> = None;
    let mut max_retries: Option<u32> = None;
    let mut attempt_timeout: Option<Duration> = None;

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
        let p = &mut parser;
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--json" => json = true,
            "--strict" => strict = true,
            "--yes" | "-y" => yes = true,
            "--endpoint" => server.endpoint = Some(value(p, &name, "an endpoint name")?),
            "--base-url" => server.base_url = Some(value(p, &name, "a URL")?),
            "--file" | "-f" => file = Some(PathBuf::from(value::<String>(p, &name, "a file")?)),
            "--key" => key = Some(value(p, &name, "an idempotency key")?),
            "--journal" => {
                journal = Some(PathBuf::from(value::<String>(p, &name, "a file")?));
            }
            "--namespace" => namespace = Some(value(p, &name, "a namespace")?),
            "--concurrency" => concurrency = Some(value(p, &name, "a number")?),
            "--rate-limit" => rate_limit = Some(value(p, &name, "a number")?),
            "--max-retries" => max_retries = Some(value(p, &name, "a number")?),
            "--attempt-timeout" => {
                let secs: f64 = value(p, &name, "a number of seconds")?;
                if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
                    return Err("--attempt-timeout must be between 0 and 3600 seconds".into());
                }
                attempt_timeout = Some(Duration::from_secs_f64(secs));
            }
            _ => return Err(format!("unknown option: {name}")),
        }
    }
    if server.endpoint.is_some() && server.base_url.is_some() {
        return Err("give --endpoint or --base-url, not both".to_owned());
    }
    if rate_limit == Some(0) {
        return Err("--rate-limit must be at least 1".to_owned());
    }

    let mut positionals = positionals.into_iter();
    let Some(command_name) = positionals.next() else {
        return Err("no command given: read, cancel, order, validate or batch".to_owned());
    };
    let mut operand = |what: &str| {
        positionals
            .next()
            .ok_or_else(|| format!("{command_name} needs {what}"))
    };
    let mut used: Vec<&str> = vec![
        "--endpoint",
        "--base-url",
        "--max-retries",
        "--attempt-timeout",
    ];
    let command = match command_name.as_str() {
        "read" => {
            used.push("--json");
            Command::Read {
                token: operand("a TOKEN")?,
            }
        }
        "cancel" => {
            used.extend(["--json", "--yes"]);
            Command::Cancel {
                token: operand("a TOKEN")?,
            }
        }
        "order" => {
            used.extend([
                "--json",
                "--yes",
                "--file",
                "--key",
                "--strict",
                "--rate-limit",
            ]);
            Command::Order {
                token: operand("a TOKEN")?,
                file: file
                    .clone()
                    .ok_or_else(|| "order needs --file ORDER.json".to_owned())?,
                key: key.clone(),
            }
        }
        "validate" => {
            used = vec!["--json", "--strict", "--file"];
            let file = match (file.clone(), positionals.next()) {
                (Some(_), Some(_)) => {
                    return Err("validate takes one ORDER.json".to_owned());
                }
                (Some(f), None) => f,
                (None, Some(f)) => PathBuf::from(f),
                (None, None) => return Err("validate needs an ORDER.json".to_owned()),
            };
            Command::Validate { file }
        }
        "batch" => {
            used.extend([
                "--journal",
                "--namespace",
                "--concurrency",
                "--rate-limit",
                "--strict",
            ]);
            let file = PathBuf::from(operand("a FILE.jsonl")?);
            let journal = journal
                .clone()
                .ok_or_else(|| "batch needs --journal JOURNAL.jsonl".to_owned())?;
            let namespace = namespace
                .clone()
                .ok_or_else(|| "batch needs --namespace NS".to_owned())?;
            if namespace.is_empty() {
                return Err("--namespace must not be empty".to_owned());
            }
            let concurrency = concurrency.unwrap_or(DEFAULT_CONCURRENCY);
            if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
                return Err(format!("--concurrency must be 1 to {MAX_CONCURRENCY}"));
            }
            Command::Batch {
                file,
                journal,
                namespace,
                concurrency,
            }
        }
        other => {
            return Err(format!(
                "unknown command {other:?}: read, cancel, order, validate or batch"
            ));
        }
    };
    if let Some(extra) = positionals.next() {
        return Err(format!("unexpected argument: {extra:?}"));
    }
    // An option the command does not take is a mistake worth saying.
    let given = [
        ("--json", json),
        ("--strict", strict),
        ("--yes", yes),
        ("--file", file.is_some()),
        ("--key", key.is_some()),
        ("--journal", journal.is_some()),
        ("--namespace", namespace.is_some()),
        ("--concurrency", concurrency.is_some()),
        ("--rate-limit", rate_limit.is_some()),
        ("--endpoint", server.endpoint.is_some()),
        ("--base-url", server.base_url.is_some()),
        ("--max-retries", max_retries.is_some()),
        ("--attempt-timeout", attempt_timeout.is_some()),
    ];
    for (option, present) in given {
        if present && !used.contains(&option) {
            return Err(format!("{command_name} does not take {option}"));
        }
    }
    Ok(Parsed::Run(Box::new(Args {
        command,
        server,
        json,
        strict,
        yes,
        rate_limit,
        max_retries,
        attempt_timeout,
    })))
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
