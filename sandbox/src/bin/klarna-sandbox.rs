//! The sandbox as a standalone server, for billing code in any language.
//!
//! ```text
//! cargo run -p klarna-customer-token-sandbox --bin klarna-sandbox -- --port 8080
//! ```
//!
//! It binds to loopback unless `--bind` names another address (for example
//! `--bind 0.0.0.0` in a container), prints its URL, credentials, admin API
//! and tokens, and stops on Ctrl-C.
//!
//! The admin API under `/__sandbox/` (see the README) is on when bound to
//! loopback, off otherwise unless an admin token is given, which then must
//! be sent as a bearer token. The token comes from the environment
//! ([`ADMIN_TOKEN_ENV`]) or from a file (`--admin-token-file PATH`), never
//! from the command line, where every local user could read it (`ps`). On
//! loopback every request must name a loopback `Host` (DNS rebinding), and
//! the admin API refuses foreign `Origin`s and bodies that are not JSON. With the admin API on, the sandbox keeps
//! the last 10,000 requests and 100,000 orders for it to list; with it off
//! it keeps neither (nothing could read them). Everything else it keeps is
//! bounded as in the library.
//!
//! Fraud-review notifications (a token with `"fraud_review": "pending"`,
//! decided through `POST /__sandbox/orders/{order_id}/fraud-decision`) go
//! to loopback only, unless `--notify-allow HOST` allows a host: the
//! sandbox must not become a way to reach other hosts.

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use klarna_customer_token_sandbox::{AdminAccess, Sandbox, SandboxToken, credentials, defaults};

const USAGE: &str = "\
klarna-sandbox: an in-memory Customer Token API for tests

USAGE:
    klarna-sandbox [OPTIONS]

