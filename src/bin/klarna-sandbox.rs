//! The sandbox as a standalone server, for billing code in any language.
//!
//! ```text
//! cargo run --features sandbox-bin --bin klarna-sandbox -- --port 8080
//! ```
//!
//! It binds to loopback unless `--bind` names another address (for example
//! `--bind 0.0.0.0` in a container), prints its URL, credentials, admin API
//! and tokens, and stops on Ctrl-C.
//!
//! The admin API under `/__sandbox/` (see the README) is on when bound to
//! loopback, off otherwise unless `--admin-token` is given, which then
//! must be sent as a bearer token. With the admin API on, the sandbox keeps
//! the last 10,000 requests and 100,000 orders for it to list; with it off
//! it keeps neither (nothing could read them). Everything else it keeps is
//! bounded as in the library.

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use klarna_customer_token::sandbox::{AdminAccess, Sandbox, SandboxToken, credentials, defaults};

const USAGE: &str = "\
klarna-sandbox: an in-memory Customer Token API for tests

USAGE:
    klarna-sandbox [OPTIONS]

OPTIONS:
    --port PORT                port to listen on (default 8080; 0 picks a free one)
    --bind ADDRESS             address to listen on (default 127.0.0.1; 0.0.0.0 for every
                               interface; a Rust client then needs .allow_insecure_http())
    --tokens FILE              add the tokens in this JSON file (one token or a list:
                               {\"id\", \"payment_method_type\", \"status\", \"card\", \"direct_debit\"})
    --admin-token TOKEN        require this bearer token on the admin API (/__sandbox/);
                               turns the admin API on beyond loopback
    --no-admin                 no admin API, even on loopback
    --rate-limit PER_SECOND    answer 429 past this many requests per second
    --max-connections N        open connections at most (default 1024, lowered below the
                               open-file limit); at the cap the longest-idle one is closed
    --max-idempotency-keys N   idempotency keys remembered at most (default 100000);
                               past it the oldest expire first
    -h, --help                 show this help
";

/// The largest `--tokens` file read (16 MiB).
const MAX_TOKENS_FILE: u64 = 16 * 1024 * 1024;

#[derive(Debug)]
struct Options {
    port: u16,
    bind: IpAddr,
    tokens: Option<PathBuf>,
    admin_token: Option<String>,
    no_admin: bool,
    rate_limit: Option<u32>,
    max_connections: usize,
    max_idempotency_keys: usize,
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

/// Parses the arguments; `None` for `--help`.
fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let mut options = Options {
        port: 8080,
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        tokens: None,
        admin_token: None,
        no_admin: false,
        rate_limit: None,
        max_connections: defaults::MAX_CONNECTIONS,
        max_idempotency_keys: defaults::MAX_IDEMPOTENCY_KEYS,
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
                let token: String = value(p, &name, "a token")?;
                if token.is_empty() {
                    return Err("--admin-token needs a non-empty token".to_owned());
                }
                options.admin_token = Some(token);
            }
            "--no-admin" => options.no_admin = true,
            "--rate-limit" => options.rate_limit = Some(value(p, &name, "a number")?),
            "--max-connections" => options.max_connections = value(p, &name, "a number")?,
            "--max-idempotency-keys" => {
                options.max_idempotency_keys = value(p, &name, "a number")?;
            }
            _ => return Err(format!("unknown argument: {name}")),
        }
    }
    if options.no_admin && options.admin_token.is_some() {
        return Err("--no-admin and --admin-token contradict each other".to_owned());
    }
    Ok(Some(options))
}

/// Who may use the admin API: on for loopback, off beyond it unless a
/// token is required.
fn admin_access(options: &Options) -> AdminAccess {
    match (&options.admin_token, options.no_admin) {
        (_, true) => AdminAccess::Off,
        (Some(token), false) => AdminAccess::Token(token.clone()),
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
    let options = match parse(std::env::args_os().skip(1)) {
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
    let admin = admin_access(&options);
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
            println!("  admin API      {admin_url} (Authorization: Bearer <--admin-token>)");
        }
        _ => println!("  admin API      off (--admin-token TOKEN turns it on)"),
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
        let o = parse(args(&[])).unwrap().unwrap();
        assert_eq!(o.port, 8080);
        assert!(o.bind.is_loopback());
        assert!(matches!(admin_access(&o), AdminAccess::Open));
        let o = parse(args(&[
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
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.port, 9000);
        assert!(o.bind.is_unspecified());
        assert_eq!(o.rate_limit, Some(50));
        assert_eq!(o.max_connections, 16);
        assert_eq!(o.max_idempotency_keys, 10);
        assert_eq!(o.tokens, Some(PathBuf::from("t.json")));
        assert!(
            matches!(admin_access(&o), AdminAccess::Off),
            "beyond loopback"
        );
        let o = parse(args(&["--bind", "0.0.0.0", "--admin-token", "t0k"]))
            .unwrap()
            .unwrap();
        assert!(matches!(admin_access(&o), AdminAccess::Token(t) if t == "t0k"));
        let o = parse(args(&["--no-admin"])).unwrap().unwrap();
        assert!(matches!(admin_access(&o), AdminAccess::Off));
        let o = parse(args(&[])).unwrap().unwrap();
        assert_eq!(o.max_connections, 1024);
        assert_eq!(o.max_idempotency_keys, 100_000);
        assert!(parse(args(&["--max-connections", "-1"])).is_err());
        assert!(parse(args(&["--help"])).unwrap().is_none());
        assert!(parse(args(&["-h"])).unwrap().is_none());
        assert!(parse(args(&["--port"])).is_err());
        assert!(parse(args(&["--port", "x"])).is_err());
        assert!(parse(args(&["--bogus"])).is_err());
        assert!(parse(args(&["--admin-token", ""])).is_err());
        assert!(parse(args(&["--no-admin", "--admin-token", "x"])).is_err());
    }
}
