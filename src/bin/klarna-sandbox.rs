//! The sandbox as a standalone server, for billing code in any language.
//!
//! ```text
//! cargo run --features sandbox --bin klarna-sandbox -- --port 8080
//! ```
//!
//! It binds to loopback unless `--bind` names another address (for example
//! `--bind 0.0.0.0` in a container), prints its URL, credentials and seeded
//! tokens, and stops on Ctrl-C.
//!
//! It keeps nothing it cannot bound: idempotency keys up to a cap (digests
//! and answers only), no request log and no stored orders (nothing could
//! read them), at most `--max-connections` connections, with the library's
//! header and body read timeouts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use klarna_customer_token::sandbox::{Sandbox, credentials, defaults, tokens};

const USAGE: &str = "\
klarna-sandbox: an in-memory Customer Token API for tests

USAGE:
    klarna-sandbox [--port PORT] [--bind ADDRESS] [--rate-limit PER_SECOND]
                   [--max-connections N] [--max-idempotency-keys N]

OPTIONS:
    --port PORT                port to listen on (default 8080; 0 picks a free one)
    --bind ADDRESS             address to listen on (default 127.0.0.1; 0.0.0.0 for every
                               interface; a Rust client then needs .allow_insecure_http())
    --rate-limit PER_SECOND    answer 429 past this many requests per second
    --max-connections N        open connections at most (default 1024, lowered below the
                               open-file limit); at the cap the longest-idle one is closed
    --max-idempotency-keys N   idempotency keys remembered at most (default 100000);
                               past it the oldest expire first
    -h, --help                 show this help
";

struct Options {
    port: u16,
    bind: IpAddr,
    rate_limit: Option<u32>,
    max_connections: usize,
    max_idempotency_keys: usize,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 8080,
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        rate_limit: None,
        max_connections: defaults::MAX_CONNECTIONS,
        max_idempotency_keys: defaults::MAX_IDEMPOTENCY_KEYS,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let v = value("a port number")?;
                options.port = v.parse().map_err(|_| format!("not a port number: {v}"))?;
            }
            "--bind" => {
                let v = value("an address")?;
                options.bind = v.parse().map_err(|_| format!("not an IP address: {v}"))?;
            }
            "--rate-limit" => {
                let v = value("a number of requests per second")?;
                options.rate_limit = Some(v.parse().map_err(|_| format!("not a number: {v}"))?);
            }
            "--max-connections" => {
                let v = value("a number of connections")?;
                options.max_connections = v.parse().map_err(|_| format!("not a number: {v}"))?;
            }
            "--max-idempotency-keys" => {
                let v = value("a number of keys")?;
                options.max_idempotency_keys =
                    v.parse().map_err(|_| format!("not a number: {v}"))?;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(options))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
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
    // Nothing can read the request log or the stored orders of a
    // standalone sandbox, so it keeps neither.
    let mut builder = Sandbox::builder()
        .bind(SocketAddr::new(options.bind, options.port))
        .max_connections(options.max_connections)
        .max_idempotency_keys(options.max_idempotency_keys)
        .max_recorded_requests(0)
        .max_stored_orders(0);
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
    println!("Klarna Customer Token API sandbox");
    println!("  listening on   http://{}", sandbox.addr());
    println!("  base URL       {}", sandbox.base_url());
    println!(
        "  Basic auth     {} / {}",
        credentials::USERNAME,
        credentials::PASSWORD
    );
    println!("  or API key     {}", credentials::API_KEY);
    println!("  tokens:");
    println!("    {:<36} active, invoice", tokens::ACTIVE_INVOICE);
    println!("    {:<36} active, card", tokens::ACTIVE_CARD);
    println!(
        "    {:<36} active, direct debit",
        tokens::ACTIVE_DIRECT_DEBIT
    );
    println!("    {:<36} suspended", tokens::SUSPENDED);
    println!("    {:<36} cancelled", tokens::CANCELLED);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options() {
        let o = parse(args(&[])).unwrap().unwrap();
        assert_eq!(o.port, 8080);
        assert!(o.bind.is_loopback());
        let o = parse(args(&[
            "--port",
            "9000",
            "--bind=0.0.0.0",
            "--rate-limit",
            "50",
            "--max-connections=16",
            "--max-idempotency-keys",
            "10",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.port, 9000);
        assert!(o.bind.is_unspecified());
        assert_eq!(o.rate_limit, Some(50));
        assert_eq!(o.max_connections, 16);
        assert_eq!(o.max_idempotency_keys, 10);
        let o = parse(args(&[])).unwrap().unwrap();
        assert_eq!(o.max_connections, 1024);
        assert_eq!(o.max_idempotency_keys, 100_000);
        assert!(parse(args(&["--max-connections", "-1"])).is_err());
        assert!(parse(args(&["--help"])).unwrap().is_none());
        assert!(parse(args(&["--port"])).is_err());
        assert!(parse(args(&["--port", "x"])).is_err());
        assert!(parse(args(&["--bogus"])).is_err());
    }
}