OPTIONS:
    --port PORT                port to listen on (default 8080; 0 picks a free one)
    --bind ADDRESS             address to listen on (default 127.0.0.1; 0.0.0.0 for every
                               interface; a Rust client then needs .allow_insecure_http())
    --tokens FILE              add the tokens in this JSON file (one token or a list:
                               {\"id\", \"payment_method_type\", \"status\", \"card\", \"direct_debit\",
                               \"fraud_review\": \"off\" or \"pending\"})
    --admin-token-file PATH    require the bearer token in this file (its first line) on the
                               admin API (/__sandbox/); turns the admin API on beyond loopback.
                               Or set KLARNA_SANDBOX_ADMIN_TOKEN. Never on the command line,
                               where every local user sees it
    --no-admin                 no admin API, even on loopback
    --notify-allow HOST        also deliver fraud-review notifications to this host (a name or
                               an IP address; repeatable). By default only to loopback
                               (127.0.0.0/8, ::1, localhost); other notification URLs are
                               refused when the order is created
    --rate-limit PER_SECOND    answer 429 past this many requests per second
    --max-connections N        open connections at most (default 1024, lowered below the
                               open-file limit); at the cap the longest-idle one is closed
    --max-idempotency-keys N   idempotency keys remembered at most (default 100000);
                               past it the oldest expire first
    -h, --help                 show this help
";

/// The environment variable an admin token may come from.
const ADMIN_TOKEN_ENV: &str = "KLARNA_SANDBOX_ADMIN_TOKEN";

/// The largest `--admin-token-file` read (4 KiB).
const MAX_ADMIN_TOKEN_FILE: u64 = 4096;

/// The largest `--tokens` file read (16 MiB).
const MAX_TOKENS_FILE: u64 = 16 * 1024 * 1024;

#[derive(Debug)]
struct Options {
    port: u16,
    bind: IpAddr,
    tokens: Option<PathBuf>,
    /// `--admin-token-file`.
    admin_token_file: Option<PathBuf>,
    /// The value of [`ADMIN_TOKEN_ENV`], when set.
    admin_token_env: Option<String>,
    no_admin: bool,
    rate_limit: Option<u32>,
    max_connections: usize,
    max_idempotency_keys: usize,
    /// `--notify-allow`, in the order given.
    notify_allow: Vec<String>,
}

/// The value of option `name`, parsed; the messages say what was wanted.
fn value<T: std::str::FromStr>(
    parser: &mut lexopt::Parser,
    name: &str,
    what: &str,
) -> Result<T, String> {
    let raw = parser.value().map_err(|_| format!("{name} needs {what}"))?;
    let text = raw.to_string_lossy();
    text.parse().map_err(|_| format!("not {what}: {text}"))
}

/// Parses the arguments, with `env_token` the value of
/// [`ADMIN_TOKEN_ENV`] (`None` when unset); `None` for `--help`.
fn parse(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    env_token: Option<std::ffi::OsString>,
) -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let admin_token_env = match env_token {
        None => None,
        Some(raw) => match raw.into_string() {
            Ok(token) if token.is_empty() => {
                return Err(format!("{ADMIN_TOKEN_ENV} is set but empty"));
            }
            Ok(token) => Some(token),
            Err(_) => return Err(format!("{ADMIN_TOKEN_ENV} is not UTF-8")),
        },
    };
    let mut options = Options {
        port: 8080,
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        tokens: None,
        admin_token_file: None,
        admin_token_env,
        no_admin: false,
        rate_limit: None,
        max_connections: defaults::MAX_CONNECTIONS,
        max_idempotency_keys: defaults::MAX_IDEMPOTENCY_KEYS,
        notify_allow: Vec::new(),
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Short(c) => format!("-{c}"),
            Long(name) => format!("--{name}"),
            Value(v) => return Err(format!("unexpected argument: {}", v.to_string_lossy())),
        };
        let p = &mut parser;
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => options.port = value(p, &name, "a port number")?,
            "--bind" => options.bind = value(p, &name, "an IP address")?,
            "--tokens" => {
                let path: String = value(p, &name, "a file")?;
                options.tokens = Some(PathBuf::from(path));
            }
            "--admin-token" => {
                return Err(format!(
                    "--admin-token is gone: a token on the command line is visible to every \
                     local user; set {ADMIN_TOKEN_ENV} or use --admin-token-file PATH"
                ));
            }
            "--admin-token-file" => {
                let path: String = value(p, &name, "a file")?;
                options.admin_token_file = Some(PathBuf::from(path));
            }
            "--no-admin" => options.no_admin = true,
            "--notify-allow" => {
                let host: String = value(p, &name, "a host name or IP address")?;
                options.notify_allow.push(notify_host(&host)?);
            }
            "--rate-limit" => options.rate_limit = Some(value(p, &name, "a number")?),
            "--max-connections" => options.max_connections = value(p, &name, "a number")?,
            "--max-idempotency-keys" => {
                options.max_idempotency_keys = value(p, &name, "a number")?;
            }
            _ => return Err(format!("unknown argument: {name}")),
        }
    }
    let token_given = options.admin_token_file.is_some() || options.admin_token_env.is_some();
    if options.no_admin && token_given {
        return Err(format!(
            "--no-admin contradicts an admin token (--admin-token-file or {ADMIN_TOKEN_ENV})"
        ));
    }
    if options.admin_token_file.is_some() && options.admin_token_env.is_some() {
        return Err(format!(
            "give the admin token once: --admin-token-file or {ADMIN_TOKEN_ENV}, not both"
        ));
    }
    Ok(Some(options))
}

/// A `--notify-allow` host: a name or an IP address (an IPv6 one with or
/// without brackets), nothing more.
fn notify_host(host: &str) -> Result<String, String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(bare.to_owned());
    }
    let name_like = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if name_like {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(format!(
            "--notify-allow takes a host name or an IP address, not {host:?}"
        ))
    }
}

/// The admin token: from [`ADMIN_TOKEN_ENV`], or the first line of the
/// `--admin-token-file` (at most [`MAX_ADMIN_TOKEN_FILE`] bytes; the line
/// break is not part of it); `None` when neither is given.
fn admin_token(options: &Options) -> Result<Option<String>, String> {
    let Some(path) = &options.admin_token_file else {
        return Ok(options.admin_token_env.clone());
    };
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut raw = Vec::new();
    file.take(MAX_ADMIN_TOKEN_FILE + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if raw.len() as u64 > MAX_ADMIN_TOKEN_FILE {
        return Err(format!(
            "{shown} is larger than {MAX_ADMIN_TOKEN_FILE} bytes: not an admin token file"
        ));
    }
    let text = String::from_utf8(raw).map_err(|_| format!("{shown} is not UTF-8"))?;
    let token = text.lines().next().unwrap_or("");
    if token.is_empty() {
        return Err(format!(
            "{shown}: the admin token (its first line) is empty"
        ));
    }
    Ok(Some(token.to_owned()))
}

/// Who may use the admin API: on for loopback, off beyond it unless a
/// token is required.
fn admin_access(options: &Options, token: Option<String>) -> AdminAccess {
    match (token, options.no_admin) {
        (_, true) => AdminAccess::Off,
        (Some(token), false) => AdminAccess::Token(token),
        (None, false) if options.bind.is_loopback() => AdminAccess::Open,
        (None, false) => AdminAccess::Off,
    }
}

/// Reads the `--tokens` file, at most [`MAX_TOKENS_FILE`] bytes.
fn read_tokens(path: &PathBuf) -> Result<Vec<SandboxToken>, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut raw = Vec::new();
    file.take(MAX_TOKENS_FILE + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if raw.len() as u64 > MAX_TOKENS_FILE {
        return Err(format!("{shown} is larger than {MAX_TOKENS_FILE} bytes"));
    }
    SandboxToken::from_json(&raw).map_err(|e| format!("{shown}: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse(
        std::env::args_os().skip(1),
        std::env::var_os(ADMIN_TOKEN_ENV),
    ) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let file_tokens = match options.tokens.as_ref().map(read_tokens).transpose() {
        Ok(tokens) => tokens.unwrap_or_default(),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let token = match admin_token(&options) {
        Ok(token) => token,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let admin = admin_access(&options, token);
    let admin_on = !matches!(admin, AdminAccess::Off);
    let mut builder = Sandbox::builder()
        .bind(SocketAddr::new(options.bind, options.port))
        .max_connections(options.max_connections)
        .max_idempotency_keys(options.max_idempotency_keys)
        .admin(admin.clone());
    if !admin_on {
        // Nothing can read the request log or the stored orders without
        // the admin API, so the sandbox keeps neither.
        builder = builder.max_recorded_requests(0).max_stored_orders(0);
    }
    for token in file_tokens {
        builder = builder.token(token);
    }
    if let Some(limit) = options.rate_limit {
        builder = builder.rate_limit(limit);
    }
    for host in &options.notify_allow {
        builder = builder.notify_allow(host.clone());
    }
    let sandbox = match builder.start().await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {}:{}: {e}",
                options.bind, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    print_banner(&sandbox, &options, &admin);
    match tokio::signal::ctrl_c().await {
        Ok(()) => {
            println!("stopping");
            drop(sandbox);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot wait for Ctrl-C: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_banner(sandbox: &Sandbox, options: &Options, admin: &AdminAccess) {
    println!("Klarna Customer Token API sandbox");
    println!("  listening on   http://{}", sandbox.addr());
    println!("  base URL       {}", sandbox.base_url());
    println!(
        "  Basic auth     {} / {}",
        credentials::USERNAME,
        credentials::PASSWORD
    );
    println!("  or API key     {}", credentials::API_KEY);
    let admin_url = format!("{}/__sandbox/", sandbox.base_url());
    match admin {
        AdminAccess::Open => println!("  admin API      {admin_url} (open: bound to loopback)"),
        AdminAccess::Token(_) => {
            println!("  admin API      {admin_url} (Authorization: Bearer <the admin token>)");
        }
        _ => println!(
            "  admin API      off ({ADMIN_TOKEN_ENV} or --admin-token-file PATH turns it on)"
        ),
    }
    println!("  tokens:");
    for token in sandbox.tokens() {
        println!(
            "    {:<36} {}, {}",
            token.id(),
            token.status().as_str().to_ascii_lowercase(),
            token
                .payment_method_type()
                .as_str()
                .to_ascii_lowercase()
                .replace('_', " ")
        );
    }
    if let Some(limit) = options.rate_limit {
        println!("  rate limit     {limit} requests per second");
    }
    if options.notify_allow.is_empty() {
        println!("  notifications  to loopback only (--notify-allow HOST adds a host)");
    } else {
        println!(
            "  notifications  to loopback and {}",
            options.notify_allow.join(", ")
        );
    }
    println!(
        "  limits         {} connections, {} idempotency keys, heads {} s, bodies {} s",
        sandbox.max_connections(),
        options.max_idempotency_keys,
        defaults::HEADER_READ_TIMEOUT.as_secs(),
        defaults::BODY_READ_TIMEOUT.as_secs()
    );
    if !options.bind.is_loopback() {
        println!("  warning: listening beyond loopback, over plain HTTP");
    }
    println!("Press Ctrl-C to stop.");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(|s| s.into()).collect()
    }

    #[test]
    fn parses_options() {
        let parse = |list: &[&str]| parse(args(list), None);
        let open = |o: &Options| admin_access(o, admin_token(o).unwrap());
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(o.port, 8080);
        assert!(o.bind.is_loopback());
        assert!(matches!(open(&o), AdminAccess::Open));
        let o = parse(&[
            "--port",
            "9000",
            "--bind=0.0.0.0",
            "--rate-limit",
            "50",
            "--max-connections=16",
            "--max-idempotency-keys",
            "10",
            "--tokens",
            "t.json",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.port, 9000);
        assert!(o.bind.is_unspecified());
        assert_eq!(o.rate_limit, Some(50));
        assert_eq!(o.max_connections, 16);
        assert_eq!(o.max_idempotency_keys, 10);
        assert_eq!(o.tokens, Some(PathBuf::from("t.json")));
        assert!(matches!(open(&o), AdminAccess::Off), "beyond loopback");
        let o = parse(&["--no-admin"]).unwrap().unwrap();
        assert!(matches!(open(&o), AdminAccess::Off));
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(o.max_connections, 1024);
        assert_eq!(o.max_idempotency_keys, 100_000);
        assert!(parse(&["--max-connections", "-1"]).is_err());
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["-h"]).unwrap().is_none());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--admin-token-file"]).is_err());
    }

    #[test]
    fn notify_allow_takes_host_names_and_addresses_only() {
        let parse = |list: &[&str]| parse(args(list), None);
        let o = parse(&[
            "--notify-allow",
            "Receiver.Example.internal",
            "--notify-allow=[fd00::1]",
            "--notify-allow",
            "10.0.0.5",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            o.notify_allow,
            ["receiver.example.internal", "fd00::1", "10.0.0.5"]
        );
        assert!(parse(&[]).unwrap().unwrap().notify_allow.is_empty());
        for bad in ["", "http://x", "x/y", "a b", "user@host", "host:80"] {
            assert!(parse(&["--notify-allow", bad]).is_err(), "{bad:?}");
        }
        assert!(parse(&["--notify-allow"]).is_err());
    }

    #[test]
    fn the_admin_token_comes_from_the_environment_or_a_file_never_an_argument() {
        // From the environment.
        let o = parse(args(&["--bind", "0.0.0.0"]), Some("t0k".into()))
            .unwrap()
            .unwrap();
        let token = admin_token(&o).unwrap();
        assert!(matches!(admin_access(&o, token), AdminAccess::Token(t) if t == "t0k"));
        assert!(parse(args(&[]), Some("".into())).is_err(), "empty");
        // From a file: its first line.
        let dir = std::env::temp_dir().join(format!("klarna-sandbox-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "f1le-t0k\nignored\n").unwrap();
        let path = file.to_str().unwrap();
        let o = parse(args(&["--admin-token-file", path]), None)
            .unwrap()
            .unwrap();
        assert_eq!(admin_token(&o).unwrap().as_deref(), Some("f1le-t0k"));
        std::fs::write(&file, "\n").unwrap();
        assert!(admin_token(&o).unwrap_err().contains("empty"));
        std::fs::write(&file, vec![b'x'; 5000]).unwrap();
        assert!(admin_token(&o).is_err(), "too large");
        let o = parse(args(&["--admin-token-file", "/no/such/file"]), None)
            .unwrap()
            .unwrap();
        assert!(admin_token(&o).unwrap_err().contains("cannot open"));
        std::fs::remove_dir_all(&dir).unwrap();
        // Both, or a token with --no-admin, contradict.
        assert!(parse(args(&["--admin-token-file", path]), Some("x".into())).is_err());
        assert!(parse(args(&["--no-admin"]), Some("x".into())).is_err());
        assert!(parse(args(&["--no-admin", "--admin-token-file", path]), None).is_err());
        // The old flag is a clear error naming the replacements, and its
        // value is never echoed.
        for old in [&["--admin-token", "s3cret"][..], &["--admin-token=s3cret"]] {
            let message = parse(args(old), None).unwrap_err();
            assert!(message.contains("--admin-token-file"), "{message}");
            assert!(message.contains(ADMIN_TOKEN_ENV), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }
}
